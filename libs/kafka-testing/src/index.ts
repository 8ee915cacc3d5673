/**
 * @app/kafka-testing: real Apache Kafka clusters for tests and development (never imported by the
 * product). See libs/kafka-testing/README.md.
 */
export { TopicCommandAdmin } from './admin';
export type { TopicAdmin, TopicSpec } from './admin';
export { KafkaClusterBase } from './cluster-base';
export { containerCluster } from './container-cluster';
export { dumpLogSegmentFiles, parseDumpLogSegments } from './dump-log-segments';
export type { DumpedBatch, DumpedRecord, DumpedSegment } from './dump-log-segments';
export { ExternalKafkaCluster, externalCluster } from './external-cluster';
export { FaultProxy } from './fault-proxy';
export type {
  ChurnOptions,
  CorruptOptions,
  DirectionOptions,
  DropResponseOptions,
  FaultProxyCounts,
  FaultProxyEvent,
  FaultProxyEventKind,
  FaultProxyOptions,
  FaultRule,
  FaultRuleKind,
  FrameDirection,
  FrameMatchOptions,
  OversizedFrameOptions,
  SwapOptions,
  TruncateOptions,
  WrongCorrelationIdOptions,
} from './fault-proxy';
export { javaBinary, runJavaTool, runJavaToolOrThrow } from './java-tools';
export type { JavaToolOptions } from './java-tools';
export { cleanupStaleClusters, freePorts, KafkaCluster, killClusterProcesses } from './kafka-cluster';
export type { ClusterState, ExtraListener, KafkaClusterOptions, KafkaNodeInfo, NodeState } from './kafka-cluster';
export { ensureKafkaJars } from './maven-jars';
export type { FetchOptions, KafkaJars } from './maven-jars';
export { probeApiVersions, probeMetadata } from './probe';
export type { ApiVersionsResult, MetadataBroker, MetadataPartition, MetadataResult, MetadataTopic } from './probe';
export { encodeReferenceRecords, produceWithJava } from './reference-producer';
export type { ReferenceMetadata, ReferenceProduceOptions, ReferenceRecord } from './reference-producer';
export type { RunResult } from './run-process';
export { DEFAULT_SECURE_USERS, jaasQuote, listenerMetadata, parseAclList, propertiesText, saslProbe, scramFormatArgs, SecureKafkaCluster, unsecuredJwt } from './secure-cluster';
export type {
  AclEntry,
  AclOperation,
  AclSpec,
  SaslCredentials,
  SaslMechanismName,
  SaslProbeResult,
  ScramMechanismName,
  SecureKafkaClusterOptions,
  SecureListenerName,
  SecureListeners,
  SecureUsers,
} from './secure-cluster';
export { createTestPki, PKI_DIR_PREFIX, PKI_STORE_PASSWORD } from './test-pki';
export type { TestCert, TestCertName, TestPki } from './test-pki';
export { getTestCluster, sharedCluster, SHARED_BOOTSTRAP_ENV, SHARED_STATE_ENV, startSharedCluster, stopSharedCluster, testClusterKind } from './test-cluster';
export type { SharedClusterState, TestClusterKind } from './test-cluster';
export { consumeWithJava, consumeWithJavaDetailed, parseRecordDump } from './verifier';
export type { ConsumedRecord, ConsumeOptions, ConsumeResult } from './verifier';
export { DEFAULT_KAFKA_VERSION, versionProfile } from './versions';
export type { KafkaVersionProfile } from './versions';
export { checkDelivery, checkTransactions, deliveryAnomalies } from './delivery-checker';
export type { DeliveryCheck, SendOutcome, TransactionCheck, TransactionOutcome } from './delivery-checker';
