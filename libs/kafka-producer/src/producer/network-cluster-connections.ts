import { formatAddress } from '../network/address';
import { BrokerConnection } from '../network/broker-connection';
import { connectBootstrap } from '../network/bootstrap';
import { ConnectionPool } from '../network/connection-pool';
import type { BrokerAddress, ClusterConnections, NodeConnection } from './cluster-connections';
import type { ResolvedProducerConfig } from './producer-config';

/**
 * The producer's brokers over the network layer: the pool keeps one produce connection per node
 * (reconnecting with backoff), and until some node is connected, metadata goes through a bootstrap
 * connection to the first reachable configured server.
 */
export class NetworkClusterConnections implements ClusterConnections {
  private readonly pool: ConnectionPool;
  private bootstrap: BrokerConnection | null = null;
  private bootstrapping: Promise<BrokerConnection> | null = null;
  private closed = false;

  constructor(
    private readonly config: ResolvedProducerConfig,
    onChange: () => void,
  ) {
    this.pool = new ConnectionPool([], this.connectionOptions());
    this.pool.onEvent(onChange);
  }

  private connectionOptions() {
    return {
      clientId: this.config.clientId,
      socketConnectionSetupTimeoutMs: this.config.socketConnectionSetupTimeoutMs,
      socketConnectionSetupTimeoutMaxMs: this.config.socketConnectionSetupTimeoutMaxMs,
      requestTimeoutMs: this.config.requestTimeoutMs,
      reconnectBackoffMs: this.config.reconnectBackoffMs,
      reconnectBackoffMaxMs: this.config.reconnectBackoffMaxMs,
    };
  }

  updateNodes(nodes: readonly BrokerAddress[]): void {
    this.pool.updateNodes(nodes);
  }

  ready(address: BrokerAddress): NodeConnection | null {
    const known = this.pool.node(address.nodeId);
    if (known === undefined || known.host !== address.host || known.port !== address.port) {
      this.pool.updateNodes([...this.pool.nodes().filter((n) => n.nodeId !== address.nodeId), address]);
    }
    return this.pool.ready(address.nodeId);
  }

  async any(): Promise<NodeConnection> {
    for (const node of this.pool.nodes()) {
      const c = this.pool.ready(node.nodeId);
      if (c !== null && c.isConnected) return c;
    }
    if (this.bootstrap !== null && this.bootstrap.isConnected) return this.bootstrap;
    if (this.bootstrapping === null) {
      // brokers we already know first (the configured servers may be gone), then the configured list
      const servers = [...this.pool.nodes().map((n) => formatAddress(n.host, n.port)), ...this.config.bootstrapServers];
      this.bootstrapping = connectBootstrap(servers, this.connectionOptions())
        .then(async (c) => {
          if (this.closed) {
            await c.close();
            throw new Error('the producer was closed while connecting');
          }
          this.bootstrap = c;
          return c;
        })
        .finally(() => (this.bootstrapping = null));
    }
    return this.bootstrapping;
  }

  connectedNodeIds(): number[] {
    return this.pool
      .nodes()
      .filter((n) => this.pool.connectionDelay(n.nodeId) === 0 && this.pool.lastError(n.nodeId) === null)
      .map((n) => n.nodeId);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([this.pool.close(), this.bootstrap?.close()]);
  }
}
