// The producer's view of the network; the definitions live in the network layer with their implementation.
export type { BrokerAddress, ClusterConnections, ConnectionEvent, NodeConnection } from '../network/cluster-connections';
