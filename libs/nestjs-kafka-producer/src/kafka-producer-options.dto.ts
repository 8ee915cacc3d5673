import { IsArray, IsBoolean, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, Min, ValidateIf } from 'class-validator';

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^:\s,]+):\d{1,5}$/;
const INT32_MAX = 2147483647;
/** Each member is a producer with its own connections and buffer memory: a bound keeps a typo from opening thousands. */
export const MAX_POOL_SIZE = 64;

/**
 * The shapes of the module options, checked with class-validator at boot (sync and async paths).
 * Only plain values are copied into it: functions and class instances the user passes (serializers,
 * partitioner, interceptors, later TLS material) are never copied, transformed or printed. Rules
 * that span fields (deliveryTimeoutMs ≥ lingerMs + requestTimeoutMs, ...) and unknown keys are the
 * producer's own checks, run right after this one.
 */
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
}
