/**
 * Receives a frame body as `buf[start, end)`. The bytes may be a slice of a socket chunk, valid only
 * until the callback returns unless copied. Returning false stops the decoder: whatever is still
 * buffered is dropped (the connection closed while handling the frame).
 */
export type FrameSink = (buf: Buffer, start: number, end: number) => boolean;

/** Called with a size prefix that is negative or above the maximum; the decoder has stopped. */
export type InvalidFrameSize = (size: number) => void;

/**
 * Reassembles Kafka's size-prefixed frames (int32 size, then that many bytes) from socket chunks.
 *
 * A frame that lies whole inside one chunk is handed over as a slice of it, without copying: that is
 * the common case for small responses. Only a frame spread over several chunks is copied, once, when
 * its last byte arrives; until then the chunks are kept as they came, not concatenated per chunk.
 *
 * The size prefix is checked before anything of the frame is buffered, so a peer announcing a huge
 * frame (a TLS listener read as plaintext announces ~350 MB) costs nothing.
 */
export class FrameDecoder {
  /** Bytes of an incomplete frame, as received. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** Body size of the incomplete frame, or -1 while fewer than 4 bytes of it have arrived. */
  private partialFrameSize = -1;
  private stopped = false;

  constructor(
    private readonly maxFrameSize: number,
    private readonly onFrame: FrameSink,
    private readonly onInvalidSize: InvalidFrameSize,
  ) {}

  /** Bytes held for a frame that is not complete yet. */
  get bufferedBytes(): number {
    return this.partialBytes;
  }

  push(chunk: Buffer): void {
    if (this.stopped) return;
    if (this.partialBytes === 0) {
      this.parseChunk(chunk);
      return;
    }
    this.partial.push(chunk);
    this.partialBytes += chunk.length;
    if (this.partialFrameSize < 0) {
      if (this.partialBytes < 4) return;
      const size = this.readPartialSize();
      if (!this.checkSize(size)) return;
      this.partialFrameSize = size;
    }
    const total = 4 + this.partialFrameSize;
    if (this.partialBytes < total) return;

    // Complete: copy its body out of the chunks once, and keep what follows it.
    const frame = Buffer.allocUnsafe(this.partialFrameSize);
    let pos = 0;
    let rest: Buffer | null = null;
    for (const c of this.partial) {
      const from = Math.max(4 - pos, 0);
      const to = Math.min(total - pos, c.length);
      if (to > from) c.copy(frame, pos + from - 4, from, to);
      if (pos + c.length > total) rest = c.subarray(total - pos);
      pos += c.length;
    }
    this.clear();
    if (!this.deliver(frame, 0, frame.length)) return;
    if (rest !== null) this.parseChunk(rest);
  }

  /** Drops anything buffered and ignores every later chunk. */
  stop(): void {
    this.stopped = true;
    this.clear();
  }

  /** Handles every complete frame in `chunk` in place and keeps any tail. */
  private parseChunk(chunk: Buffer): void {
    let offset = 0;
    const length = chunk.length;
    while (length - offset >= 4) {
      const size = chunk.readInt32BE(offset);
      if (!this.checkSize(size)) return;
      if (length - offset - 4 < size) {
        this.partialFrameSize = size;
        break;
      }
      if (!this.deliver(chunk, offset + 4, offset + 4 + size)) return;
      offset += 4 + size;
    }
    if (offset < length) {
      this.partial.push(offset === 0 ? chunk : chunk.subarray(offset));
      this.partialBytes = length - offset;
    }
  }

  private deliver(buf: Buffer, start: number, end: number): boolean {
    if (this.onFrame(buf, start, end) && !this.stopped) return true;
    this.stop();
    return false;
  }

  private readPartialSize(): number {
    const first = this.partial[0];
    if (first.length >= 4) return first.readInt32BE(0);
    const head = Buffer.allocUnsafe(4);
    let n = 0;
    for (const c of this.partial) {
      n += c.copy(head, n, 0, Math.min(c.length, 4 - n));
      if (n === 4) break;
    }
    return head.readInt32BE(0);
  }

  private checkSize(size: number): boolean {
    if (size >= 0 && size <= this.maxFrameSize) return true;
    this.stop();
    this.onInvalidSize(size);
    return false;
  }

  private clear(): void {
    this.partial = [];
    this.partialBytes = 0;
    this.partialFrameSize = -1;
  }
}
