import type * as net from 'node:net';

/**
 * The FaultProxy's byte plumbing: splitting a stream into Kafka frames, and writing frames to a socket
 * in order, each no earlier than a release time (delays, throttling).
 */

/** Splits a byte stream into whole frames; holds a partial frame until the rest arrives. */
export class FrameSplitter {
  private chunks: Buffer[] = [];
  private length = 0;

  constructor(
    private readonly minPayload: number,
    private readonly maxPayload: number,
  ) {}

  /** The frames completed by `chunk`, each with its length prefix; throws on an impossible length. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.length += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.length < 4) return frames;
      const head = this.chunks[0].length >= 4 ? this.chunks[0] : this.flatten();
      const size = head.readInt32BE(0);
      if (size < this.minPayload || size > this.maxPayload) throw new Error(`frame length ${size} outside [${this.minPayload}, ${this.maxPayload}]`);
      // Concatenate only once the frame is complete, so a 1 MiB request in 64 KiB reads is copied once.
      if (this.length < 4 + size) return frames;
      const all = this.flatten();
      frames.push(all.subarray(0, 4 + size));
      const rest = all.subarray(4 + size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.length = rest.length;
    }
  }

  private flatten(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.length)];
    return this.chunks[0];
  }
}

/** A bandwidth budget: hands out send times so that the bytes reserved never exceed a rate. */
export interface Pacer {
  readonly bytesPerSecond: number;
  /** Reserves `bytes` of the budget; the earliest time (Date.now() scale) they may go out. */
  reserve(bytes: number, now: number): number;
}

interface Queued {
  bytes: Buffer;
  releaseAt: number;
  written?: () => void;
}

/** Writes frames in arrival order, each no earlier than its release time (a delay never reorders). */
export class OrderedWriter {
  private queue: Queued[] = [];
  private timer: NodeJS.Timeout | null = null;
  private lastReleaseAt = 0;

  constructor(private readonly socket: net.Socket) {}

  /**
   * Queues `bytes` to go out `delayMs` from now (and after everything queued before). With a pacer the
   * bytes go in pieces of about 20 ms of its budget each, so a throttled link trickles rather than
   * bursting a whole frame and then falling silent. `written` runs once the last byte is handed to the
   * socket.
   */
  write(bytes: Buffer, delayMs: number, pacer: Pacer | null = null, written?: () => void): void {
    const now = Date.now();
    if (pacer === null) {
      this.enqueue(bytes, Math.max(now + delayMs, this.lastReleaseAt), now, written);
      return;
    }
    const piece = Math.max(1, Math.floor(pacer.bytesPerSecond / 50));
    for (let at = 0; at < bytes.length; at += piece) {
      const part = bytes.subarray(at, at + piece);
      const last = at + piece >= bytes.length;
      this.enqueue(part, Math.max(now + delayMs, this.lastReleaseAt, pacer.reserve(part.length, now)), now, last ? written : undefined);
    }
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
  }

  private enqueue(bytes: Buffer, releaseAt: number, now: number, written?: () => void): void {
    this.lastReleaseAt = releaseAt;
    if (this.queue.length === 0 && releaseAt <= now) {
      this.socket.write(bytes, written === undefined ? undefined : () => written());
      return;
    }
    this.queue.push({ bytes, releaseAt, written });
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== null || this.queue.length === 0) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        const now = Date.now();
        while (this.queue.length > 0 && this.queue[0].releaseAt <= now) {
          const next = this.queue.shift() as Queued;
          const written = next.written;
          if (!this.socket.destroyed) this.socket.write(next.bytes, written === undefined ? undefined : () => written());
        }
        this.schedule();
      },
      Math.max(0, this.queue[0].releaseAt - Date.now()),
    );
  }
}
