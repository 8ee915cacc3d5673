import { KafkaError } from '../errors';
import { formatAddress, type BrokerAddress } from './address';
import { BrokerConnection, type BrokerConnectionOptions } from './broker-connection';
import { DEFAULT_SOCKET_CONNECTION_SETUP_TIMEOUT_MS } from './connection';

export const DEFAULT_RECONNECT_BACKOFF_MS = 50;
export const DEFAULT_RECONNECT_BACKOFF_MAX_MS = 1000;
export const RECONNECT_BACKOFF_JITTER = 0.2;

export interface ConnectionPoolOptions extends Omit<BrokerConnectionOptions, 'host' | 'port' | 'nodeId' | 'signal'> {
  /**
   * Upper bound of the connection-setup timeout: after each failed attempt to a node the timeout
   * doubles from socketConnectionSetupTimeoutMs up to this (Java's socket.connection.setup.timeout.max.ms).
   */
  socketConnectionSetupTimeoutMaxMs?: number;
  reconnectBackoffMs?: number;
  reconnectBackoffMaxMs?: number;
  /** Random source in [0, 1) for the backoff jitter; Math.random by default. */
  random?: () => number;
  /** Monotonic clock in milliseconds for backoff deadlines; performance.now by default (tests drive it). */
  now?: () => number;
  /**
   * Opens one connection; BrokerConnection.open by default (tests substitute it). It is handed an
   * AbortSignal that fires when the pool no longer wants the attempt (closed, node gone or moved).
   */
  open?: (options: BrokerConnectionOptions) => Promise<BrokerConnection>;
}

/** 'disconnected' reports both an open connection closing and an attempt failing: either starts a backoff. */
export type PoolEvent =
  | { readonly type: 'connected'; readonly nodeId: number; readonly connection: BrokerConnection }
  | { readonly type: 'disconnected'; readonly nodeId: number; readonly reason: unknown };

export type PoolListener = (event: PoolEvent) => void;

/**
 * Java's ExponentialBackoff (KIP-580/KIP-144): initial * 2^min(attempts, log2(max / initial)), times a
 * random factor in [1 - jitter, 1 + jitter), capped at max. A max not above initial gives a constant
 * `initial` without jitter, as in Java.
 */
export function exponentialBackoff(attempts: number, initialMs: number, maxMs: number, jitter: number, random: () => number): number {
  if (maxMs <= initialMs) return initialMs;
  const expMax = Math.log2(maxMs / Math.max(initialMs, 1));
  const term = initialMs * 2 ** Math.min(attempts, expMax);
  const factor = jitter > 0 ? 1 - jitter + 2 * jitter * random() : 1;
  return Math.min(maxMs, Math.floor(term * factor));
}

function noop(): void {}

/** A failure the same attempt will hit again: authentication refused, no common ApiVersions, ... */
function isFatal(reason: unknown): reason is KafkaError {
  return reason instanceof KafkaError && !reason.retriable;
}

class NodeEntry {
  connection: BrokerConnection | null = null;
  connecting: Promise<BrokerConnection> | null = null;
  /** Aborts the attempt under way. */
  abort: AbortController | null = null;
  unsubscribe: (() => void) | null = null;
  /** Consecutive failures (failed attempts, or disconnects) since the last successful setup. */
  failures = 0;
  /** performance.now() before which no new attempt is made. */
  nextAttemptAt = 0;
  lastError: unknown = null;

  constructor(
    public node: BrokerAddress,
    readonly address: string,
  ) {}
}

/**
 * One connection per broker node for produce traffic, opened lazily, reopened after a failure with
 * exponential backoff (reconnect.backoff.ms / reconnect.backoff.max.ms, 20% jitter), and dropped as
 * soon as it closes.
 *
 * The sender polls it the way Java's Sender polls NetworkClient: `ready(nodeId)` returns a usable
 * connection or starts opening one, `connectionDelay(nodeId)` says how long until trying again makes
 * sense, and 'connected'/'disconnected' events wake the sender instead of timers.
 */
export class ConnectionPool {
  private readonly entries = new Map<number, NodeEntry>();
  private readonly listeners: PoolListener[] = [];
  private readonly options: BrokerConnectionOptions;
  private readonly backoffMs: number;
  private readonly backoffMaxMs: number;
  private readonly random: () => number;
  private readonly setupTimeoutMs: number;
  private readonly setupTimeoutMaxMs: number;
  private readonly openConnection: (options: BrokerConnectionOptions) => Promise<BrokerConnection>;
  private readonly now: () => number;
  /** Fires on close(), ending get() calls asleep in a backoff. */
  private readonly closing = new AbortController();
  private closed = false;

  constructor(nodes: readonly BrokerAddress[] = [], options: ConnectionPoolOptions = {}) {
    const { reconnectBackoffMs, reconnectBackoffMaxMs, random, now, open, socketConnectionSetupTimeoutMaxMs, ...connectionOptions } = options;
    this.options = { ...connectionOptions, host: '', port: 0 };
    this.setupTimeoutMs = connectionOptions.socketConnectionSetupTimeoutMs ?? DEFAULT_SOCKET_CONNECTION_SETUP_TIMEOUT_MS;
    this.setupTimeoutMaxMs = socketConnectionSetupTimeoutMaxMs ?? Math.max(this.setupTimeoutMs, 30_000);
    this.backoffMs = reconnectBackoffMs ?? DEFAULT_RECONNECT_BACKOFF_MS;
    // Java (postProcessReconnectBackoffConfigs): setting only reconnect.backoff.ms makes it the max
    // too, keeping the constant backoff such users had before exponential backoff existed.
    this.backoffMaxMs = reconnectBackoffMaxMs ?? reconnectBackoffMs ?? DEFAULT_RECONNECT_BACKOFF_MAX_MS;
    this.random = random ?? Math.random;
    this.now = now ?? (() => performance.now());
    this.openConnection = open ?? ((o) => BrokerConnection.open(o));
    this.updateNodes(nodes);
  }

  /**
   * Replaces the known brokers (from a metadata response). A node whose address changed, or that is
   * gone, has its connection closed; its in-flight requests fail as disconnects and are retried.
   */
  updateNodes(nodes: readonly BrokerAddress[]): void {
    if (this.closed) return;
    const seen = new Set<number>();
    for (const node of nodes) {
      seen.add(node.nodeId);
      const copy: BrokerAddress = { nodeId: node.nodeId, host: node.host, port: node.port, rack: node.rack };
      const entry = this.entries.get(node.nodeId);
      if (entry !== undefined && entry.node.host === node.host && entry.node.port === node.port) {
        // A new rack alone does not move the connection.
        entry.node = copy;
        continue;
      }
      if (entry !== undefined) void this.discard(entry);
      this.entries.set(node.nodeId, new NodeEntry(copy, formatAddress(node.host, node.port)));
    }
    for (const [nodeId, entry] of this.entries) {
      if (!seen.has(nodeId)) {
        void this.discard(entry);
        this.entries.delete(nodeId);
      }
    }
  }

  node(nodeId: number): BrokerAddress | undefined {
    return this.entries.get(nodeId)?.node;
  }

  /** Every known node, in the order metadata listed them. */
  nodes(): BrokerAddress[] {
    return Array.from(this.entries.values(), (e) => e.node);
  }

  /**
   * The node's connection if it is open, else null, having started to open one unless an attempt is
   * under way or the node is backing off (after a fatal failure, for reconnectBackoffMaxMs). Never
   * throws for a known node.
   */
  ready(nodeId: number): BrokerConnection | null {
    const entry = this.entries.get(nodeId);
    if (entry === undefined || this.closed) return null;
    if (entry.connection !== null) return entry.connection;
    if (entry.connecting === null && this.now() >= entry.nextAttemptAt) this.startConnect(entry);
    return null;
  }

  /** Node ids whose connection is open and ready, in metadata order; not nodes merely free to try. */
  connectedNodeIds(): number[] {
    const ids: number[] = [];
    for (const [nodeId, entry] of this.entries) {
      if (entry.connection !== null && entry.connection.isConnected) ids.push(nodeId);
    }
    return ids;
  }

  /**
   * Milliseconds before `ready(nodeId)` can make progress: 0 when connected or free to try now, the
   * backoff left after a failure, Infinity while an attempt is under way (a 'connected' or
   * 'disconnected' event follows) or for an unknown node.
   */
  connectionDelay(nodeId: number): number {
    const entry = this.entries.get(nodeId);
    if (entry === undefined || this.closed) return Infinity;
    if (entry.connection !== null) return 0;
    if (entry.connecting !== null) return Infinity;
    return Math.max(0, entry.nextAttemptAt - this.now());
  }

  /** The error of the node's last failed attempt or disconnect, null after a successful setup. */
  lastError(nodeId: number): unknown {
    return this.entries.get(nodeId)?.lastError ?? null;
  }

  /**
   * The node's last failure if retrying cannot fix it (not retriable: authentication refused, no
   * common ApiVersions version, a certificate that does not verify), else null.
   */
  nodeError(nodeId: number): KafkaError | null {
    const error = this.entries.get(nodeId)?.lastError;
    return isFatal(error) ? error : null;
  }

  /**
   * The node's connection, opening it if needed and waiting out any backoff first. Rejects with the
   * attempt's error if it fails (no retry here: the caller owns its deadline).
   */
  async get(nodeId: number): Promise<BrokerConnection> {
    for (;;) {
      if (this.closed) throw poolClosed();
      const entry = this.entries.get(nodeId);
      if (entry === undefined) {
        throw new KafkaError(`unknown broker node ${nodeId}`, { code: 'UNKNOWN_NODE', retriable: true });
      }
      if (entry.connection !== null) return entry.connection;
      if (entry.connecting !== null) return entry.connecting;
      const wait = entry.nextAttemptAt - this.now();
      if (wait <= 0) return this.startConnect(entry);
      await this.sleep(Math.ceil(wait));
    }
  }

  /** Listens for connections opening and closing. Returns an unsubscribe function. */
  onEvent(listener: PoolListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * Closes every connection and aborts the attempts under way (their sockets are destroyed at once,
   * so no handle keeps the process alive). Resolves once the open connections are closed.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    const pending: Promise<void>[] = [];
    for (const entry of this.entries.values()) pending.push(this.discard(entry));
    this.entries.clear();
    this.listeners.length = 0;
    await Promise.all(pending);
  }

  private startConnect(entry: NodeEntry): Promise<BrokerConnection> {
    // Java: the setup timeout grows exponentially (20% jitter) with consecutive failures to the node
    const socketConnectionSetupTimeoutMs = exponentialBackoff(entry.failures, this.setupTimeoutMs, this.setupTimeoutMaxMs, RECONNECT_BACKOFF_JITTER, this.random);
    const abort = new AbortController();
    entry.abort = abort;
    const { node } = entry;
    const attempt = this.openConnection({
      ...this.options,
      socketConnectionSetupTimeoutMs,
      host: node.host,
      port: node.port,
      nodeId: node.nodeId,
      signal: abort.signal,
    }).then(
      (connection) => {
        entry.connecting = null;
        entry.abort = null;
        if (this.closed || this.entries.get(node.nodeId) !== entry) {
          void connection.close();
          throw poolClosed();
        }
        if (!connection.isConnected) throw this.failed(entry, connection.closeReason ?? poolClosed());
        entry.connection = connection;
        entry.failures = 0;
        entry.lastError = null;
        entry.unsubscribe = connection.onClose((reason) => {
          if (entry.connection !== connection) return;
          entry.connection = null;
          entry.unsubscribe = null;
          this.failed(entry, reason);
        });
        this.emit({ type: 'connected', nodeId: entry.node.nodeId, connection });
        return connection;
      },
      (err: unknown) => {
        entry.connecting = null;
        entry.abort = null;
        if (this.entries.get(node.nodeId) !== entry || this.closed) throw poolClosed();
        this.failed(entry, err);
        throw err;
      },
    );
    entry.connecting = attempt;
    // ready() starts attempts nobody awaits; their outcome is reported through events and lastError.
    attempt.catch(noop);
    return attempt;
  }

  private failed(entry: NodeEntry, reason: unknown): unknown {
    entry.failures++;
    entry.lastError = reason;
    // Retrying a refusal at the usual 50 ms pace would hammer the broker with doomed handshakes.
    const backoff = isFatal(reason)
      ? Math.max(this.backoffMs, this.backoffMaxMs)
      : exponentialBackoff(entry.failures - 1, this.backoffMs, this.backoffMaxMs, RECONNECT_BACKOFF_JITTER, this.random);
    entry.nextAttemptAt = this.now() + backoff;
    this.emit({ type: 'disconnected', nodeId: entry.node.nodeId, reason });
    return reason;
  }

  /**
   * Closes an entry's connection, or aborts its attempt, without counting it as a failure (the pool
   * chose to drop it). An aborted BrokerConnection.open destroys its socket at once; the promise
   * covers the close of an open connection only, since a substituted `open` may ignore the signal
   * (it then finds its entry gone when it completes, and closes what it opened).
   */
  private discard(entry: NodeEntry): Promise<void> {
    entry.unsubscribe?.();
    entry.unsubscribe = null;
    entry.abort?.abort();
    entry.abort = null;
    const connection = entry.connection;
    entry.connection = null;
    return connection === null ? Promise.resolve() : connection.close();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.closing.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.closing.signal.addEventListener('abort', done, { once: true });
    });
  }

  private emit(event: PoolEvent): void {
    for (const listener of this.listeners.slice()) {
      try {
        listener(event);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

function poolClosed(): KafkaError {
  return new KafkaError('connection pool is closed', { code: 'POOL_CLOSED', retriable: false });
}
