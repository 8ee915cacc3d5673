import type { KafkaProducerOptions, ProducerInterceptor } from '@app/kafka-producer';
import type { Type } from '@nestjs/common';
import type { KafkaProducerInterceptor } from './kafka-producer.interceptor';

/**
 * How the module connects at startup:
 * - `fail-fast`: onModuleInit waits until a broker answered (at most `connectTimeoutMs`); otherwise
 *   the application does not boot and says why.
 * - `background`: boot never waits; the connection is made in the background and `status$` reports
 *   `ready` once metadata arrived. Sends made meanwhile wait for metadata (up to maxBlockMs).
 */
export type KafkaProducerConnectMode = 'fail-fast' | 'background';

/** The keys the module takes for itself; everything else goes to the producer unchanged. */
export interface KafkaProducerModuleOwnOptions {
  /** Default `background`. */
  connect?: KafkaProducerConnectMode;
  /** The bound of a `fail-fast` connect. Default 10 000 ms. */
  connectTimeoutMs?: number;
  /** How long onApplicationShutdown waits for records to complete before failing the rest. Default 30 000 ms. */
  shutdownTimeoutMs?: number;
  /**
   * Producer interceptors: classes resolved through Nest DI (an `@Injectable()` provider of the app,
   * or instantiated by the module with its dependencies injected), or ready-made interceptor objects.
   */
  interceptors?: ReadonlyArray<Type<KafkaProducerInterceptor> | ProducerInterceptor<any, any> | KafkaProducerInterceptor>;
  /**
   * A pool of transactional producers instead of one `transactionalId`: members get the ids
   * `${prefix}-0` … `${prefix}-${transactionPoolSize - 1}` (and clientIds suffixed the same way), and
   * transaction() runs on the member with the fewest transactions running or waiting, so that many
   * transactions run at once. Like a transactionalId, the prefix must be stable per app instance and
   * unique among running ones.
   */
  transactionalIdPrefix?: string;
  /** How many producers the pool has (default 1); needs `transactionalIdPrefix`. */
  transactionPoolSize?: number;
}

/**
 * `KafkaProducerModule.forRoot(options)`: the producer's own configuration (Java names, camelCased,
 * flat) plus the module's keys.
 */
export type KafkaProducerModuleOptions<K = any, V = any> = Omit<KafkaProducerOptions<K, V>, 'interceptors'> & KafkaProducerModuleOwnOptions;

export const MODULE_OWN_KEYS = ['connect', 'connectTimeoutMs', 'shutdownTimeoutMs', 'interceptors', 'transactionalIdPrefix', 'transactionPoolSize'] as const;

export const MODULE_DEFAULTS = { connect: 'background', connectTimeoutMs: 10_000, shutdownTimeoutMs: 30_000 } as const;

export interface ResolvedModuleOwnOptions {
  connect: KafkaProducerConnectMode;
  connectTimeoutMs: number;
  shutdownTimeoutMs: number;
  interceptors: KafkaProducerModuleOwnOptions['interceptors'];
  /** null without a pool. */
  transactionalIdPrefix: string | null;
  transactionPoolSize: number;
}

/** Splits module options into the module's own keys and the producer's configuration. */
export function splitModuleOptions(options: KafkaProducerModuleOptions): { own: ResolvedModuleOwnOptions; producer: KafkaProducerOptions<any, any> } {
  const { connect, connectTimeoutMs, shutdownTimeoutMs, interceptors, transactionalIdPrefix, transactionPoolSize, ...producer } = options;
  return {
    own: {
      connect: connect ?? MODULE_DEFAULTS.connect,
      connectTimeoutMs: connectTimeoutMs ?? MODULE_DEFAULTS.connectTimeoutMs,
      shutdownTimeoutMs: shutdownTimeoutMs ?? MODULE_DEFAULTS.shutdownTimeoutMs,
      interceptors,
      transactionalIdPrefix: transactionalIdPrefix ?? null,
      transactionPoolSize: transactionPoolSize ?? 1,
    },
    producer: producer as KafkaProducerOptions<any, any>,
  };
}
