export { KafkaProducer } from './kafka-producer';
export type { KafkaProducerOptions, CloseOptions, ProducerHealthSnapshot, Transaction } from './kafka-producer';
export type { ProducerConfig, ResolvedProducerConfig, Acks, CompressionType } from './producer-config';
export { PRODUCER_DEFAULTS, producerConfigProblems } from './producer-config';
export type {
  OAuthBearerProvider,
  OAuthBearerToken,
  ResolvedSecurity,
  SaslConfig,
  SaslCredentials,
  SaslCredentialsProvider,
  SaslMechanismName,
  SecurityProtocol,
  TlsOptions,
} from './security-config';
export type { ProducerRecord, RecordMetadata, SendCallback, HeaderValue, ProducerRecordHeaders } from './types';
export type { Serializer } from './serializers';
export { bufferSerializer, stringSerializer, jsonSerializer, bytesOrStringSerializer } from './serializers';
export type { ProducerInterceptor } from './interceptors';
export type { Partitioner, PartitionerCluster } from './partitioner';
export { murmur2, partitionForKey } from './partitioner';
export * from './errors';
export { BufferExhaustedError } from './buffer-pool';
export type { ProducerMetricsSnapshot } from './metrics';
export type { Logger, LogContext, LogLevel } from './logger';
export { consoleLogger, silentLogger } from './logger';
export type { ProducerState, DeliveryReport, DeliveryFailure, ProducerStateChange, TransactionEnd, Unsubscribe } from './producer-events';
export type { TransactionState, TransactionOffset, ConsumerGroupMetadata } from './transaction-manager';
export { DIAGNOSTICS_CHANNELS } from './producer-events';
