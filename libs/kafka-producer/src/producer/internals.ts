import type { ClusterConnections, ConnectionEvent } from './cluster-connections';
import type { ResolvedProducerConfig } from './producer-config';

/**
 * Parts of a producer that tests may substitute (not part of the public API): the way it reaches
 * brokers, so Sender and KafkaProducer behaviour can be specified against a scripted cluster.
 */
export interface ProducerInternals {
  /** Builds the cluster connections; `onChange` must be called when a connection opens or closes. */
  connections?: (config: ResolvedProducerConfig, onChange: (event?: ConnectionEvent) => void) => ClusterConnections;
}
