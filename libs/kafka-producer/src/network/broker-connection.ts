import { KafkaError } from '../errors';
import type { KafkaApi } from '../protocol/messages/kafka-api';
import type { Reader } from '../protocol/primitives/reader';
import type { NodeConnection } from './node-connection';
import {
  Connection,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type CloseListener,
  type ConnectionOptions,
  type ConnectionState,
  type NoResponseOptions,
  type RequestApi,
  type RequestOptions,
} from './connection';
import { AuthenticationError, ConnectionError, FrameTooLargeError } from './errors';
import type { BodyEncoder } from './request-encoder';
import { negotiateApiVersions, type ApiDescriptor, type ApiVersionTable, type NegotiationOptions } from './version-negotiation';

/**
 * The connection as an authentication mechanism sees it: still 'authenticating', so only ApiVersions,
 * SaslHandshake and SaslAuthenticate requests go through.
 */
export type AuthenticatingConnection = Pick<Connection, 'address' | 'host' | 'port' | 'state' | 'request' | 'requestRaw'>;

/** What an authentication tells about the session it opened. */
export interface AuthenticationOutcome {
  /**
   * How long the broker keeps the session (SaslAuthenticate v1+, KIP-368); 0 or absent: no limit.
   * The connection re-authenticates before it ends.
   */
  readonly sessionLifetimeMs?: number;
}

/**
 * Runs after ApiVersions and before the connection is handed out (SASL plugs in here), and again on
 * the open connection before the session it reported ends. Throwing fails the attempt; anything but
 * a retriable KafkaError counts as an authentication failure.
 */
export type Authenticate = (connection: AuthenticatingConnection, versions: ApiVersionTable) => Promise<AuthenticationOutcome | void>;

export interface BrokerConnectionOptions extends Omit<ConnectionOptions, 'handshake'> {
  /** The broker's node id from metadata; -1 for a bootstrap connection whose id is not known yet. */
  nodeId?: number;
  clientSoftwareName?: string;
  clientSoftwareVersion?: string;
  authenticate?: Authenticate;
  /** Called after each successful re-authentication (KIP-368) of the open connection, with its node id. */
  onReauthenticated?: (nodeId: number) => void;
  /** Aborting destroys the socket of an attempt under way; open() then rejects with CONNECTION_CLOSED. */
  signal?: AbortSignal;
}

function noop(): void {}

// A function, so TypeScript does not narrow `aborted` to false for the rest of open() after the first check.
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal !== undefined && signal.aborted;
}

/**
 * A connection that has finished its setup (connect, ApiVersions, authentication) and knows which
 * version of each API to speak to its broker. This is what the pool hands out.
 */
export class BrokerConnection implements NodeConnection {
  private reauthTimer: NodeJS.Timeout | null = null;
  /** Re-authentications completed on this connection (KIP-368). */
  reauthentications = 0;

  private constructor(
    private readonly connection: Connection,
    readonly versions: ApiVersionTable,
    readonly nodeId: number,
    private readonly authenticate: Authenticate | undefined,
    private readonly onReauthenticated: ((nodeId: number) => void) | undefined,
    private readonly authenticationDeadlineMs: number,
  ) {
    connection.onClose(() => this.cancelReauthentication());
  }

  /**
   * connect → (authenticating) ApiVersions → authenticate hook → ready. On any failure the socket is
   * closed before the error is thrown, so a failed attempt leaves nothing open.
   */
  static async open(options: BrokerConnectionOptions): Promise<BrokerConnection> {
    const { nodeId, clientSoftwareName, clientSoftwareVersion, authenticate, onReauthenticated, signal, ...connectionOptions } = options;
    const connection = new Connection({ ...connectionOptions, handshake: true });
    const aborted = (): ConnectionError =>
      new ConnectionError(connection.address, 'CONNECTION_CLOSED', 'connection attempt aborted: the client is closing');
    if (isAborted(signal)) throw aborted();
    const onAbort = (): void => void connection.close();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await connection.connect();
      const negotiation: NegotiationOptions = { clientSoftwareName, clientSoftwareVersion };
      let versions: ApiVersionTable;
      try {
        versions = await negotiateApiVersions(connection, negotiation);
      } catch (err) {
        throw isAborted(signal) ? aborted() : handshakeFailure(connection.address, err);
      }
      let outcome: AuthenticationOutcome | void = undefined;
      if (authenticate !== undefined) {
        try {
          outcome = await withinDeadline(authenticate(connection, versions), connection.address, authenticationDeadlineMs(connectionOptions.requestTimeoutMs));
        } catch (err) {
          throw isAborted(signal) ? aborted() : authenticationFailure(connection.address, err);
        }
      }
      connection.markReady();
      const opened = new BrokerConnection(connection, versions, nodeId ?? -1, authenticate, onReauthenticated, authenticationDeadlineMs(connectionOptions.requestTimeoutMs));
      opened.scheduleReauthentication(outcome);
      return opened;
    } catch (err) {
      await connection.close();
      throw isAborted(signal) ? aborted() : err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Java's client re-authenticates at a random point between 85% and 95% of the session the broker
   * granted, so that the connections of many clients started together do not all renew at once, and
   * well before the broker would close the connection on the first request after expiry.
   */
  private scheduleReauthentication(outcome: AuthenticationOutcome | void): void {
    const lifetime = outcome?.sessionLifetimeMs ?? 0;
    if (this.authenticate === undefined || !(lifetime > 0) || !this.connection.isConnected) return;
    const delay = Math.max(1, Math.floor(lifetime * (0.85 + Math.random() * 0.1)));
    this.reauthTimer = setTimeout(() => {
      this.reauthTimer = null;
      void this.reauthenticate();
    }, delay);
    this.reauthTimer.unref();
  }

  private cancelReauthentication(): void {
    if (this.reauthTimer !== null) clearTimeout(this.reauthTimer);
    this.reauthTimer = null;
  }

  /**
   * KIP-368 re-authentication on the open connection: requests issued meanwhile wait and go out, in
   * order, once it is done; those already in flight are answered first (the broker handles a
   * connection's requests one at a time). A refusal closes the connection with the error, as a
   * failed first authentication would.
   */
  private async reauthenticate(): Promise<void> {
    const authenticate = this.authenticate;
    if (authenticate === undefined) return;
    let outcome: AuthenticationOutcome | void = undefined;
    const ok = await this.connection.reauthenticate(async () => {
      try {
        outcome = await withinDeadline(authenticate(this.connection, this.versions), this.connection.address, this.authenticationDeadlineMs);
      } catch (err) {
        // Retriable whatever the reason: the held requests were never sent, and a fresh connection's
        // login decides whether the credentials are refused (then the node's error says so).
        const reason = authenticationFailure(this.connection.address, err);
        throw new ConnectionError(this.connection.address, 'CONNECTION_CLOSED', `re-authentication failed, reconnecting: ${reason instanceof Error ? reason.message : String(reason)}`, reason);
      }
    });
    if (ok) {
      this.reauthentications++;
      this.scheduleReauthentication(outcome);
      this.onReauthenticated?.(this.nodeId);
    }
  }

  get address(): string {
    return this.connection.address;
  }

  get state(): ConnectionState {
    return this.connection.state;
  }

  get isConnected(): boolean {
    return this.connection.isConnected;
  }

  /** Why the connection closed; null while it is open. */
  get closeReason(): KafkaError | null {
    return this.connection.closeReason;
  }

  get inFlightCount(): number {
    return this.connection.inFlightCount;
  }

  get needsDrain(): boolean {
    return this.connection.needsDrain;
  }

  waitForDrain(): Promise<void> {
    return this.connection.waitForDrain();
  }

  onClose(listener: CloseListener): () => void {
    return this.connection.onClose(listener);
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  featureLevel(name: string): number {
    return this.versions.featureLevel(name);
  }

  /** See ApiVersionTable.versionFor; throws UnsupportedVersionError when there is no common version. */
  versionFor(api: ApiDescriptor, cap?: number): number {
    return this.versions.versionFor(api, cap);
  }

  /** Sends a request at the negotiated version of its API. */
  send<Req, Res>(api: KafkaApi<Req, Res>, body: Req, options: NoResponseOptions): Promise<undefined>;
  send<Req, Res>(api: KafkaApi<Req, Res>, body: Req, options?: RequestOptions): Promise<Res>;
  send<Req, Res>(api: KafkaApi<Req, Res>, body: Req, options?: RequestOptions): Promise<Res | undefined> {
    let version: number;
    try {
      version = this.versions.versionFor(api);
    } catch (err) {
      const p = Promise.reject(err);
      p.catch(noop);
      return p;
    }
    return this.connection.request(api, version, body, options);
  }

  request<Req, Res>(api: KafkaApi<Req, Res>, version: number, body: Req, options: NoResponseOptions): Promise<undefined>;
  request<Req, Res>(api: KafkaApi<Req, Res>, version: number, body: Req, options?: RequestOptions): Promise<Res>;
  request<Req, Res>(api: KafkaApi<Req, Res>, version: number, body: Req, options?: RequestOptions): Promise<Res | undefined> {
    return this.connection.request(api, version, body, options);
  }

  requestRaw<T>(api: RequestApi, version: number, encodeBody: BodyEncoder, decodeBody: (r: Reader) => T, options: NoResponseOptions): Promise<undefined>;
  requestRaw<T>(api: RequestApi, version: number, encodeBody: BodyEncoder, decodeBody: (r: Reader) => T, options?: RequestOptions): Promise<T>;
  requestRaw<T>(api: RequestApi, version: number, encodeBody: BodyEncoder, decodeBody: (r: Reader) => T, options?: RequestOptions): Promise<T | undefined> {
    return this.connection.requestRaw(api, version, encodeBody, decodeBody, options);
  }
}

/**
 * A Kafka listener answers ApiVersions whatever its state; one that hangs up instead, or answers
 * bytes that are no Kafka frame, is almost always a TLS or SASL listener spoken to in plaintext. Say
 * so, rather than report a bare disconnect that sends users looking at the network.
 */
function handshakeFailure(address: string, err: unknown): unknown {
  if (err instanceof FrameTooLargeError) {
    // A TLS record starts with its content type (0x14-0x17) and major version 3.
    const looksLikeTls = err.size >>> 24 >= 0x14 && err.size >>> 24 <= 0x17 && ((err.size >>> 16) & 0xff) === 0x03;
    // TLS bytes are a listener that speaks TLS: retrying in plaintext cannot succeed
    return new ConnectionError(
      address,
      'HANDSHAKE_CLOSED',
      looksLikeTls
        ? 'the broker answered the ApiVersions handshake in TLS: the listener requires TLS (set ssl)'
        : 'the broker answered the ApiVersions handshake with bytes that are not a Kafka response; the listener may require TLS or SASL',
      err,
      !looksLikeTls,
    );
  }
  if (err instanceof ConnectionError && (err.code === 'CONNECTION_CLOSED' || err.code === 'NETWORK_EXCEPTION')) {
    return new ConnectionError(
      address,
      'HANDSHAKE_CLOSED',
      'the broker closed the connection during the ApiVersions handshake; the listener may require TLS or SASL',
      err,
    );
  }
  return err;
}

/**
 * The whole authentication (the provider's call included, which no request timeout covers) gets
 * one request timeout: a credentials or token provider that never answers must not leave the
 * connection, and every request held behind a re-authentication, waiting for ever.
 */
function authenticationDeadlineMs(requestTimeoutMs: number | undefined): number {
  return requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
}

function withinDeadline<T>(work: Promise<T>, address: string, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectionError(address, 'CONNECTION_SETUP_TIMEOUT', `authentication did not complete within ${ms} ms (a credentials or token provider that does not answer?)`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** A transient failure (a disconnect, a timeout) stays retriable; anything else is a refusal. */
function authenticationFailure(address: string, err: unknown): unknown {
  if (err instanceof AuthenticationError) return err;
  if (err instanceof KafkaError && err.retriable) return err;
  return new AuthenticationError(address, `authentication failed: ${err instanceof Error ? err.message : String(err)}`, err);
}
