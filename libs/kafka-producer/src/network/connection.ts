import * as net from 'node:net';
import { KafkaError, ProtocolEncodeError } from '../errors';
import type { KafkaApi } from '../protocol/messages/kafka-api';
import { writeRequestHeader } from '../protocol/messages/headers';
import { Reader } from '../protocol/primitives/reader';
import { Writer } from '../protocol/primitives/writer';
import { formatAddress } from './address';
import { ConnectionError, ConnectionSetupTimeoutError, FrameTooLargeError, RequestTimeoutError } from './errors';

export const DEFAULT_SOCKET_CONNECTION_SETUP_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_RESPONSE_SIZE = 100 * 1024 * 1024;
/**
 * Node's default (16 KiB) would report backpressure after every Produce request larger than that;
 * 1 MiB (max.request.size) flags only a socket that is really behind.
 */
export const DEFAULT_SOCKET_WRITE_HIGH_WATER_MARK = 1024 * 1024;

/**
 * Attached buffers at least this large are handed to the socket as their own chunk (one more iovec in
 * a writev); smaller ones are cheaper to copy into the request Writer than to queue as a chunk.
 */
export const ATTACH_COPY_THRESHOLD = 8 * 1024;

const INT32_MAX = 0x7fffffff;

export interface ConnectionOptions {
  host: string;
  port: number;
  /** Sent in every request header; null sends a null client id. */
  clientId?: string | null;
  socketConnectionSetupTimeoutMs?: number;
  /** Default per-request timeout; a request may override it. */
  requestTimeoutMs?: number;
  /** Largest response frame accepted; anything larger closes the connection. */
  maxResponseSize?: number;
  /** Bytes the socket may buffer in user space before `needsDrain` turns true. */
  socketWriteHighWaterMark?: number;
  /** First correlation id to use (tests exercise the wrap-around with it). */
  initialCorrelationId?: number;
}

export interface RequestOptions {
  /** Overrides the connection's requestTimeoutMs for this request. */
  timeoutMs?: number;
  /**
   * False for requests the broker never answers (Produce with acks=0): the promise resolves with
   * undefined once the bytes are flushed to the socket, and no correlation slot is kept.
   */
  expectResponse?: boolean;
}

export type NoResponseOptions = RequestOptions & { expectResponse: false };

/**
 * Handed to a body encoder next to its Writer, so it can splice pre-built byte ranges (record batches)
 * into the request at the current position without copying them into the Writer. The request's size
 * prefix covers them; they are referenced, not copied, until the request settles, so the caller must
 * not reuse them before that.
 */
export interface RequestFrame {
  attach(bytes: Buffer): void;
}

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'closed';

export type CloseListener = (reason: KafkaError) => void;

type Decode = (r: Reader) => unknown;

/** One request waiting for its response (or, without a response, for its bytes to be flushed). */
class Pending {
  constructor(
    readonly correlationId: number,
    readonly apiKey: number,
    readonly apiVersion: number,
    readonly responseHeaderVersion: 0 | 1,
    readonly decode: Decode | null,
    readonly timeoutMs: number,
    readonly deadline: number,
    readonly resolve: (value: unknown) => void,
    readonly reject: (reason: unknown) => void,
  ) {}
}

function noop(): void {}

/**
 * One TCP connection to one broker: size-prefixed framing, correlation ids, several requests in flight
 * answered in order, per-request timeouts, and backpressure signals for the sender.
 *
 * A Connection is used once: after it closes (for any reason) every request on it has settled and new
 * ones are rejected at once; the pool opens a new Connection instead of reviving this one.
 */
export class Connection {
  readonly host: string;
  readonly port: number;
  /** `host:port` (IPv6 hosts in brackets), used in every error message. */
  readonly address: string;
  readonly clientId: string | null;
  readonly requestTimeoutMs: number;
  readonly maxResponseSize: number;

  /** Counters for metrics; plain fields so reading them costs nothing. */
  bytesSent = 0;
  bytesReceived = 0;
  requestsSent = 0;
  responsesReceived = 0;

  private readonly setupTimeoutMs: number;
  private readonly writeHighWaterMark: number;
  private socket: net.Socket | null = null;
  private _state: ConnectionState = 'idle';
  private _closeReason: KafkaError | null = null;
  private connectPromise: Promise<void> | null = null;
  /** Settles the connect() promise; set while connecting so fail() can reject it. */
  private connectSettler: ((reason: KafkaError | null) => void) | null = null;
  private closedPromise: Promise<void> | null = null;
  private resolveClosed: (() => void) | null = null;
  private drainPromise: Promise<void> | null = null;
  private resolveDrain: (() => void) | null = null;
  private readonly closeListeners: CloseListener[] = [];

  private nextCorrelationId: number;
  /** Requests awaiting a response, oldest first: Kafka answers in request order on a connection. */
  private readonly inFlight: Pending[] = [];
  /** Response-less requests whose bytes are not flushed yet, oldest first (write callbacks run in order). */
  private readonly unflushed: Pending[] = [];

  /** Bytes of an incomplete frame, as received; only concatenated once the frame is complete. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** Body size of the incomplete frame, or -1 while fewer than 4 bytes of it have arrived. */
  private partialFrameSize = -1;

  /** One timer for the earliest deadline, instead of one per request. */
  private timer: NodeJS.Timeout | null = null;
  private timerDeadline = Infinity;

  /** Scratch state of the request being encoded (encoding is synchronous, so one set suffices). */
  private encodingWriter: Writer | null = null;
  private readonly attachOffsets: number[] = [];
  private readonly attachBuffers: Buffer[] = [];
  private attachedBytes = 0;
  private readonly frame: RequestFrame = { attach: (bytes) => this.attach(bytes) };

  private readonly onData = (chunk: Buffer): void => this.receive(chunk);
  private readonly onFlushed = (err?: Error | null): void => this.flushed(err);
  private readonly onTimer = (): void => this.checkTimeouts();

  constructor(options: ConnectionOptions) {
    this.host = options.host;
    this.port = options.port;
    this.address = formatAddress(options.host, options.port);
    this.clientId = options.clientId ?? null;
    this.setupTimeoutMs = options.socketConnectionSetupTimeoutMs ?? DEFAULT_SOCKET_CONNECTION_SETUP_TIMEOUT_MS;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.maxResponseSize = options.maxResponseSize ?? DEFAULT_MAX_RESPONSE_SIZE;
    this.writeHighWaterMark = options.socketWriteHighWaterMark ?? DEFAULT_SOCKET_WRITE_HIGH_WATER_MARK;
    this.nextCorrelationId = options.initialCorrelationId ?? 0;
  }

  get state(): ConnectionState {
    return this._state;
  }

  get isConnected(): boolean {
    return this._state === 'connected';
  }

  /** Why the connection closed (null while it is open or before it opened). */
  get closeReason(): KafkaError | null {
    return this._closeReason;
  }

  /** Requests sent and not yet settled, counting response-less ones until their bytes are flushed. */
  get inFlightCount(): number {
    return this.inFlight.length + this.unflushed.length;
  }

  /**
   * True while the socket holds more unsent bytes than its high-water mark: the sender should stop
   * writing to this connection until `waitForDrain()` resolves.
   */
  get needsDrain(): boolean {
    return this.socket !== null && this.socket.writableNeedDrain;
  }

  /** Bytes queued in the socket and not yet handed to the kernel. */
  get bufferedBytes(): number {
    return this.socket === null ? 0 : this.socket.writableLength;
  }

  /**
   * Resolves when the socket has drained, at once if it needs no drain. Also resolves (never rejects)
   * when the connection closes, so a waiter cannot leak an unhandled rejection; it then finds the
   * connection closed on its next request.
   */
  waitForDrain(): Promise<void> {
    if (!this.needsDrain || this._state === 'closed') return Promise.resolve();
    if (this.drainPromise === null) {
      this.drainPromise = new Promise<void>((resolve) => {
        this.resolveDrain = resolve;
      });
    }
    return this.drainPromise;
  }

  /** Calls `listener` once, when the connection closes for any reason. Returns an unsubscribe function. */
  onClose(listener: CloseListener): () => void {
    this.closeListeners.push(listener);
    return () => {
      const i = this.closeListeners.indexOf(listener);
      if (i >= 0) this.closeListeners.splice(i, 1);
    };
  }

  /** Opens the TCP connection. Calling it again returns the same attempt. */
  connect(): Promise<void> {
    if (this.connectPromise !== null) return this.connectPromise;
    if (this._state === 'closed') {
      this.connectPromise = Promise.reject(this._closeReason ?? this.notConnected());
      this.connectPromise.catch(noop);
      return this.connectPromise;
    }
    this._state = 'connecting';
    this.connectPromise = new Promise<void>((resolve, reject) => {
      // net.Socket hands its options to stream.Duplex, which honours writableHighWaterMark; @types/node
      // does not list it, hence the intersection type.
      const socketOptions: net.TcpNetConnectOpts & { writableHighWaterMark: number } = {
        host: this.host,
        port: this.port,
        noDelay: true,
        // Java sets SO_KEEPALIVE on broker sockets; it lets the OS notice a peer that vanished.
        keepAlive: true,
        writableHighWaterMark: this.writeHighWaterMark,
      };
      const socket = net.createConnection(socketOptions);
      this.socket = socket;
      socket.setNoDelay(true);

      const setupTimer = setTimeout(() => {
        this.fail(new ConnectionSetupTimeoutError(this.address, this.setupTimeoutMs));
      }, this.setupTimeoutMs);

      const settleConnect = (reason: KafkaError | null): void => {
        clearTimeout(setupTimer);
        socket.off('connect', onConnect);
        this.connectSettler = null;
        if (reason === null) resolve();
        else reject(reason);
      };
      const onConnect = (): void => {
        if (this._state !== 'connecting') return;
        this._state = 'connected';
        settleConnect(null);
      };
      // fail() ends up here when the connection dies before 'connect'.
      this.connectSettler = settleConnect;

      socket.once('connect', onConnect);
      socket.on('data', this.onData);
      socket.on('error', (err) => {
        this.fail(
          this._state === 'connecting'
            ? new ConnectionError(this.address, 'CONNECT_FAILED', `failed to connect: ${err.message}`, err)
            : new ConnectionError(this.address, 'NETWORK_EXCEPTION', `socket error: ${err.message}`, err),
        );
      });
      // allowHalfOpen is false, so 'end' means the broker is done with us; fail the pending requests
      // now rather than waiting for 'close'.
      socket.on('end', () => this.fail(new ConnectionError(this.address, 'CONNECTION_CLOSED', 'connection closed by the broker')));
      socket.on('close', () => {
        this.fail(new ConnectionError(this.address, 'CONNECTION_CLOSED', 'connection closed'));
        this.resolveClosed?.();
      });
      socket.on('drain', () => this.releaseDrainWaiters());
    });
    // A failed connect is reported through this promise; the pool may not await it right away.
    this.connectPromise.catch(noop);
    return this.connectPromise;
  }

  /**
   * Closes the connection at once: every pending request rejects with a CONNECTION_CLOSED
   * ConnectionError. Resolves when the socket is fully closed. Idempotent.
   */
  close(): Promise<void> {
    if (this.closedPromise === null) {
      const socket = this.socket;
      this.closedPromise =
        socket === null || socket.closed
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              this.resolveClosed = resolve;
            });
    }
    this.fail(new ConnectionError(this.address, 'CONNECTION_CLOSED', 'connection closed by the client'));
    return this.closedPromise;
  }

  /**
   * Sends one request of a generated API and decodes its response. The request header and body are
   * encoded into one buffer, size prefix included, and written with one socket write.
   */
  request<Req, Res>(api: KafkaApi<Req, Res>, version: number, body: Req, options: NoResponseOptions): Promise<undefined>;
  request<Req, Res>(api: KafkaApi<Req, Res>, version: number, body: Req, options?: RequestOptions): Promise<Res>;
  request<Req, Res>(api: KafkaApi<Req, Res>, version: number, body: Req, options?: RequestOptions): Promise<Res | undefined> {
    return this.requestRaw(
      api.apiKey,
      version,
      api.requestHeaderVersion(version),
      (w) => api.encodeRequest(w, body, version),
      api.responseHeaderVersion(version),
      (r) => api.decodeResponse(r, version),
      options,
    );
  }

  /**
   * The primitive under `request`, for callers that encode bodies themselves (Produce, whose record
   * batches are written straight into the request, or spliced in with `frame.attach` when large).
   *
   * The returned promise rejects with a ConnectionError when the connection fails or closes, with a
   * RequestTimeoutError when this request times out, with a ProtocolEncodeError (or whatever
   * encodeBody throws) when the body cannot be encoded; in that last case nothing is sent and the
   * connection stays open.
   */
  requestRaw<T>(
    apiKey: number,
    apiVersion: number,
    requestHeaderVersion: 1 | 2,
    encodeBody: (w: Writer, frame: RequestFrame) => void,
    responseHeaderVersion: 0 | 1,
    decodeBody: (r: Reader) => T,
    options: NoResponseOptions,
  ): Promise<undefined>;
  requestRaw<T>(
    apiKey: number,
    apiVersion: number,
    requestHeaderVersion: 1 | 2,
    encodeBody: (w: Writer, frame: RequestFrame) => void,
    responseHeaderVersion: 0 | 1,
    decodeBody: (r: Reader) => T,
    options?: RequestOptions,
  ): Promise<T>;
  requestRaw<T>(
    apiKey: number,
    apiVersion: number,
    requestHeaderVersion: 1 | 2,
    encodeBody: (w: Writer, frame: RequestFrame) => void,
    responseHeaderVersion: 0 | 1,
    decodeBody: (r: Reader) => T,
    options?: RequestOptions,
  ): Promise<T | undefined> {
    const socket = this.socket;
    if (this._state !== 'connected' || socket === null) {
      const p = Promise.reject(this._closeReason ?? this.notConnected());
      p.catch(noop);
      return p;
    }

    const expectResponse = options?.expectResponse ?? true;
    const timeoutMs = options?.timeoutMs ?? this.requestTimeoutMs;
    const correlationId = this.nextCorrelationId;
    // Java skips the top of the int32 range (reserved for SASL); wrapping to 0 keeps ids non-negative.
    this.nextCorrelationId = correlationId >= INT32_MAX - 8 ? 0 : correlationId + 1;

    const w = new Writer(512);
    let request: Buffer;
    try {
      w.int32(0);
      writeRequestHeader(w, requestHeaderVersion, apiKey, apiVersion, correlationId, this.clientId);
      this.encodingWriter = w;
      encodeBody(w, this.frame);
      const size = w.offset - 4 + this.attachedBytes;
      if (size > INT32_MAX) throw new ProtocolEncodeError(`request of ${size} bytes exceeds the int32 size prefix`);
      w.patchInt32(0, size);
      request = w.toBuffer();
    } catch (err) {
      this.resetAttachments();
      const p = Promise.reject(err);
      p.catch(noop);
      return p;
    } finally {
      this.encodingWriter = null;
    }

    let pending!: Pending;
    const promise = new Promise<unknown>((resolve, reject) => {
      pending = new Pending(
        correlationId,
        apiKey,
        apiVersion,
        responseHeaderVersion,
        expectResponse ? (decodeBody as Decode) : null,
        timeoutMs,
        performance.now() + timeoutMs,
        resolve,
        reject,
      );
    });
    // Rejections go to whoever awaits the request; a caller that dropped the promise (a fire-and-forget
    // acks=0 send, say) must not turn a dead connection into an unhandled rejection that kills the process.
    promise.catch(noop);

    if (expectResponse) this.inFlight.push(pending);
    else this.unflushed.push(pending);
    this.armTimer(pending.deadline);

    const flushCallback = expectResponse ? undefined : this.onFlushed;
    this.bytesSent += request.length + this.attachedBytes;
    this.requestsSent++;
    if (this.attachBuffers.length === 0) {
      socket.write(request, flushCallback);
    } else {
      this.writeSegments(socket, request, flushCallback);
    }
    return promise as Promise<T | undefined>;
  }

  private attach(bytes: Buffer): void {
    const w = this.encodingWriter;
    if (w === null) throw new ProtocolEncodeError('RequestFrame.attach called outside of encodeBody');
    if (bytes.length < ATTACH_COPY_THRESHOLD) {
      w.raw(bytes);
      return;
    }
    this.attachOffsets.push(w.offset);
    this.attachBuffers.push(bytes);
    this.attachedBytes += bytes.length;
  }

  private resetAttachments(): void {
    this.attachOffsets.length = 0;
    this.attachBuffers.length = 0;
    this.attachedBytes = 0;
  }

  /** Writes the request as Writer slices interleaved with attached buffers; uncork flushes them as one writev. */
  private writeSegments(socket: net.Socket, request: Buffer, flushCallback: ((err?: Error | null) => void) | undefined): void {
    const offsets = this.attachOffsets;
    const buffers = this.attachBuffers;
    socket.cork();
    let start = 0;
    for (let i = 0; i < buffers.length; i++) {
      const at = offsets[i];
      if (at > start) socket.write(request.subarray(start, at));
      start = at;
      const last = i === buffers.length - 1 && start === request.length;
      socket.write(buffers[i], last ? flushCallback : undefined);
    }
    if (start < request.length) socket.write(request.subarray(start), flushCallback);
    socket.uncork();
    this.resetAttachments();
  }

  private flushed(err?: Error | null): void {
    if (this._state === 'closed') return;
    if (err) {
      this.fail(new ConnectionError(this.address, 'NETWORK_EXCEPTION', `write failed: ${err.message}`, err));
      return;
    }
    const pending = this.unflushed.shift();
    if (pending === undefined) return;
    pending.resolve(undefined);
    if (this.inFlightCount === 0) this.clearTimer();
  }

  // ---- receiving ------------------------------------------------------------------------------

  private receive(chunk: Buffer): void {
    this.bytesReceived += chunk.length;
    if (this.partialBytes === 0) {
      this.parseChunk(chunk);
      return;
    }
    this.partial.push(chunk);
    this.partialBytes += chunk.length;
    if (this.partialFrameSize < 0) {
      if (this.partialBytes < 4) return;
      const size = this.readPartialSize();
      if (!this.checkFrameSize(size)) return;
      this.partialFrameSize = size;
    }
    const total = 4 + this.partialFrameSize;
    if (this.partialBytes < total) return;

    // The frame is complete: copy its body out of the chunks once, and keep what follows it.
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
    this.partial = [];
    this.partialBytes = 0;
    this.partialFrameSize = -1;
    this.handleFrame(frame, 0, frame.length);
    if (rest !== null && this._state !== 'closed') this.parseChunk(rest);
  }

  /** Handles every complete frame in `chunk` in place (slices, no copies) and keeps any tail. */
  private parseChunk(chunk: Buffer): void {
    let offset = 0;
    const length = chunk.length;
    while (length - offset >= 4) {
      const size = chunk.readInt32BE(offset);
      if (!this.checkFrameSize(size)) return;
      if (length - offset - 4 < size) {
        this.partialFrameSize = size;
        break;
      }
      this.handleFrame(chunk, offset + 4, offset + 4 + size);
      if (this._state === 'closed') return;
      offset += 4 + size;
    }
    if (offset < length) {
      this.partial.push(offset === 0 ? chunk : chunk.subarray(offset));
      this.partialBytes = length - offset;
    }
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

  private checkFrameSize(size: number): boolean {
    if (size >= 0 && size <= this.maxResponseSize) return true;
    this.fail(new FrameTooLargeError(this.address, size, this.maxResponseSize));
    return false;
  }

  private handleFrame(buf: Buffer, start: number, end: number): void {
    this.responsesReceived++;
    const pending = this.inFlight[0];
    if (end - start < 4) {
      this.fail(new ConnectionError(this.address, 'RESPONSE_DECODE', `response frame of ${end - start} bytes has no correlation id`));
      return;
    }
    const correlationId = buf.readInt32BE(start);
    if (pending === undefined) {
      this.fail(
        new ConnectionError(this.address, 'UNEXPECTED_RESPONSE', `received a response (correlation id ${correlationId}) with no request in flight`),
      );
      return;
    }
    if (correlationId !== pending.correlationId) {
      // Java's CorrelationIdMismatchException: the stream is out of step, nothing after it can be trusted.
      this.fail(
        new ConnectionError(
          this.address,
          'CORRELATION_ID_MISMATCH',
          `response correlation id ${correlationId} does not match the oldest request in flight (${pending.correlationId}, api key ${pending.apiKey})`,
        ),
      );
      return;
    }
    this.inFlight.shift();
    let value: unknown;
    try {
      const r = new Reader(buf, start + 4, end);
      if (pending.responseHeaderVersion === 1) r.taggedFields();
      value = (pending.decode as Decode)(r);
    } catch (err) {
      // As in Java, a response we cannot parse closes the connection: the request it answers fails as
      // a disconnect (retriable), since the broker may have acted on it.
      const reason = new ConnectionError(
        this.address,
        'RESPONSE_DECODE',
        `could not decode the response to api key ${pending.apiKey} v${pending.apiVersion} (correlation id ${correlationId}): ${(err as Error).message}`,
        err,
      );
      pending.reject(reason);
      this.fail(reason);
      return;
    }
    pending.resolve(value);
    if (this.inFlightCount === 0) this.clearTimer();
  }

  // ---- timeouts -------------------------------------------------------------------------------

  private armTimer(deadline: number): void {
    if (this.timer !== null && this.timerDeadline <= deadline) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerDeadline = deadline;
    this.timer = setTimeout(this.onTimer, Math.max(0, Math.ceil(deadline - performance.now())));
  }

  private clearTimer(): void {
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.timerDeadline = Infinity;
  }

  private checkTimeouts(): void {
    this.timer = null;
    this.timerDeadline = Infinity;
    if (this._state === 'closed') return;
    const now = performance.now();
    let earliest = Infinity;
    let expired: Pending[] | null = null;
    for (const queue of [this.inFlight, this.unflushed]) {
      for (const p of queue) {
        if (p.deadline <= now) (expired ??= []).push(p);
        else if (p.deadline < earliest) earliest = p.deadline;
      }
    }
    if (expired === null) {
      // Timers run on libuv's cached clock and may fire a little before our deadline; re-arm.
      if (earliest !== Infinity) this.armTimer(earliest);
      return;
    }
    // Responses are matched by position, so a late answer to a timed-out request would be taken for the
    // next one's: close the connection, as the Java client does.
    for (const p of expired) {
      this.removePending(p);
      p.reject(new RequestTimeoutError(this.address, p.apiKey, p.apiVersion, p.correlationId, p.timeoutMs));
    }
    const first = expired[0];
    this.fail(
      new ConnectionError(
        this.address,
        'NETWORK_EXCEPTION',
        `connection closed because a request (api key ${first.apiKey}, correlation id ${first.correlationId}) timed out after ${first.timeoutMs} ms`,
        new RequestTimeoutError(this.address, first.apiKey, first.apiVersion, first.correlationId, first.timeoutMs),
      ),
    );
  }

  private removePending(p: Pending): void {
    let i = this.inFlight.indexOf(p);
    if (i >= 0) {
      this.inFlight.splice(i, 1);
      return;
    }
    i = this.unflushed.indexOf(p);
    if (i >= 0) this.unflushed.splice(i, 1);
  }

  // ---- failure --------------------------------------------------------------------------------

  /**
   * Closes the connection for `reason`: rejects everything pending with it, destroys the socket and
   * tells the close listeners. Only the first call does anything.
   */
  private fail(reason: KafkaError): void {
    if (this._state === 'closed') return;
    this._state = 'closed';
    this._closeReason = reason;
    this.clearTimer();

    const connectWaiter = this.connectSettler;
    this.connectSettler = null;
    connectWaiter?.(reason);

    const inFlight = this.inFlight.splice(0);
    const unflushed = this.unflushed.splice(0);
    for (const p of inFlight) p.reject(reason);
    for (const p of unflushed) p.reject(reason);
    this.partial = [];
    this.partialBytes = 0;
    this.partialFrameSize = -1;

    const socket = this.socket;
    if (socket !== null) {
      if (!socket.destroyed) socket.destroy();
      socket.off('data', this.onData);
    }
    if (socket === null || socket.closed) this.resolveClosed?.();
    this.releaseDrainWaiters();

    const listeners = this.closeListeners.splice(0);
    for (const listener of listeners) {
      try {
        listener(reason);
      } catch (err) {
        // A listener's bug must not stop the others; surface it the way an EventEmitter would.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  private releaseDrainWaiters(): void {
    const resolve = this.resolveDrain;
    this.resolveDrain = null;
    this.drainPromise = null;
    resolve?.();
  }

  private notConnected(): ConnectionError {
    return new ConnectionError(
      this.address,
      'NOT_CONNECTED',
      this._state === 'idle' ? 'connection not opened' : 'connection not established yet',
    );
  }
}
