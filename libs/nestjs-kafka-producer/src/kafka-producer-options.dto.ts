import { IsArray, IsBoolean, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, Min, ValidateBy, ValidateIf, type ValidationOptions } from 'class-validator';

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^:\s,]+):\d{1,5}$/;
const INT32_MAX = 2147483647;
/** Each member is a producer with its own connections and buffer memory: a bound keeps a typo from opening thousands. */
export const MAX_POOL_SIZE = 64;

/**
 * The shapes of the module options, checked with class-validator at boot (sync and async paths).
 * Only plain values are copied into it: functions and class instances the user passes (serializers,
 * partitioner, interceptors, TLS material, SASL providers) are never copied, transformed or printed. Rules
 * that span fields (deliveryTimeoutMs ≥ lingerMs + requestTimeoutMs, ...) and unknown keys are the
 * producer's own checks, run right after this one.
 */
const PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
const MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const;
const TLS_VERSIONS = ['TLSv1.2', 'TLSv1.3'];

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isBinary = (v: unknown): boolean => ArrayBuffer.isView(v) || v instanceof ArrayBuffer;
const isPemOrBinary = (v: unknown): boolean => typeof v === 'string' || isBinary(v);
const oneOrMany = (v: unknown, each: (item: unknown) => boolean): boolean => (Array.isArray(v) ? v.every(each) : each(v));
// key and pfx entries may carry their own passphrase: { pem, passphrase } / { buf, passphrase }
const withPassphrase = (field: 'pem' | 'buf') => (v: unknown) =>
  isPemOrBinary(v) || (isRecord(v) && isPemOrBinary(v[field]) && (v.passphrase === undefined || typeof v.passphrase === 'string'));

/**
 * The fields of `ssl` whose type is checked here, each with the message it gets. Node checks them too
 * (in tls.createSecureContext), but its messages quote the value ("Received type number (123456)"),
 * and a numeric passphrase from a YAML file is exactly the value that must not reach a boot log.
 */
const SSL_FIELDS: ReadonlyArray<readonly [string, (v: unknown) => boolean, string]> = [
  ['ca', (v) => oneOrMany(v, isPemOrBinary), 'must be a PEM string or Buffer, or an array of them'],
  ['cert', (v) => oneOrMany(v, isPemOrBinary), 'must be a PEM string or Buffer, or an array of them'],
  ['key', (v) => oneOrMany(v, withPassphrase('pem')), 'must be a PEM string or Buffer, or an array of them (or of { pem, passphrase })'],
  ['pfx', (v) => oneOrMany(v, withPassphrase('buf')), 'must be a Buffer or string, or an array of them (or of { buf, passphrase })'],
  ['crl', (v) => oneOrMany(v, isPemOrBinary), 'must be a PEM string or Buffer, or an array of them'],
  ['passphrase', (v) => typeof v === 'string', 'must be a string'],
  ['minVersion', (v) => TLS_VERSIONS.includes(v as string), 'must be TLSv1.2 or TLSv1.3 (older versions are not safe)'],
  ['maxVersion', (v) => TLS_VERSIONS.includes(v as string), 'must be TLSv1.2 or TLSv1.3 (older versions are not safe)'],
  ['rejectUnauthorized', (v) => typeof v === 'boolean', 'must be a boolean'],
  ['servername', (v) => typeof v === 'string', 'must be a DNS name'],
  ['checkServerIdentity', (v) => typeof v === 'function', 'must be a function'],
  ['ciphers', (v) => typeof v === 'string', 'must be a string (an OpenSSL cipher list)'],
  ['secureContext', (v) => isRecord(v), 'must be a tls.SecureContext (from tls.createSecureContext)'],
];

/** The first thing wrong with `ssl`, as a message naming the field; null when its shape is fine. */
function sslProblem(value: unknown): string | null {
  if (value === true || value === false) return null;
  if (!isRecord(value)) return 'ssl must be true, false or an object of tls.connect options (ca, cert, key, passphrase, ...)';
  for (const [field, valid, message] of SSL_FIELDS) {
    if (value[field] !== undefined && !valid(value[field])) return `ssl.${field} ${message}`;
  }
  return null;
}

/** The first thing wrong with `sasl`'s shape; what each mechanism takes is the producer's check. */
function saslProblem(value: unknown): string | null {
  if (!isRecord(value)) return 'sasl must be an object { mechanism, username, password } or { mechanism: "OAUTHBEARER", oauthBearerProvider }';
  const mechanism = value.mechanism;
  if (typeof mechanism !== 'string' || !(MECHANISMS as readonly string[]).includes(mechanism.toUpperCase())) return `sasl.mechanism must be one of ${MECHANISMS.join(', ')}`;
  return null;
}

/**
 * A check that reads the value where it is: nothing is copied or transformed, so Buffers, key
 * objects and secure contexts reach the producer as the very objects the user passed. The message
 * comes from the same function and never quotes the value.
 */
function Shape(problemOf: (value: unknown) => string | null, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'kafkaShape',
      validator: {
        validate: (value: unknown) => problemOf(value) === null,
        defaultMessage: (args) => problemOf(args?.value) ?? '',
      },
    },
    options,
  );
}

export class KafkaProducerModuleOptionsDto {
  @ValidateIf((o: KafkaProducerModuleOptionsDto) => typeof o.bootstrapServers !== 'string')
  @IsArray({ message: 'bootstrapServers must be a list of host:port (or one comma-separated string)' })
  @IsString({ each: true, message: 'bootstrapServers entries must be host:port strings' })
  @Matches(HOST_PORT, { each: true, message: 'bootstrapServers entries must be host:port' })
  bootstrapServers!: string | string[];

  @IsOptional() @IsString() clientId?: string;
  @IsOptional() @IsIn(['all', -1, 0, 1, '-1', '0', '1'], { message: 'acks must be one of all, -1, 0, 1' }) acks?: string | number;
  @IsOptional() @IsInt() @Min(0) @Max(INT32_MAX) lingerMs?: number;
  @IsOptional() @IsInt() @Min(0) @Max(INT32_MAX) batchSize?: number;
  @IsOptional() @IsInt() @Min(1) @Max(INT32_MAX) batchMaxSize?: number;
  @IsOptional() @IsInt() @Min(0) bufferMemory?: number;
  @IsOptional() @IsInt() @Min(0) maxBlockMs?: number;
  @IsOptional() @IsInt() @Min(0) @Max(INT32_MAX) requestTimeoutMs?: number;
  @IsOptional() @IsInt() @Min(0) @Max(INT32_MAX) deliveryTimeoutMs?: number;
  @IsOptional() @IsInt() @Min(0) @Max(INT32_MAX) retries?: number;
  @IsOptional() @IsInt() @Min(0) retryBackoffMs?: number;
  @IsOptional() @IsInt() @Min(0) retryBackoffMaxMs?: number;
  @IsOptional() @IsInt() @Min(0) reconnectBackoffMs?: number;
  @IsOptional() @IsInt() @Min(0) reconnectBackoffMaxMs?: number;
  @IsOptional() @IsInt() @Min(0) socketConnectionSetupTimeoutMs?: number;
  @IsOptional() @IsInt() @Min(0) socketConnectionSetupTimeoutMaxMs?: number;
  @IsOptional() @IsInt() @Min(1) @Max(INT32_MAX) maxInFlightRequestsPerConnection?: number;
  @IsOptional() @IsInt() @Min(0) @Max(INT32_MAX) maxRequestSize?: number;
  @IsOptional() @IsIn(['none', 'gzip', 'snappy', 'lz4', 'zstd']) compressionType?: string;
  @IsOptional() @IsInt() @Min(0) metadataMaxAgeMs?: number;
  @IsOptional() @IsInt() @Min(5000) metadataMaxIdleMs?: number;
  @IsOptional() @IsBoolean() partitionerAdaptivePartitioningEnable?: boolean;
  @IsOptional() @IsInt() @Min(0) partitionerAvailabilityTimeoutMs?: number;
  @IsOptional() @IsBoolean() partitionerIgnoreKeys?: boolean;
  @IsOptional() @IsBoolean() allowAutoCreateTopics?: boolean;
  // idempotence and transactions; the rules between them and acks/retries/in-flight are the producer's own
  @IsOptional() @IsBoolean({ message: 'enableIdempotence must be a boolean' }) enableIdempotence?: boolean;
  @IsOptional()
  @IsString({ message: 'transactionalId must be a non-empty string' })
  @IsNotEmpty({ message: 'transactionalId must be a non-empty string' })
  transactionalId?: string;
  @IsOptional() @IsInt() @Min(1) @Max(INT32_MAX) transactionTimeoutMs?: number;
  @IsOptional()
  @IsString({ message: 'transactionalIdPrefix must be a non-empty string' })
  @IsNotEmpty({ message: 'transactionalIdPrefix must be a non-empty string' })
  transactionalIdPrefix?: string;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_POOL_SIZE) transactionPoolSize?: number;

  @IsOptional() @IsIn(['fail-fast', 'background'], { message: "connect must be 'fail-fast' or 'background'" }) connect?: string;
  @IsOptional() @IsInt() @Min(0) connectTimeoutMs?: number;
  @IsOptional() @IsInt() @Min(0) shutdownTimeoutMs?: number;
  @IsOptional() @IsArray({ message: 'interceptors must be an array of interceptor classes or objects' }) interceptors?: unknown[];

  // security: shapes only, case-insensitive like the producer; which fields each mechanism takes, the
  // protocol's consistency with ssl/sasl and whether the key material loads are the producer's checks
  @IsOptional()
  @IsString({ message: `securityProtocol must be one of ${PROTOCOLS.join(', ')}` })
  @Matches(new RegExp(`^(${PROTOCOLS.join('|')})$`, 'i'), { message: `securityProtocol must be one of ${PROTOCOLS.join(', ')}` })
  securityProtocol?: string;
  @IsOptional() @Shape(sslProblem) ssl?: unknown;
  @IsOptional() @Shape(saslProblem) sasl?: unknown;
}
