import type { ProducerInterceptor } from './interceptors';
import type { Partitioner } from './partitioner';
import { ProducerConfigError } from './errors';

export type Acks = 'all' | -1 | 0 | 1 | '-1' | '0' | '1';
export type CompressionType = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/**
 * Producer configuration: the Java producer's keys in camelCase, with Kafka 4.x defaults.
 * Only `bootstrapServers` is required.
 */
export interface ProducerConfig<K = unknown, V = unknown> {
  bootstrapServers: string | readonly string[];
  clientId?: string;
  acks?: Acks;
  lingerMs?: number;
  batchSize?: number;
  bufferMemory?: number;
  maxBlockMs?: number;
  requestTimeoutMs?: number;
  deliveryTimeoutMs?: number;
  retries?: number;
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
  reconnectBackoffMs?: number;
  reconnectBackoffMaxMs?: number;
  socketConnectionSetupTimeoutMs?: number;
  socketConnectionSetupTimeoutMaxMs?: number;
  maxInFlightRequestsPerConnection?: number;
  maxRequestSize?: number;
  compressionType?: CompressionType;
  compressionGzipLevel?: number;
  compressionLz4Level?: number;
  compressionZstdLevel?: number;
  metadataMaxAgeMs?: number;
  metadataMaxIdleMs?: number;
  partitionerAdaptivePartitioningEnable?: boolean;
  partitionerAvailabilityTimeoutMs?: number;
  partitionerIgnoreKeys?: boolean;
  partitioner?: Partitioner;
  interceptors?: ReadonlyArray<ProducerInterceptor<K, V>>;
  /** Whether a Metadata request may create a missing topic (Java: allow.auto.create.topics). */
  allowAutoCreateTopics?: boolean;
}

/** Every key resolved to a concrete value; what the rest of the producer reads. */
export interface ResolvedProducerConfig {
  readonly bootstrapServers: readonly string[];
  readonly clientId: string;
  readonly acks: -1 | 0 | 1;
  readonly lingerMs: number;
  readonly batchSize: number;
  readonly bufferMemory: number;
  readonly maxBlockMs: number;
  readonly requestTimeoutMs: number;
  readonly deliveryTimeoutMs: number;
  readonly retries: number;
  readonly retryBackoffMs: number;
  readonly retryBackoffMaxMs: number;
  readonly reconnectBackoffMs: number;
  readonly reconnectBackoffMaxMs: number;
  readonly socketConnectionSetupTimeoutMs: number;
  readonly socketConnectionSetupTimeoutMaxMs: number;
  readonly maxInFlightRequestsPerConnection: number;
  readonly maxRequestSize: number;
  readonly compressionType: CompressionType;
  readonly compressionGzipLevel: number;
  readonly compressionLz4Level: number;
  readonly compressionZstdLevel: number;
  readonly metadataMaxAgeMs: number;
  readonly metadataMaxIdleMs: number;
  readonly partitionerAdaptivePartitioningEnable: boolean;
  readonly partitionerAvailabilityTimeoutMs: number;
  readonly partitionerIgnoreKeys: boolean;
  readonly allowAutoCreateTopics: boolean;
}

export const PRODUCER_DEFAULTS = {
  clientId: '',
  acks: -1,
  lingerMs: 5,
  batchSize: 16384,
  bufferMemory: 33554432,
  maxBlockMs: 60000,
  requestTimeoutMs: 30000,
  deliveryTimeoutMs: 120000,
  retries: 2147483647,
  retryBackoffMs: 100,
  retryBackoffMaxMs: 1000,
  reconnectBackoffMs: 50,
  reconnectBackoffMaxMs: 1000,
  socketConnectionSetupTimeoutMs: 10000,
  socketConnectionSetupTimeoutMaxMs: 30000,
  maxInFlightRequestsPerConnection: 5,
  maxRequestSize: 1048576,
  compressionType: 'none',
  compressionGzipLevel: -1,
  compressionLz4Level: 9,
  compressionZstdLevel: 3,
  metadataMaxAgeMs: 300000,
  metadataMaxIdleMs: 300000,
  partitionerAdaptivePartitioningEnable: true,
  partitionerAvailabilityTimeoutMs: 0,
  partitionerIgnoreKeys: false,
  allowAutoCreateTopics: true,
} as const satisfies Omit<ResolvedProducerConfig, 'bootstrapServers'>;

const INT_MAX = 2147483647;
let clientCounter = 0;

/**
 * Applies defaults and the Java producer's cross-field rules. Collects every problem before throwing,
 * so a user fixes a configuration in one round rather than one field at a time.
 */
export function resolveProducerConfig(config: ProducerConfig<any, any>): ResolvedProducerConfig {
  const problems: string[] = [];
  if (config === null || typeof config !== 'object') throw new ProducerConfigError(['config must be an object']);

  const servers = typeof config.bootstrapServers === 'string' ? config.bootstrapServers.split(',') : config.bootstrapServers;
  const bootstrapServers = Array.isArray(servers) ? servers.map((s) => String(s).trim()).filter((s) => s.length > 0) : [];
  if (bootstrapServers.length === 0) problems.push('bootstrapServers must list at least one host:port');
  for (const s of bootstrapServers) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(s)) problems.push(`bootstrapServers entry "${s}" is not host:port`);
  }

  const int = (key: keyof typeof PRODUCER_DEFAULTS, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = (config as unknown as Record<string, unknown>)[key];
    if (raw === undefined) return PRODUCER_DEFAULTS[key] as number;
    if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < min || raw > max) {
      problems.push(`${key} must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)}`);
      return PRODUCER_DEFAULTS[key] as number;
    }
    return raw;
  };
  const bool = (key: keyof typeof PRODUCER_DEFAULTS): boolean => {
    const raw = (config as unknown as Record<string, unknown>)[key];
    if (raw === undefined) return PRODUCER_DEFAULTS[key] as boolean;
    if (typeof raw !== 'boolean') {
      problems.push(`${key} must be a boolean, got ${JSON.stringify(raw)}`);
      return PRODUCER_DEFAULTS[key] as boolean;
    }
    return raw;
  };

  let acks: -1 | 0 | 1 = -1;
  if (config.acks !== undefined) {
    const a = String(config.acks);
    if (a === 'all' || a === '-1') acks = -1;
    else if (a === '0') acks = 0;
    else if (a === '1') acks = 1;
    else problems.push(`acks must be one of all, -1, 0, 1; got ${JSON.stringify(config.acks)}`);
  }

  const compressionType = config.compressionType ?? PRODUCER_DEFAULTS.compressionType;
  if (!['none', 'gzip', 'snappy', 'lz4', 'zstd'].includes(compressionType)) {
    problems.push(`compressionType must be one of none, gzip, snappy, lz4, zstd; got ${JSON.stringify(compressionType)}`);
  }
  const gzipLevel = int('compressionGzipLevel', -1, 9);
  if (gzipLevel === 0) problems.push('compressionGzipLevel must be -1 (default) or 1..9, got 0');

  if (config.clientId !== undefined && typeof config.clientId !== 'string') problems.push('clientId must be a string');

  const lingerMs = Math.min(int('lingerMs', 0), INT_MAX);
  const requestTimeoutMs = int('requestTimeoutMs', 0, INT_MAX);
  let deliveryTimeoutMs = int('deliveryTimeoutMs', 0, INT_MAX);
  if (deliveryTimeoutMs < lingerMs + requestTimeoutMs) {
    // Java: an explicit value this small is an error; the default is raised silently.
    if (config.deliveryTimeoutMs !== undefined) {
      problems.push(`deliveryTimeoutMs (${deliveryTimeoutMs}) must be at least lingerMs + requestTimeoutMs (${lingerMs + requestTimeoutMs})`);
    } else {
      deliveryTimeoutMs = lingerMs + requestTimeoutMs;
    }
  }

  let retryBackoffMs = int('retryBackoffMs', 0);
  const retryBackoffMaxMs = int('retryBackoffMaxMs', 0);
  if (retryBackoffMs > retryBackoffMaxMs) retryBackoffMs = retryBackoffMaxMs;
  const reconnectBackoffMs = int('reconnectBackoffMs', 0);
  const reconnectBackoffMaxMs = config.reconnectBackoffMaxMs === undefined && config.reconnectBackoffMs !== undefined ? Math.max(reconnectBackoffMs, PRODUCER_DEFAULTS.reconnectBackoffMaxMs) : int('reconnectBackoffMaxMs', 0);

  if (config.partitioner !== undefined && (config.partitioner === null || typeof config.partitioner.partition !== 'function')) {
    problems.push('partitioner must be an object with a partition(topic, key, value, cluster) method');
  }
  if (config.interceptors !== undefined && !Array.isArray(config.interceptors)) problems.push('interceptors must be an array');

  const resolved: ResolvedProducerConfig = {
    bootstrapServers,
    clientId: config.clientId && config.clientId.length > 0 ? config.clientId : `producer-${++clientCounter}`,
    acks,
    lingerMs,
    batchSize: Math.max(int('batchSize', 0, INT_MAX), 1),
    bufferMemory: int('bufferMemory', 0),
    maxBlockMs: int('maxBlockMs', 0),
    requestTimeoutMs,
    deliveryTimeoutMs,
    retries: int('retries', 0, INT_MAX),
    retryBackoffMs,
    retryBackoffMaxMs,
    reconnectBackoffMs,
    reconnectBackoffMaxMs,
    socketConnectionSetupTimeoutMs: int('socketConnectionSetupTimeoutMs', 0),
    socketConnectionSetupTimeoutMaxMs: int('socketConnectionSetupTimeoutMaxMs', 0),
    maxInFlightRequestsPerConnection: int('maxInFlightRequestsPerConnection', 1, INT_MAX),
    maxRequestSize: int('maxRequestSize', 0, INT_MAX),
    compressionType,
    compressionGzipLevel: gzipLevel,
    compressionLz4Level: int('compressionLz4Level', 1, 17),
    compressionZstdLevel: int('compressionZstdLevel', -131072, 22),
    metadataMaxAgeMs: int('metadataMaxAgeMs', 0),
    metadataMaxIdleMs: int('metadataMaxIdleMs', 5000),
    partitionerAdaptivePartitioningEnable: bool('partitionerAdaptivePartitioningEnable'),
    partitionerAvailabilityTimeoutMs: int('partitionerAvailabilityTimeoutMs', 0),
    partitionerIgnoreKeys: bool('partitionerIgnoreKeys'),
    allowAutoCreateTopics: bool('allowAutoCreateTopics'),
  };
  if (problems.length > 0) throw new ProducerConfigError(problems);
  return Object.freeze(resolved);
}
