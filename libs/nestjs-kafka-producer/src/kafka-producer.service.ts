import {
  InvalidTransactionStateError,
  KafkaProducer,
  type Logger as ProducerLoggerTarget,
  type ProducerHealthSnapshot,
  type ProducerInterceptor,
  type ProducerMetricsSnapshot,
  type ProducerRecord,
  type ProducerState,
  type TransactionEnd,
  type TransactionState,
} from '@app/kafka-producer';
import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { defer, distinctUntilChanged, filter, from, Observable, share } from 'rxjs';
import { toDeliveryError, toDeliveryReport, type KafkaDeliveryError, type KafkaDeliveryReport } from './delivery-report';
import { KafkaProducerConnectException } from './kafka-producer.exceptions';
import { splitModuleOptions, type KafkaProducerModuleOptions } from './kafka-producer.options';
import { pickMember, poolHealth, poolMetrics } from './transactional/producer-pool';
import { currentTransaction, runInTransaction, sendInTransaction, type KafkaTransaction } from './transactional/transaction-context';

/**
 * The Nest-side face of one producer: `send()` resolves with a JSON-safe delivery report, `send$()` is
 * its cold Observable twin, and `deliveries$` / `errors$` / `status$` stream what the producer reports.
 * The streams are hot and shared; they subscribe to the producer only while someone listens, so an
 * app that never uses them pays nothing per record. A record's failure is an `errors$` value, never
 * an error notification: the streams do not end while the producer lives.
 *
 * Transactions (a producer with `transactionalId`): `transaction(fn)` runs fn in one Kafka
 * transaction, and every send() of this producer in fn's async call chain belongs to it; send()
 * outside any transaction is refused with KafkaTransactionRequiredException. Transactions of one
 * producer run one after another (see transaction()); with `transactionalIdPrefix` and
 * `transactionPoolSize` the service holds a pool of transactional producers and runs that many at once.
 *
 * Lifecycle: connects in onModuleInit (fail-fast or background, as configured); keeps accepting
 * sends through onModuleDestroy and beforeApplicationShutdown (other providers send their last
 * records there); in onApplicationShutdown completes every accepted record (bounded by
 * shutdownTimeoutMs) and closes.
 */
export class KafkaProducerService<K = any, V = any> implements OnModuleInit, OnApplicationShutdown {
  /** The underlying producer (what the ClientProxy's unwrap() returns too); with a pool, its first member. */
  readonly producer: KafkaProducer<K, V>;
  /** Every underlying producer: `[producer]`, or the pool's members in id order. */
  readonly producers: ReadonlyArray<KafkaProducer<K, V>>;
  /** Every acknowledged record, from subscription on. */
  readonly deliveries$: Observable<KafkaDeliveryReport>;
  /** Every record that failed for good, with its error. */
  readonly errors$: Observable<KafkaDeliveryError>;
  /** The producer's state; a late subscriber gets the current one first. */
  readonly status$: Observable<ProducerState>;
  /** Every commit and abort of this producer's transactions, from subscription on. */
  readonly transactionEnds$: Observable<TransactionEnd>;
  /** Whether the producer was given a valueSerializer (integrations then hand values over unencoded). */
  readonly hasValueSerializer: boolean;
  /** The producer's transactionalId, or a pool's transactionalIdPrefix; null for a producer without transactions. */
  readonly transactionalId: string | null;
  private readonly logger: Logger;
  /** Transactions running or queued per member (pool load balancing). */
  private readonly load: number[];
  private readonly connectMode: 'fail-fast' | 'background';
  private readonly connectTimeoutMs: number;
  private readonly shutdownTimeoutMs: number;

  constructor(
    readonly name: string,
    options: KafkaProducerModuleOptions<K, V>,
    interceptors: ReadonlyArray<ProducerInterceptor<K, V>> = [],
  ) {
    this.logger = new Logger(name === 'default' ? 'KafkaProducer' : `KafkaProducer:${name}`);
    const { own, producer } = splitModuleOptions(options);
    this.hasValueSerializer = producer.valueSerializer !== undefined;
    this.connectMode = own.connect;
    this.connectTimeoutMs = own.connectTimeoutMs;
    this.shutdownTimeoutMs = own.shutdownTimeoutMs;
    const build = (overrides: { transactionalId?: string; clientId?: string }): KafkaProducer<K, V> =>
      new KafkaProducer<K, V>({
        ...(producer as object),
        ...overrides,
        interceptors: interceptors.length > 0 ? interceptors : undefined,
        logger: producer.logger ?? nestLogger(this.logger),
      } as ConstructorParameters<typeof KafkaProducer<K, V>>[0]);
    const prefix = own.transactionalIdPrefix;
    // pool members differ only in their ids; distinct clientIds keep their log lines and broker quotas apart
    this.producers =
      prefix === null
        ? [build({})]
        : Array.from({ length: own.transactionPoolSize }, (_, i) => build({ transactionalId: `${prefix}-${i}`, ...(producer.clientId ? { clientId: `${producer.clientId}-${i}` } : {}) }));
    this.producer = this.producers[0];
    this.load = this.producers.map(() => 0);
    this.transactionalId = prefix ?? this.producer.config.transactionalId;
    const members = this.producers;
    const onAll = (subscribe: (p: KafkaProducer<K, V>) => () => void): (() => void) => {
      const offs = members.map(subscribe);
      return () => offs.forEach((off) => off());
    };
    this.deliveries$ = new Observable<KafkaDeliveryReport>((subscriber) => onAll((p) => p.onDelivery((r) => subscriber.next(toDeliveryReport(r))))).pipe(share());
    this.errors$ = new Observable<KafkaDeliveryError>((subscriber) => onAll((p) => p.onDeliveryError((f) => subscriber.next(toDeliveryError(f))))).pipe(share());
    this.status$ = new Observable<ProducerState>((subscriber) => {
      subscriber.next(this.state);
      // one producer: its own change; a pool: the pool's state after any member moved
      return onAll((p) => p.onStateChange((change) => subscriber.next(members.length === 1 ? change.state : this.state)));
    }).pipe(distinctUntilChanged());
    this.transactionEnds$ = new Observable<TransactionEnd>((subscriber) => onAll((p) => p.onTransactionEnd((end) => subscriber.next(end)))).pipe(share());
  }

  /**
   * Sends a record; resolves once the broker acknowledged it (per acks), rejects with a typed KafkaError.
   * On a transactional producer the record goes into the transaction open in this call chain
   * (@Transactional, transaction()); without one the call is refused with KafkaTransactionRequiredException.
   */
  send(record: ProducerRecord<K, V>): Promise<KafkaDeliveryReport> {
    if (this.transactionalId !== null) return sendInTransaction(this, record);
    return this.producer.send(record).then(toDeliveryReport);
  }

  /**
   * Runs fn inside one Kafka transaction and commits when it resolves (returning its result), or aborts
   * when it throws (rethrowing the error); every send() of this producer in fn's async call chain, and
   * `tx.send()`, belong to it. Called inside an open transaction of this producer, fn joins that one;
   * if a joined fn throws, the whole transaction aborts even when its caller catches the error
   * (KafkaTransactionRollbackOnlyException). Transactions of one producer run one after another, in
   * call order: concurrent callers wait in the producer's queue, so keep slow work out of fn. A pool
   * gives each new transaction to the member with the fewest running or queued (fenced members skipped).
   */
  transaction<T>(fn: (tx: KafkaTransaction<K, V>) => Promise<T> | T): Promise<T> {
    if (this.transactionalId === null) {
      return Promise.reject(new InvalidTransactionStateError('transaction', 'UNINITIALIZED', `producer '${this.name}' has no transactionalId (set it in KafkaProducerModule.forRoot)`));
    }
    return runInTransaction<T, K, V>(
      this,
      (body) => {
        // chosen only when a new transaction starts: a joining call stays on its transaction's member
        const i = this.producers.length === 1 ? 0 : pickMember(this.load, (m) => this.producers[m].transactionState !== 'FATAL_ERROR');
        this.load[i]++;
        return this.producers[i]
          .transaction((tx) =>
            body({
              transactionalId: tx.transactionalId,
              send: (record) => tx.send(record).then(toDeliveryReport),
              sendOffsets: (offsets, group) => tx.sendOffsets(offsets, group),
            }),
          )
          .finally(() => this.load[i]--);
      },
      fn,
    );
  }

  /** The transaction of this producer open in the current call chain, or null. */
  get currentTransaction(): KafkaTransaction<K, V> | null {
    return currentTransaction(this);
  }

  /** The transaction state machine's state (Java's names); UNINITIALIZED for a producer without transactionalId; a pool's worst member's. */
  get transactionState(): TransactionState {
    return this.producers.length === 1 ? this.producer.transactionState : (this.health().transaction?.state ?? 'UNINITIALIZED');
  }

  /** The cold variant of send(): nothing is sent before subscription; emits the report, then completes. */
  send$(record: ProducerRecord<K, V>): Observable<KafkaDeliveryReport> {
    return defer(() => from(this.send(record)));
  }

  /** Acknowledged records of one topic. */
  deliveriesFor(topic: string): Observable<KafkaDeliveryReport> {
    return this.deliveries$.pipe(filter((r) => r.topic === topic));
  }

  /** Failed records of one topic. */
  errorsFor(topic: string): Observable<KafkaDeliveryError> {
    return this.errors$.pipe(filter((e) => e.topic === topic));
  }

  /** Resolves once every record sent before the call has completed. */
  flush(): Promise<void> {
    return this.producers.length === 1 ? this.producer.flush() : Promise.all(this.producers.map((p) => p.flush())).then(() => undefined);
  }

  /** The producer's metrics; a pool's summed (totals, rates), maxed (maxima) or averaged (averages) over its members. */
  metrics(): ProducerMetricsSnapshot {
    return this.producers.length === 1 ? this.producer.metrics() : poolMetrics(this.producers.map((p) => p.metrics()));
  }

  /** The producer's health snapshot; a pool's is its worst member's state, error and transaction, with figures summed (memberHealth() has each). */
  health(): ProducerHealthSnapshot {
    return this.producers.length === 1 ? this.producer.health() : poolHealth(this.memberHealth());
  }

  /** One snapshot per underlying producer (one entry unless this is a pool). */
  memberHealth(): ProducerHealthSnapshot[] {
    return this.producers.map((p) => p.health());
  }

  /** The state as a plain value (status$ is its stream). */
  get state(): ProducerState {
    return this.health().state;
  }

  async onModuleInit(): Promise<void> {
    if (this.connectMode === 'background') {
      // boot never waits; status$ says when the producer is ready
      for (const p of this.producers) p.connect().catch((e: Error) => this.logger.warn(`background connect failed (the producer keeps retrying): ${e.message}`));
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), this.connectTimeoutMs);
    });
    try {
      // a transactional producer also fences older instances with its transactionalId before the app serves
      await Promise.race([this.connectAndInit(), timeout]);
    } catch (e) {
      await Promise.all(this.producers.map((p) => p.close({ timeoutMs: 0 })));
      throw new KafkaProducerConnectException(this.name, this.connectTimeoutMs, e);
    } finally {
      clearTimeout(timer);
    }
  }

  private async connectAndInit(): Promise<void> {
    await Promise.all(
      this.producers.map(async (p) => {
        await p.connect();
        if (p.config.transactionalId !== null && p.transactionState === 'UNINITIALIZED') await p.initTransactions();
      }),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.producers.map((p) => p.close({ timeoutMs: this.shutdownTimeoutMs })));
  }
}

/** The producer's log lines through Nest's Logger (so they follow the app's logger and levels). */
function nestLogger(logger: Logger): ProducerLoggerTarget {
  const text = (message: string, context?: Record<string, unknown>): string => {
    if (context === undefined) return message;
    const parts = Object.entries(context)
      .filter(([k, v]) => v !== undefined && k !== 'clientId')
      .map(([k, v]) => `${k}=${v instanceof Error ? v.message : String(v)}`);
    return parts.length === 0 ? message : `${message} (${parts.join(', ')})`;
  };
  return {
    debug: (m, c) => logger.debug(text(m, c)),
    info: (m, c) => logger.log(text(m, c)),
    warn: (m, c) => logger.warn(text(m, c)),
    error: (m, c) => logger.error(text(m, c)),
  };
}

