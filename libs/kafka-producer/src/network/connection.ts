import * as net from 'node:net';
import * as tls from 'node:tls';
import { KafkaError } from '../errors';
import type { KafkaApi } from '../protocol/messages/kafka-api';
import { Reader } from '../protocol/primitives/reader';
import { formatAddress } from './address';
import {
  ConnectionError,
  ConnectionSetupTimeoutError,
  FrameTooLargeError,
  NotAuthenticatedError,
  RequestTimeoutError,
} from './errors';
import { FrameDecoder } from './frame-decoder';
import { encodeRequest, writeRequest, type BodyEncoder, type EncodedRequest } from './request-encoder';

export const DEFAULT_SOCKET_CONNECTION_SETUP_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_RESPONSE_SIZE = 100 * 1024 * 1024;
/**
 * Node's default (16 KiB) would report backpressure after every Produce request larger than that;
 * 1 MiB (max.request.size) flags only a socket that is really behind.
 */
export const DEFAULT_SOCKET_WRITE_HIGH_WATER_MARK = 1024 * 1024;

const INT32_MAX = 0x7fffffff;

/** The APIs a connection may carry while it authenticates: ApiVersions, SaslHandshake, SaslAuthenticate. */
const API_VERSIONS_KEY = 18;
const SASL_HANDSHAKE_KEY = 17;
const SASL_AUTHENTICATE_KEY = 36;

function isHandshakeApi(apiKey: number): boolean {
  return apiKey === API_VERSIONS_KEY || apiKey === SASL_HANDSHAKE_KEY || apiKey === SASL_AUTHENTICATE_KEY;
}

/** What a socket factory is asked to open. */
export interface SocketFactoryOptions {
  readonly host: string;
  readonly port: number;
  readonly noDelay: boolean;
  readonly keepAlive: boolean;
  /** Bytes the socket may buffer in user space before `needsDrain` turns true. */
  readonly writableHighWaterMark: number;
}

/**
 * Opens the socket for a connection. It may return a tls.TLSSocket (tls.connect): the connection then
 * counts as established once the TLS handshake is done, not at the TCP connect.
 */
export type SocketFactory = (options: SocketFactoryOptions) => net.Socket;

/** Plain TCP. net.Socket hands its options to stream.Duplex, which honours writableHighWaterMark. */
export const plainSocketFactory: SocketFactory = (options) => net.createConnection(options as net.TcpNetConnectOpts);

export interface ConnectionOptions {
  host: string;
  port: number;
  /** Sent in every request header; null sends a null client id. */
  clientId?: string | null;
  /** Covers the TCP connect and, for a TLS socket, its handshake. */
  socketConnectionSetupTimeoutMs?: number;
  /** Default per-request timeout; a request may override it. */
  requestTimeoutMs?: number;
  /** Largest response frame accepted; anything larger closes the connection. */
  maxResponseSize?: number;
  /** Bytes the socket may buffer in user space before `needsDrain` turns true. */
  socketWriteHighWaterMark?: number;
  /** First correlation id to use (tests exercise the wrap-around with it). */
  initialCorrelationId?: number;
  /** Opens the socket; plain TCP (`net.createConnection`) by default. */
  socketFactory?: SocketFactory;
  /**
   * True when the owner runs a handshake after connect() (ApiVersions, then SASL): the connection stays
   * 'authenticating', carrying only those requests, until markReady(). False, for a bare transport,
   * passes through 'authenticating' at once and is 'ready' when connect() resolves.
   */
  handshake?: boolean;
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
 * What the connection needs of an API to frame a request: its key and the header versions each API
 * version uses. Callers hand over the API, never header versions, so they cannot get them wrong.
 */
export type RequestApi = Pick<KafkaApi<unknown, unknown>, 'apiKey' | 'requestHeaderVersion' | 'responseHeaderVersion'>;

/**
 * idle ──connect()──▶ connecting ──TCP (and TLS) up──▶ authenticating ──markReady()──▶ ready
 *   every state ──failure or close()──▶ closed (final)
 * While authenticating only ApiVersions and the SASL requests may be sent.
 */
export type ConnectionState = 'idle' | 'connecting' | 'authenticating' | 'ready' | 'closed';

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

/**
 * OpenSSL's verification failures: the broker's certificate (or our trust store) is wrong, and
 * retrying will not fix it. Any other handshake failure (a reset, a timeout) may be transient.
 */
const CERTIFICATE_ERROR_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_CHAIN_TOO_LONG',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * OpenSSL errors that a setting causes and a retry repeats: a plaintext port, no common version or
 * cipher, a refusal alert. Others (a bad record MAC, an unexpected EOF, an internal error) may be the
 * network or a broker going down, and stay retriable.
 */
const FINAL_TLS_ERRORS =
  /^ERR_SSL_((SSLV3|TLSV1|TLSV13|SSL\/TLS)_ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|ACCESS_DENIED|HANDSHAKE_FAILURE|PROTOCOL_VERSION|INSUFFICIENT_SECURITY|DECRYPT_ERROR)|WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|UNSUPPORTED_PROTOCOL|NO_PROTOCOLS_AVAILABLE|NO_SHARED_CIPHER|NO_CIPHERS_AVAILABLE|TLSV1_UNRECOGNIZED_NAME|DH_KEY_TOO_SMALL|EE_KEY_TOO_SMALL|CA_MD_TOO_WEAK|BAD_DECRYPT)$/;

/** Alerts by which the broker refuses our certificate (mTLS) or the handshake as a whole. */
// OpenSSL 3.0 names alerts by protocol (SSLV3_ALERT_BAD_CERTIFICATE); 3.5 (Node 24) as SSL/TLS_ALERT_...
const PEER_REFUSED_ALERT = /^ERR_SSL_(SSLV3|TLSV1|TLSV13|SSL\/TLS)_ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|ACCESS_DENIED|HANDSHAKE_FAILURE|PROTOCOL_VERSION)$/;

function errorCode(err: Error): string | undefined {
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? code : undefined;
}

function noop(): void {}

/**
 * One connection to one broker: size-prefixed framing, correlation ids, several requests in flight
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
  private readonly socketFactory: SocketFactory;
  /** Requests issued during a re-authentication, sent once it is done; null when none is under way. */
  private held: Array<() => void> | null = null;
  private readonly handshake: boolean;
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

  private readonly decoder: FrameDecoder;

  /** One timer for the earliest deadline, instead of one per request. */
  private timer: NodeJS.Timeout | null = null;
  private timerDeadline = Infinity;

  private readonly onData = (chunk: Buffer): void => {
    this.bytesReceived += chunk.length;
    this.decoder.push(chunk);
  };
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
    this.socketFactory = options.socketFactory ?? plainSocketFactory;
    this.handshake = options.handshake ?? false;
    this.decoder = new FrameDecoder(
      this.maxResponseSize,
      (buf, start, end) => this.handleFrame(buf, start, end),
      (size) => this.fail(new FrameTooLargeError(this.address, size, this.maxResponseSize)),
    );
  }

  get state(): ConnectionState {
    return this._state;
  }

  /** True once the connection is ready for any request (its handshake, if any, is done). */
  get isConnected(): boolean {
    return this._state === 'ready';
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

  /**
   * Opens the socket (TCP, and TLS when the factory returns a TLS socket). Resolves in 'authenticating'
   * when the owner runs a handshake, else in 'ready'. Calling it again returns the same attempt.
   */
  connect(): Promise<void> {
    if (this.connectPromise !== null) return this.connectPromise;
    if (this._state === 'closed') {
      this.connectPromise = Promise.reject(this._closeReason ?? this.notConnected());
      this.connectPromise.catch(noop);
      return this.connectPromise;
    }
    this._state = 'connecting';
    this.connectPromise = new Promise<void>((resolve, reject) => {
      const setupTimer = setTimeout(() => {
        this.fail(new ConnectionSetupTimeoutError(this.address, this.setupTimeoutMs));
      }, this.setupTimeoutMs);
      const settleConnect = (reason: KafkaError | null): void => {
        clearTimeout(setupTimer);
        this.connectSettler = null;
        if (reason === null) resolve();
        else reject(reason);
      };
      // fail() ends up here when the connection dies before it is established.
      this.connectSettler = settleConnect;

      let socket: net.Socket;
      try {
        socket = this.socketFactory({
          host: this.host,
          port: this.port,
          noDelay: true,
          // Java sets SO_KEEPALIVE on broker sockets; it lets the OS notice a peer that vanished.
          keepAlive: true,
          writableHighWaterMark: this.writeHighWaterMark,
        });
      } catch (err) {
        this.fail(new ConnectionError(this.address, 'CONNECT_FAILED', `failed to connect: ${(err as Error).message}`, err));
        return;
      }
      this.socket = socket;
      socket.setNoDelay(true);
      const isTls = socket instanceof tls.TLSSocket;
      let tcpConnected = false;

      const established = (): void => {
        if (this._state !== 'connecting') return;
        this._state = this.handshake ? 'authenticating' : 'ready';
        settleConnect(null);
      };
      socket.once('connect', () => {
        tcpConnected = true;
        if (!isTls) established();
      });
      if (isTls) socket.once('secureConnect', established);
      socket.on('data', this.onData);
      socket.on('error', (err) => {
        if (isTls && PEER_REFUSED_ALERT.test(errorCode(err) ?? '')) {
          // TLS 1.3 finishes the client's side of the handshake before the broker checks our
          // certificate, so its refusal arrives as an alert after secureConnect
          this.fail(this.tlsHandshakeFailed(err));
        } else if (this._state !== 'connecting') {
          this.fail(new ConnectionError(this.address, 'NETWORK_EXCEPTION', `socket error: ${err.message}`, err));
        } else if (isTls && (tcpConnected || CERTIFICATE_ERROR_CODES.has(errorCode(err) ?? '') || /^ERR_SSL_/.test(errorCode(err) ?? ''))) {
          this.fail(this.tlsHandshakeFailed(err));
        } else {
          this.fail(new ConnectionError(this.address, 'CONNECT_FAILED', `failed to connect: ${err.message}`, err));
        }
      });
      // allowHalfOpen is false, so 'end' means the broker is done with us; fail the pending requests
      // now rather than waiting for 'close'.
      // A close between the TCP connect and the end of the TLS handshake is a handshake failure (a
      // plaintext listener drops a ClientHello this way), retriable: one alone may be a broker going down.
      const closedMidHandshake = (): ConnectionError | null =>
        isTls && tcpConnected && this._state === 'connecting'
          ? new ConnectionError(this.address, 'TLS_HANDSHAKE_FAILED', 'TLS handshake failed: the broker closed the connection during the handshake', undefined, true)
          : null;
      socket.on('end', () => this.fail(closedMidHandshake() ?? new ConnectionError(this.address, 'CONNECTION_CLOSED', 'connection closed by the broker')));
      socket.on('close', () => {
        this.fail(closedMidHandshake() ?? new ConnectionError(this.address, 'CONNECTION_CLOSED', 'connection closed'));
        this.resolveClosed?.();
      });
      socket.on('drain', () => this.releaseDrainWaiters());
    });
    // A failed connect is reported through this promise; the pool may not await it right away.
    this.connectPromise.catch(noop);
    return this.connectPromise;
  }

  /**
   * Ends the handshake: 'authenticating' becomes 'ready' and every API may be sent. Throws the close
   * reason if the connection closed meanwhile (the handshake's last answer can race a disconnect).
   */
  markReady(): void {
    if (this._state === 'authenticating') this._state = 'ready';
    else if (this._state !== 'ready') throw this._closeReason ?? this.notConnected();
  }

  /**
   * Closes the connection at once: every pending request rejects with a CONNECTION_CLOSED
   * ConnectionError; a connect() under way rejects the same way and its socket is destroyed. Resolves
   * when the socket is fully closed. Idempotent.
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
      api,
      version,
      (w) => api.encodeRequest(w, body, version),
      (r) => api.decodeResponse(r, version),
      options,
    );
  }

  /**
   * The primitive under `request`, for callers that encode bodies themselves (Produce, whose record
   * batches are written straight into the request, or spliced in with `frame.attach` when large).
   * Header versions come from `api`.
   *
   * The returned promise rejects with a ConnectionError when the connection fails or closes (or is not
   * ready for this API: NOT_CONNECTED, NOT_AUTHENTICATED, with nothing written), with a
   * RequestTimeoutError when this request times out, with a ProtocolEncodeError (or whatever
   * encodeBody throws) when the body cannot be encoded; in that last case nothing is sent and the
   * connection stays open.
   */
  requestRaw<T>(api: RequestApi, apiVersion: number, encodeBody: BodyEncoder, decodeBody: (r: Reader) => T, options: NoResponseOptions): Promise<undefined>;
  requestRaw<T>(api: RequestApi, apiVersion: number, encodeBody: BodyEncoder, decodeBody: (r: Reader) => T, options?: RequestOptions): Promise<T>;
  requestRaw<T>(api: RequestApi, apiVersion: number, encodeBody: BodyEncoder, decodeBody: (r: Reader) => T, options?: RequestOptions): Promise<T | undefined> {
    const socket = this.socket;
    const apiKey = api.apiKey;
    if (this.held !== null && this._state === 'ready' && !isHandshakeApi(apiKey)) return this.hold(api, apiVersion, encodeBody, decodeBody, options);
    const refusal = this._state === 'ready' ? null : this.refusal(apiKey);
    if (refusal !== null || socket === null) {
      const p = Promise.reject(refusal ?? this.notConnected());
      p.catch(noop);
      return p;
    }

    const expectResponse = options?.expectResponse ?? true;
    const timeoutMs = options?.timeoutMs ?? this.requestTimeoutMs;
    const correlationId = this.nextCorrelationId;

    let request: EncodedRequest;
    try {
      request = encodeRequest(
        { headerVersion: api.requestHeaderVersion(apiVersion), apiKey, apiVersion, correlationId, clientId: this.clientId },
        encodeBody,
      );
    } catch (err) {
      const p = Promise.reject(err);
      p.catch(noop);
      return p;
    }
    // Java skips the top of the int32 range (reserved for SASL); wrapping to 0 keeps ids non-negative.
    this.nextCorrelationId = correlationId >= INT32_MAX - 8 ? 0 : correlationId + 1;

    let pending!: Pending;
    const promise = new Promise<unknown>((resolve, reject) => {
      pending = new Pending(
        correlationId,
        apiKey,
        apiVersion,
        api.responseHeaderVersion(apiVersion),
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

    this.bytesSent += request.totalBytes;
    this.requestsSent++;
    writeRequest(socket, request, expectResponse ? undefined : this.onFlushed);
    return promise as Promise<T | undefined>;
  }

  /**
   * Runs a re-authentication (KIP-368) on the ready connection: until `run` settles, requests other
   * than ApiVersions/SASL are held back (a broker closes a connection that sends one mid-exchange) and
   * then sent in the order they were issued. A failure of `run` closes the connection with its error,
   * failing what was held with it. Resolves true when `run` succeeded.
   */
  async reauthenticate(run: () => Promise<void>): Promise<boolean> {
    if (this._state !== 'ready' || this.held !== null) return false;
    this.held = [];
    let ok = false;
    try {
      await run();
      ok = true;
    } catch (err) {
      this.fail(err instanceof KafkaError ? err : new ConnectionError(this.address, 'AUTHENTICATION_FAILED', `re-authentication failed: ${String(err)}`, err, false));
    } finally {
      // null when the connection closed meanwhile: fail() has released them already
      const held = this.held;
      this.held = null;
      if (held !== null) for (const send of held) send();
    }
    return ok;
  }

  private hold<T>(api: RequestApi, apiVersion: number, encodeBody: BodyEncoder, decodeBody: (r: Reader) => T, options: RequestOptions | undefined): Promise<T | undefined> {
    const held = this.held as Array<() => void>;
    const promise = new Promise<T | undefined>((resolve, reject) => {
      held.push(() => this.requestRaw(api, apiVersion, encodeBody, decodeBody, options as RequestOptions).then(resolve, reject));
    });
    promise.catch(noop);
    return promise;
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

  /** Settles the oldest request with the frame `buf[start, end)`; false once the connection closed. */
  private handleFrame(buf: Buffer, start: number, end: number): boolean {
    this.responsesReceived++;
    const pending = this.inFlight[0];
    if (end - start < 4) {
      this.fail(new ConnectionError(this.address, 'RESPONSE_DECODE', `response frame of ${end - start} bytes has no correlation id`));
      return false;
    }
    const correlationId = buf.readInt32BE(start);
    if (pending === undefined) {
      this.fail(
        new ConnectionError(this.address, 'UNEXPECTED_RESPONSE', `received a response (correlation id ${correlationId}) with no request in flight`),
      );
      return false;
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
      return false;
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
      return false;
    }
    pending.resolve(value);
    if (this.inFlightCount === 0) this.clearTimer();
    // A resolve handler runs later (microtask), so nothing can have closed us in between; still, say so.
    return this._state !== 'closed';
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
    // requests held for a re-authentication are refused with the close reason now, not when it ends
    const held = this.held;
    this.held = null;
    if (held !== null) for (const send of held) send();
    this.decoder.stop();

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

  /** Why a request for `apiKey` cannot go out in the current (not ready) state; null when it can. */
  private refusal(apiKey: number): KafkaError | null {
    switch (this._state) {
      case 'closed':
        return this._closeReason ?? this.notConnected();
      case 'authenticating':
        return isHandshakeApi(apiKey) ? null : new NotAuthenticatedError(this.address, apiKey);
      default:
        return this.notConnected();
    }
  }

  /**
   * Not retriable when the certificates or the TLS settings are wrong on either side (OpenSSL's
   * verification codes, its ERR_SSL_* protocol errors: a plaintext port, no common TLS version, an
   * alert refusing our certificate): the next attempt would fail the same way, and a send should
   * hear so now rather than after maxBlockMs. A reset or a close mid-handshake may be transient.
   */
  private tlsHandshakeFailed(err: Error): ConnectionError {
    const code = errorCode(err) ?? '';
    const certificate = CERTIFICATE_ERROR_CODES.has(code);
    let reason = err.message;
    if (certificate) reason = `the broker's certificate did not verify (${code}: ${err.message})`;
    else if (PEER_REFUSED_ALERT.test(code)) reason = `the broker refused the handshake (${code}; with mutual TLS: no client certificate, or one it does not trust)`;
    else if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') reason = `the broker did not answer in TLS (${code}): the port is probably a plaintext listener`;
    else if (code.startsWith('ERR_SSL_')) reason = `${err.message} (${code})`;
    return new ConnectionError(this.address, 'TLS_HANDSHAKE_FAILED', `TLS handshake failed: ${reason}`, err, !(certificate || FINAL_TLS_ERRORS.test(code)));
  }
}
