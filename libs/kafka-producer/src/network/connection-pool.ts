import { KafkaError } from '../errors';
import { formatAddress } from './address';
import { BrokerConnection, type BrokerConnectionOptions } from './broker-connection';
import { DEFAULT_SOCKET_CONNECTION_SETUP_TIMEOUT_MS } from './connection';

export const DEFAULT_RECONNECT_BACKOFF_MS = 50;
export const DEFAULT_RECONNECT_BACKOFF_MAX_MS = 1000;
export const RECONNECT_BACKOFF_JITTER = 0.2;

/** A broker as metadata describes it. */
export interface BrokerNode {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

export interface ConnectionPoolOptions extends Omit<BrokerConnectionOptions, 'host' | 'port' | 'nodeId'> {
  /**
   * Upper bound of the connection-setup timeout: after each failed attempt to a node the timeout
   * doubles from socketConnectionSetupTimeoutMs up to this (Java's socket.connection.setup.timeout.max.ms).
   */
  socketConnectionSetupTimeoutMaxMs?: number;
  reconnectBackoffMs?: number;
  reconnectBackoffMaxMs?: number;
  /** Random source in [0, 1) for the backoff jitter; Math.random by default. */
  random?: () => number;
  /** Opens one connection; BrokerConnection.open by default (tests substitute it). */
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

class NodeEntry {
  connection: BrokerConnection | null = null;
  connecting: Promise<BrokerConnection> | null = null;
  unsubscribe: (() => void) | null = null;
  /** Consecutive failures (failed attempts, or disconnects) since the last successful setup. */
  failures = 0;
  /** performance.now() before which no new attempt is made. */
  nextAttemptAt = 0;
  lastError: unknown = null;

  constructor(
    readonly node: BrokerNode,
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
  private closed = false;

  constructor(nodes: readonly BrokerNode[] = [], options: ConnectionPoolOptions = {}) {
    const { reconnectBackoffMs, reconnectBackoffMaxMs, random, open, socketConnectionSetupTimeoutMaxMs, ...connectionOptions } = options;
    this.options = { ...connectionOptions, host: '', port: 0 };
    this.setupTimeoutMs = connectionOptions.socketConnectionSetupTimeoutMs ?? DEFAULT_SOCKET_CONNECTION_SETUP_TIMEOUT_MS;
    this.setupTimeoutMaxMs = socketConnectionSetupTimeoutMaxMs ?? Math.max(this.setupTimeoutMs, 30_000);
    this.backoffMs = reconnectBackoffMs ?? DEFAULT_RECONNECT_BACKOFF_MS;
    // Java (postProcessReconnectBackoffConfigs): setting only reconnect.backoff.ms makes it the max
    // too, keeping the constant backoff such users had before exponential backoff existed.
    this.backoffMaxMs = reconnectBackoffMaxMs ?? reconnectBackoffMs ?? DEFAULT_RECONNECT_BACKOFF_MAX_MS;
    this.random = random ?? Math.random;
    this.openConnection = open ?? ((o) => BrokerConnection.open(o));
    this.updateNodes(nodes);
  }

  /**
   * Replaces the known brokers (from a metadata response). A node whose address changed, or that is
   * gone, has its connection closed; its in-flight requests fail as disconnects and are retried.
   */
  updateNodes(nodes: readonly BrokerNode[]): void {
    if (this.closed) return;
    const seen = new Set<number>();
    for (const node of nodes) {
      seen.add(node.nodeId);
      const entry = this.entries.get(node.nodeId);
      if (entry !== undefined && entry.node.host === node.host && entry.node.port === node.port) continue;
      if (entry !== undefined) this.discard(entry);
      this.entries.set(node.nodeId, new NodeEntry({ nodeId: node.nodeId, host: node.host, port: node.port }, formatAddress(node.host, node.port)));
    }
    for (const [nodeId, entry] of this.entries) {
      if (!seen.has(nodeId)) {
        this.discard(entry);
        this.entries.delete(nodeId);
      }
    }
  }

  node(nodeId: number): BrokerNode | undefined {
    return this.entries.get(nodeId)?.node;
  }

  /** Every known node, in the order metadata listed them. */
  nodes(): BrokerNode[] {
    return Array.from(this.entries.values(), (e) => e.node);
  }

  /**
   * The node's connection if it is open, else null, having started to open one unless an attempt is
   * under way or the node is backing off. Never throws for a known node.
   */
  ready(nodeId: number): BrokerConnection | null {
    const entry = this.entries.get(nodeId);
    if (entry === undefined || this.closed) return null;
    if (entry.connection !== null) return entry.connection;
    if (entry.connecting === null && performance.now() >= entry.nextAttemptAt) this.startConnect(entry);
    return null;
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
    return Math.max(0, entry.nextAttemptAt - performance.now());
  }

  /** The error of the node's last failed attempt or disconnect, null after a successful setup. */
  lastError(nodeId: number): unknown {
    return this.entries.get(nodeId)?.lastError ?? null;
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
      const wait = entry.nextAttemptAt - performance.now();
      if (wait <= 0) return this.startConnect(entry);
      await new Promise((resolve) => setTimeout(resolve, Math.ceil(wait)));
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

  /** Closes every connection; attempts still under way are closed as they complete. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pending: Promise<void>[] = [];
    for (const entry of this.entries.values()) pending.push(this.discard(entry));
    this.entries.clear();
    this.listeners.length = 0;
    await Promise.all(pending);
  }

  private startConnect(entry: NodeEntry): Promise<BrokerConnection> {
    // Java: the setup timeout grows exponentially (20% jitter) with consecutive failures to the node
    const socketConnectionSetupTimeoutMs = exponentialBackoff(entry.failures, this.setupTimeoutMs, this.setupTimeoutMaxMs, RECONNECT_BACKOFF_JITTER, this.random);
    const attempt = this.openConnection({ ...this.options, socketConnectionSetupTimeoutMs, host: entry.node.host, port: entry.node.port, nodeId: entry.node.nodeId }).then(
      (connection) => {
        entry.connecting = null;
        if (this.closed || this.entries.get(entry.node.nodeId) !== entry) {
          void connection.close();
          throw poolClosed();
        }
        if (!connection.isConnected) throw this.failed(entry, connection.connection.closeReason ?? poolClosed());
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
        if (this.entries.get(entry.node.nodeId) === entry && !this.closed) this.failed(entry, err);
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
    entry.nextAttemptAt =
      performance.now() + exponentialBackoff(entry.failures - 1, this.backoffMs, this.backoffMaxMs, RECONNECT_BACKOFF_JITTER, this.random);
    this.emit({ type: 'disconnected', nodeId: entry.node.nodeId, reason });
    return reason;
  }

  /** Closes an entry's connection without counting it as a failure (the pool chose to drop it). */
  private discard(entry: NodeEntry): Promise<void> {
    entry.unsubscribe?.();
    entry.unsubscribe = null;
    const connection = entry.connection;
    entry.connection = null;
    // An attempt still under way sees that its entry is gone and closes what it opened.
    return connection === null ? Promise.resolve() : connection.close();
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
