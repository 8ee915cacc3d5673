import type { ProducerInterceptor } from './interceptors';
import type { Partitioner } from './partitioner';
import { ProducerConfigError } from './errors';
import type { Logger } from './logger';
import type { Serializer } from './serializers';
import { resolveSecurity, type ResolvedSecurity, type SaslConfig, type SecurityPlugins, type SecurityProtocol, type TlsOptions } from './security-config';

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
  /**
   * How large a partition's batches may grow while its queue backs up (in the spirit of KIP-782's
   * `batch.max.size`): a new batch opened while the partition's previous one is still waiting to be sent
   * gets twice that one's size, up to this; once the sender keeps up, batches are `batchSize` again.
   * Default 1048576 (1 MiB, the default `maxRequestSize`), at most `maxRequestSize`; equal to `batchSize`
   * turns the growth off (Java's behaviour).
   */
  batchMaxSize?: number;
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
  /**
   * Exactly-once writes per partition (producer id + sequence numbers). Default true, as in Java 3.0+;
   * left unset, a conflicting acks/retries/in-flight setting turns it off instead of failing.
   */
  enableIdempotence?: boolean;
  /** Makes the producer transactional (requires idempotence); stable across restarts of the same app instance. */
  transactionalId?: string;
  /** How long the coordinator lets a transaction stay open before aborting it. Default 60000. */
  transactionTimeoutMs?: number;
  /**
   * TLS to every broker: true for the system's trusted CAs, or tls.connect options (ca, cert and key
   * for mutual TLS, passphrase, minVersion, ...). The broker's certificate and host name are always
   * verified unless `rejectUnauthorized: false` says otherwise.
   */
  ssl?: boolean | TlsOptions;
  /** SASL authentication on every connection, right after ApiVersions. */
  sasl?: SaslConfig;
  /** Java's security.protocol; derived from ssl and sasl when not given, checked against them when given. */
  securityProtocol?: SecurityProtocol;
}

/** What `new KafkaProducer(options)` takes: the configuration plus serializers and a logger. */
export interface KafkaProducerOptions<K, V> extends ProducerConfig<K, V> {
  keySerializer?: Serializer<K>;
  valueSerializer?: Serializer<V>;
  /** Where the producer's own messages go; default: warnings and errors to stderr. */
  logger?: Logger;
}

/** Every key resolved to a concrete value; what the rest of the producer reads. */
export interface ResolvedProducerConfig {
  readonly bootstrapServers: readonly string[];
  readonly clientId: string;
  readonly acks: -1 | 0 | 1;
  readonly lingerMs: number;
  readonly batchSize: number;
  /** At least batchSize. */
  readonly batchMaxSize: number;
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
  readonly enableIdempotence: boolean;
  /** Why idempotence is off although it was not switched off explicitly; null otherwise. */
  readonly idempotenceDisabledReason: string | null;
  readonly transactionalId: string | null;
  readonly transactionTimeoutMs: number;
  readonly securityProtocol: SecurityProtocol;
  /** Whether TLS is on and verifies the broker; the key material itself is never kept here. */
  readonly ssl: ResolvedSecurity['ssl'];
  /** The mechanism and username; the password or token is never kept here. */
  readonly sasl: ResolvedSecurity['sasl'];
}

export const PRODUCER_DEFAULTS = {
  clientId: '',
  acks: -1,
  lingerMs: 5,
  batchSize: 16384,
  batchMaxSize: 1048576,
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
  enableIdempotence: true,
  transactionTimeoutMs: 60000,
} as const satisfies Omit<ResolvedProducerConfig, 'bootstrapServers' | 'idempotenceDisabledReason' | 'transactionalId' | 'securityProtocol' | 'ssl' | 'sasl'>;

/**
 * Every key the producer's constructor accepts, with the Java producer's name for it (null: no Java
 * counterpart). The `satisfies` clause makes a key added to the options but not here a compile error,
 * so the unknown-key check below can never reject a real option. `logger` is listed ahead of its type.
 */
const KNOWN_KEYS = {
  bootstrapServers: 'bootstrap.servers',
  clientId: 'client.id',
  acks: 'acks',
  lingerMs: 'linger.ms',
  batchSize: 'batch.size',
  batchMaxSize: 'batch.max.size',
  bufferMemory: 'buffer.memory',
  maxBlockMs: 'max.block.ms',
  requestTimeoutMs: 'request.timeout.ms',
  deliveryTimeoutMs: 'delivery.timeout.ms',
  retries: 'retries',
  retryBackoffMs: 'retry.backoff.ms',
  retryBackoffMaxMs: 'retry.backoff.max.ms',
  reconnectBackoffMs: 'reconnect.backoff.ms',
  reconnectBackoffMaxMs: 'reconnect.backoff.max.ms',
  socketConnectionSetupTimeoutMs: 'socket.connection.setup.timeout.ms',
  socketConnectionSetupTimeoutMaxMs: 'socket.connection.setup.timeout.max.ms',
  maxInFlightRequestsPerConnection: 'max.in.flight.requests.per.connection',
  maxRequestSize: 'max.request.size',
  compressionType: 'compression.type',
  compressionGzipLevel: 'compression.gzip.level',
  compressionLz4Level: 'compression.lz4.level',
  compressionZstdLevel: 'compression.zstd.level',
  metadataMaxAgeMs: 'metadata.max.age.ms',
  metadataMaxIdleMs: 'metadata.max.idle.ms',
  partitionerAdaptivePartitioningEnable: 'partitioner.adaptive.partitioning.enable',
  partitionerAvailabilityTimeoutMs: 'partitioner.availability.timeout.ms',
  partitionerIgnoreKeys: 'partitioner.ignore.keys',
  partitioner: 'partitioner.class',
  interceptors: 'interceptor.classes',
  allowAutoCreateTopics: 'allow.auto.create.topics',
  enableIdempotence: 'enable.idempotence',
  transactionalId: 'transactional.id',
  transactionTimeoutMs: 'transaction.timeout.ms',
  ssl: null,
  sasl: null,
  securityProtocol: 'security.protocol',
  keySerializer: 'key.serializer',
  valueSerializer: 'value.serializer',
  logger: null,
} as const satisfies Record<keyof KafkaProducerOptions<unknown, unknown> | 'logger', string | null>;

type KnownKey = keyof typeof KNOWN_KEYS;

const isKnownKey = (key: string): key is KnownKey => Object.prototype.hasOwnProperty.call(KNOWN_KEYS, key);

/** Candidates for "did you mean": each of our names under its own spelling and under Java's. */
const SUGGESTIONS: ReadonlyArray<{ readonly name: KnownKey; readonly spellings: readonly string[] }> = Object.entries(KNOWN_KEYS).map(([name, java]) => ({ name: name as KnownKey, spellings: java === null ? [fold(name)] : [fold(name), fold(java)] }));

/** Case and separators do not distinguish keys for suggestions: lingerMS, linger.ms and LINGER_MS all fold to lingerms. */
function fold(key: string): string {
  return key.toLowerCase().replace(/[._\-\s]/g, '');
}

/** Optimal string alignment distance: Levenshtein plus adjacent transpositions, the commonest typo. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

function nearestKey(key: string): KnownKey | undefined {
  const folded = fold(key);
  // Short names tolerate one slip, longer ones a few: beyond that a suggestion is a guess.
  const tolerance = folded.length < 5 ? 1 : folded.length < 12 ? 2 : 3;
  let best: { name: KnownKey; distance: number } | undefined;
  for (const { name, spellings } of SUGGESTIONS) {
    for (const spelling of spellings) {
      const distance = editDistance(folded, spelling);
      if (distance <= tolerance && (best === undefined || distance < best.distance)) best = { name, distance };
    }
  }
  return best?.name;
}

/**
 * The problems with keys the producer does not take. Only key names are ever printed: the value of a
 * mistyped key may be a password or a private key.
 */
function keyProblems(config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(config)) {
    if (isKnownKey(key)) continue;
    // Java's flat ssl.* / sasl.* keys are fields of one object here
    const family = /^(ssl|sasl)(?:[._A-Z]|$)/i.exec(key)?.[1]?.toLowerCase() as 'ssl' | 'sasl' | undefined;
    const nearest = family ?? nearestKey(key);
    const name = JSON.stringify(key);
    if (nearest === undefined) problems.push(`unknown configuration key ${name}`);
    else if (family !== undefined) problems.push(`unknown configuration key ${name} (did you mean ${family}? it takes an object, e.g. ${family === 'ssl' ? '{ ca, cert, key }' : '{ mechanism, username, password }'})`);
    else problems.push(`unknown configuration key ${name} (did you mean ${nearest}?)`);
  }
  return problems;
}

const LOGGER_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

function loggerProblems(logger: unknown): string[] {
  if (logger === undefined) return [];
  if (logger === null || typeof logger !== 'object') return ['logger must be an object with optional debug, info, warn and error functions'];
  const levels = logger as Record<string, unknown>;
  return LOGGER_LEVELS.filter((level) => levels[level] !== undefined && typeof levels[level] !== 'function').map((level) => `logger.${level} must be a function`);
}

const INT_MAX = 2147483647;
let clientCounter = 0;

/**
 * Applies defaults and the Java producer's cross-field rules. Collects every problem before throwing,
 * so a user fixes a configuration in one round rather than one field at a time.
 */
const validPort = (port: number): boolean => port >= 1 && port <= 65535;

export function resolveProducerConfig(config: ProducerConfig<any, any>): ResolvedProducerConfig {
  if (config === null || typeof config !== 'object') throw new ProducerConfigError(['config must be an object']);
  const given = config as unknown as Record<string, unknown>;
  const problems: string[] = [...keyProblems(given), ...loggerProblems(given.logger)];

  const servers = typeof config.bootstrapServers === 'string' ? config.bootstrapServers.split(',') : config.bootstrapServers;
  const bootstrapServers = Array.isArray(servers) ? servers.map((s) => String(s).trim()).filter((s) => s.length > 0) : [];
  if (bootstrapServers.length === 0) problems.push('bootstrapServers must list at least one host:port');
  for (const s of bootstrapServers) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(s)) problems.push(`bootstrapServers entry "${s}" is not host:port`);
    // else every send would wait maxBlockMs for a connection that can never be made
    else if (!validPort(Number(s.slice(s.lastIndexOf(':') + 1)))) problems.push(`bootstrapServers entry "${s}" has port ${s.slice(s.lastIndexOf(':') + 1)}, outside 1-65535`);
  }

  const int = (key: keyof typeof PRODUCER_DEFAULTS, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = given[key];
    if (raw === undefined) return PRODUCER_DEFAULTS[key] as number;
    if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < min || raw > max) {
      problems.push(`${key} must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)}`);
      return PRODUCER_DEFAULTS[key] as number;
    }
    return raw;
  };
  const bool = (key: keyof typeof PRODUCER_DEFAULTS): boolean => {
    const raw = given[key];
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

  const retries = int('retries', 0, INT_MAX);
  const maxInFlight = int('maxInFlightRequestsPerConnection', 1, INT_MAX);
  const idempotence = resolveIdempotence(given, acks, retries, maxInFlight, problems);
  const transactionalId = given.transactionalId;
  if (transactionalId !== undefined && (typeof transactionalId !== 'string' || transactionalId.length === 0)) problems.push('transactionalId must be a non-empty string');

  const batchSize = Math.max(int('batchSize', 0, INT_MAX), 1);
  const maxRequestSize = int('maxRequestSize', 0, INT_MAX);
  const security = resolveSecurity(given, problems);
  const resolved: ResolvedProducerConfig = {
    bootstrapServers,
    clientId: config.clientId && config.clientId.length > 0 ? config.clientId : `producer-${++clientCounter}`,
    acks,
    lingerMs,
    batchSize,
    batchMaxSize: resolveBatchMaxSize(given, batchSize, maxRequestSize, problems),
    bufferMemory: int('bufferMemory', 0),
    maxBlockMs: int('maxBlockMs', 0),
    requestTimeoutMs,
    deliveryTimeoutMs,
    retries,
    retryBackoffMs,
    retryBackoffMaxMs,
    reconnectBackoffMs,
    reconnectBackoffMaxMs,
    socketConnectionSetupTimeoutMs: int('socketConnectionSetupTimeoutMs', 0),
    socketConnectionSetupTimeoutMaxMs: int('socketConnectionSetupTimeoutMaxMs', 0),
    maxInFlightRequestsPerConnection: maxInFlight,
    maxRequestSize,
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
    enableIdempotence: idempotence.enabled,
    idempotenceDisabledReason: idempotence.disabledReason,
    transactionalId: typeof transactionalId === 'string' && transactionalId.length > 0 ? transactionalId : null,
    transactionTimeoutMs: int('transactionTimeoutMs', 1, INT_MAX),
    ...security.resolved,
  };
  if (problems.length > 0) throw new ProducerConfigError(problems);
  const frozen = Object.freeze(resolved);
  SECURITY_PLUGINS.set(frozen, security.plugins);
  return frozen;
}

/**
 * The TLS socket factory and SASL authenticator built for a resolved configuration. Kept beside the
 * configuration rather than in it, so that the producer's public `config` (printed, inspected,
 * serialised) holds no function whose closure holds a secret, and cannot be forged into one.
 */
const SECURITY_PLUGINS = new WeakMap<ResolvedProducerConfig, SecurityPlugins>();

export function securityPlugins(config: ResolvedProducerConfig): SecurityPlugins {
  return SECURITY_PLUGINS.get(config) ?? {};
}

/**
 * Growth is capped by what one request may carry. Not given, the default adapts (never below batchSize,
 * never above maxRequestSize), so that `batchSize: 1048576` alone keeps working; given, it must fit.
 */
function resolveBatchMaxSize(given: Record<string, unknown>, batchSize: number, maxRequestSize: number, problems: string[]): number {
  const value = given.batchMaxSize;
  if (value === undefined) return Math.max(batchSize, Math.min(PRODUCER_DEFAULTS.batchMaxSize, maxRequestSize));
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    problems.push(`batchMaxSize must be a positive integer, got ${JSON.stringify(value)}`);
    return batchSize;
  }
  if (value < batchSize) problems.push(`batchMaxSize (${value}) must be at least batchSize (${batchSize})`);
  if (value > maxRequestSize) problems.push(`batchMaxSize (${value}) must be at most maxRequestSize (${maxRequestSize}): a batch must fit in one request`);
  return Math.max(value, batchSize);
}

/**
 * Java's rules: idempotence needs acks=all, retries > 0 and at most 5 requests in flight. Asked for
 * explicitly (or implied by a transactionalId), a conflict is an error; by default, the conflicting
 * setting wins and idempotence is off, so acks 0 and 1 keep working.
 */
function resolveIdempotence(given: Record<string, unknown>, acks: -1 | 0 | 1, retries: number, maxInFlight: number, problems: string[]): { enabled: boolean; disabledReason: string | null } {
  const explicit = given.enableIdempotence;
  if (explicit !== undefined && typeof explicit !== 'boolean') {
    problems.push(`enableIdempotence must be a boolean, got ${JSON.stringify(explicit)}`);
    return { enabled: false, disabledReason: null };
  }
  const transactional = given.transactionalId !== undefined;
  if (explicit === false) {
    if (transactional) problems.push('transactionalId requires enableIdempotence: a transactional producer is idempotent (remove enableIdempotence: false)');
    return { enabled: false, disabledReason: null };
  }
  const conflicts: string[] = [];
  if (acks !== -1) conflicts.push(`acks must be all (got ${acks})`);
  if (retries === 0) conflicts.push('retries must be greater than 0');
  if (maxInFlight > 5) conflicts.push(`maxInFlightRequestsPerConnection must be at most 5 (got ${maxInFlight})`);
  if (conflicts.length === 0) return { enabled: true, disabledReason: null };
  if (explicit === true || transactional) {
    const why = transactional ? 'a transactional producer (transactionalId) is idempotent' : 'enableIdempotence is true';
    for (const c of conflicts) problems.push(`${c}: ${why}`);
    return { enabled: false, disabledReason: null };
  }
  return { enabled: false, disabledReason: conflicts.join('; ') };
}

/**
 * Every problem with a configuration, without building a producer (empty when it is valid); for
 * layers that validate options up front, such as the Nest module at boot.
 */
export function producerConfigProblems(config: KafkaProducerOptions<any, any>): string[] {
  try {
    resolveProducerConfig(config);
    return [];
  } catch (e) {
    if (e instanceof ProducerConfigError) return [...e.problems];
    throw e;
  }
}
