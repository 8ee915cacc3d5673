import type { KafkaApi } from '../protocol/messages/kafka-api';
import type { Connection } from '../network/connection';

/** A connected broker with the API versions negotiated for it. */
export interface NodeConnection {
  readonly connection: Connection;
  /** Highest version both sides support; throws an UnsupportedVersionError if there is none. */
  versionFor(api: KafkaApi<any, any>): number;
}

/** Broker addresses as metadata reports them. */
export interface BrokerAddress {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

/**
 * How the producer reaches brokers: a connection per node for produce traffic, plus any live
 * connection (or the bootstrap list) for metadata. Implemented over the network layer's pool.
 */
export interface ClusterConnections {
  /** A connected node, or null while it is connecting or backing off (`onReady` fires when it may be retried). */
  ready(node: BrokerAddress): NodeConnection | null;
  /** Any usable connection: a connected node, or a new one through the bootstrap list. */
  any(): Promise<NodeConnection>;
  /** The brokers metadata lists; connections to nodes no longer listed are closed. */
  updateNodes(nodes: readonly BrokerAddress[]): void;
  /** Node ids with an open connection, for health snapshots. */
  connectedNodeIds(): number[];
  close(): Promise<void>;
}
