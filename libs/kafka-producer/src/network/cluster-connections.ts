import { KafkaError } from '../errors';
import { formatAddress, type BrokerAddress } from './address';
import { connectBootstrap } from './bootstrap';
import type { Authenticate, BrokerConnection, BrokerConnectionOptions } from './broker-connection';
import type { SocketFactory } from './connection';
import { ConnectionPool, type ConnectionPoolOptions } from './connection-pool';
import { AuthenticationError, BootstrapError, ConnectionError } from './errors';

import type { NodeConnection } from './node-connection';

export type { BrokerAddress } from './address';
export type { NodeConnection } from './node-connection';

/**
 * A connection opened or was lost (or an attempt failed). nodeId -1 is the bootstrap connection.
 * The producer refreshes metadata on every loss, as Java's NetworkClient does, which is also what
 * reconnects an idle producer after an outage.
 */
export interface ConnectionEvent {
  /** 'reauthenticated': an open connection renewed its SASL session (KIP-368); nothing else changed. */
  readonly type: 'connected' | 'disconnected' | 'reauthenticated';
  readonly nodeId: number;
}

/**
 * How the producer reaches brokers: a connection per node for produce traffic, plus any live
 * connection (or the bootstrap list) for metadata.
 */
export interface ClusterConnections {
  /** A connected node, or null while it is connecting or backing off (`onChange` fires when that changes). */
  ready(node: BrokerAddress): NodeConnection | null;
  /** Any usable connection: a connected node, or a new one through the bootstrap list. */
  any(): Promise<NodeConnection>;
  /** The brokers metadata lists; connections to nodes no longer listed are closed. */
  updateNodes(nodes: readonly BrokerAddress[]): void;
  /**
   * Milliseconds before `ready(node)` can make progress: 0 when connected or free to try, the backoff
   * left after a failure, Infinity while an attempt is under way (a change event follows) or for a
   * node never seen.
   */
  connectionDelay(nodeId: number): number;
  /** Node ids with an open, ready connection, for health snapshots. */
  connectedNodeIds(): number[];
  /**
   * The node's last connection failure if retrying cannot fix it (not retriable: authentication
   * refused, no common ApiVersions version, ...), else null. Such a node is retried no sooner than
   * reconnectBackoffMaxMs after the failure.
   */
  nodeError(nodeId: number): KafkaError | null;
  close(): Promise<void>;
}

/** What the network layer needs of the producer's configuration. */
export interface ClusterConnectionsConfig {
  readonly clientId: string | null;
  readonly bootstrapServers: string | readonly string[];
  readonly socketConnectionSetupTimeoutMs: number;
  readonly socketConnectionSetupTimeoutMaxMs: number;
  readonly requestTimeoutMs: number;
  readonly reconnectBackoffMs: number;
  readonly reconnectBackoffMaxMs: number;
  /** Opens sockets (TLS plugs in here); plain TCP by default. */
  readonly socketFactory?: SocketFactory;
  /** Authenticates each connection after ApiVersions (SASL plugs in here); none by default. */
  readonly authenticate?: Authenticate;
}

/** Bootstrap rounds in a row whose every attempt was dropped mid-TLS-handshake before that counts as a refusal. */
const TLS_CLOSED_ROUNDS = 3;

function connectionsClosed(): KafkaError {
  return new KafkaError('the cluster connections were closed', { code: 'CONNECTIONS_CLOSED', retriable: false });
}

/**
 * The refusal inside a failed bootstrap, if there is one: an AuthenticationError from any address,
 * or the BootstrapError itself when none of its attempts was retriable.
 */
function fatalBootstrapError(err: unknown): KafkaError | null {
  if (!(err instanceof BootstrapError)) return err instanceof KafkaError && !err.retriable ? err : null;
  for (const attempt of err.attempts) if (attempt.error instanceof AuthenticationError) return attempt.error;
  if (err.retriable) return null;
  // one address tried: its own error (a TLS failure, say) is what the user can act on, code and all
  const only = err.attempts.length === 1 ? err.attempts[0].error : null;
  return only instanceof KafkaError ? only : err;
}

/**
 * The brokers over the network layer: the pool keeps one produce connection per node (reconnecting
 * with backoff), and until some node is connected, metadata goes through a bootstrap connection to
 * the first reachable broker, known nodes first, then the configured servers.
 */
export class NetworkClusterConnections implements ClusterConnections {
  private readonly pool: ConnectionPool;
  private bootstrap: BrokerConnection | null = null;
  private bootstrapping: Promise<BrokerConnection> | null = null;
  /** Aborts the bootstrap attempt under way when the connections close. */
  private readonly closing = new AbortController();
  /** A bootstrap failure retrying cannot fix; any() repeats it until reconnectBackoffMaxMs passed. */
  private fatal: { readonly error: KafkaError; readonly at: number } | null = null;
  private closed = false;

  constructor(
    private readonly config: ClusterConnectionsConfig,
    private readonly onChange: (event: ConnectionEvent) => void,
  ) {
    const poolOptions: ConnectionPoolOptions = {
      ...this.connectionOptions(),
      socketConnectionSetupTimeoutMaxMs: config.socketConnectionSetupTimeoutMaxMs,
      reconnectBackoffMs: config.reconnectBackoffMs,
      reconnectBackoffMaxMs: config.reconnectBackoffMaxMs,
    };
    this.pool = new ConnectionPool([], poolOptions);
    this.pool.onEvent((event) => {
      if (event.type === 'connected') this.everConnected = true;
      onChange({ type: event.type, nodeId: event.nodeId });
    });
  }

  private connectionOptions(): Omit<BrokerConnectionOptions, 'host' | 'port'> {
    return {
      clientId: this.config.clientId,
      socketConnectionSetupTimeoutMs: this.config.socketConnectionSetupTimeoutMs,
      requestTimeoutMs: this.config.requestTimeoutMs,
      socketFactory: this.config.socketFactory,
      authenticate: this.config.authenticate,
      onReauthenticated: (nodeId) => this.onChange({ type: 'reauthenticated', nodeId }),
    };
  }

  updateNodes(nodes: readonly BrokerAddress[]): void {
    this.pool.updateNodes(nodes);
  }

  ready(address: BrokerAddress): NodeConnection | null {
    // A leader hint in a Produce response can name a node (or a new address) before metadata does.
    const known = this.pool.node(address.nodeId);
    if (known === undefined || known.host !== address.host || known.port !== address.port) {
      this.pool.updateNodes([...this.pool.nodes().filter((n) => n.nodeId !== address.nodeId), address]);
    }
    return this.pool.ready(address.nodeId);
  }

  async any(): Promise<NodeConnection> {
    if (this.closed) throw connectionsClosed();
    // Java's leastLoadedNode: the connected node with the fewest requests waiting, from a random start.
    // The first connected node in a fixed order would keep choosing a broker that stopped answering
    // (frozen, overloaded) whose sockets are still open, so every metadata or coordinator lookup would
    // sit out a request timeout behind its stuck requests.
    const nodes = this.pool.nodes();
    const start = nodes.length > 1 ? Math.floor(Math.random() * nodes.length) : 0;
    let best: BrokerConnection | null = null;
    for (let i = 0; i < nodes.length && (best === null || best.inFlightCount > 0); i++) {
      const c = this.pool.ready(nodes[(start + i) % nodes.length].nodeId);
      if (c !== null && c.isConnected && (best === null || c.inFlightCount < best.inFlightCount)) best = c;
    }
    if (best !== null) return best;
    if (this.bootstrap !== null && this.bootstrap.isConnected) return this.bootstrap;
    const fatal = this.fatal;
    if (fatal !== null && performance.now() - fatal.at < Math.max(this.config.reconnectBackoffMs, this.config.reconnectBackoffMaxMs)) {
      throw fatal.error;
    }
    if (this.bootstrapping === null) {
      // brokers we already know first (the configured servers may be gone), then the configured list
      const servers = [
        ...this.pool.nodes().map((n) => formatAddress(n.host, n.port)),
        ...(typeof this.config.bootstrapServers === 'string' ? [this.config.bootstrapServers] : this.config.bootstrapServers),
      ];
      this.bootstrapping = connectBootstrap(servers, { ...this.connectionOptions(), signal: this.closing.signal })
        .then(
          async (c) => {
            if (this.closed) {
              await c.close();
              throw connectionsClosed();
            }
            this.fatal = null;
            this.tlsClosedRounds = 0;
            this.everConnected = true;
            void this.bootstrap?.close();
            this.bootstrap = c;
            c.onClose(() => {
              if (this.bootstrap === c) this.bootstrap = null;
              if (!this.closed) this.onChange({ type: 'disconnected', nodeId: -1 });
            });
            this.onChange({ type: 'connected', nodeId: -1 });
            return c;
          },
          (err: unknown) => {
            if (this.closed) throw connectionsClosed();
            const refusal = fatalBootstrapError(err) ?? this.tlsRefusedStreak(err);
            if (refusal === null) throw err;
            this.fatal = { error: refusal, at: performance.now() };
            throw refusal;
          },
        )
        .finally(() => (this.bootstrapping = null));
    }
    return this.bootstrapping;
  }

  /**
   * A plaintext listener answers a TLS ClientHello by dropping the connection (it reads the record
   * header as a 300 MB request size), which looks like any reset during a handshake. One such round
   * may be a broker going down; every bootstrap address doing it round after round is a TLS client
   * pointed at a plaintext port, and waiting out maxBlockMs would only hide that.
   */
  private tlsClosedRounds = 0;
  private everConnected = false;

  private tlsRefusedStreak(err: unknown): KafkaError | null {
    const attempts = err instanceof BootstrapError ? err.attempts : [];
    const closedInHandshake = attempts.length > 0 && attempts.every((a) => a.error instanceof ConnectionError && a.error.code === 'TLS_HANDSHAKE_FAILED' && a.error.retriable);
    this.tlsClosedRounds = closedInHandshake ? this.tlsClosedRounds + 1 : 0;
    // once any connection got through, the port speaks TLS: drops now are an outage (a load balancer
    // in front of brokers that are down accepts and resets), not a misconfiguration
    if (this.tlsClosedRounds < TLS_CLOSED_ROUNDS || this.everConnected) return null;
    const first = attempts[0];
    return new ConnectionError(
      first.address,
      'TLS_HANDSHAKE_FAILED',
      `TLS handshake failed: every bootstrap server closed the connection during the TLS handshake, ${this.tlsClosedRounds} rounds in a row; the port is probably a plaintext listener (drop ssl, or use the broker's TLS port)`,
      err,
      false,
    );
  }

  connectionDelay(nodeId: number): number {
    return this.pool.connectionDelay(nodeId);
  }

  connectedNodeIds(): number[] {
    const ids = this.pool.connectedNodeIds();
    // the bootstrap connection is a connection to a broker too (metadata flows over it until the
    // first send opens node connections): count the node it reaches, once metadata names it
    const b = this.bootstrap;
    if (b !== null && b.isConnected) {
      const node = this.pool.nodes().find((n) => formatAddress(n.host, n.port) === b.address);
      if (node !== undefined && !ids.includes(node.nodeId)) ids.push(node.nodeId);
    }
    return ids;
  }

  nodeError(nodeId: number): KafkaError | null {
    return this.pool.nodeError(nodeId);
  }

  /** Closes every connection and aborts the attempts under way, bootstrap included, destroying their sockets. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    await Promise.allSettled([this.pool.close(), this.bootstrap?.close(), this.bootstrapping]);
    this.bootstrap = null;
  }
}
