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
 * producer run one after another (see transaction()).
 *
 * Lifecycle: connects in onModuleInit (fail-fast or background, as configured); keeps accepting
 * sends through onModuleDestroy and beforeApplicationShutdown (other providers send their last
 * records there); in onApplicationShutdown completes every accepted record (bounded by
 * shutdownTimeoutMs) and closes.
 */
export class KafkaProducerService<K = any, V = any> implements OnModuleInit, OnApplicationShutdown {
  /** The underlying producer (what the ClientProxy's unwrap() returns too). */
  readonly producer: KafkaProducer<K, V>;
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
  /** The producer's transactionalId; null for a producer without transactions. */
  readonly transactionalId: string | null;
  private readonly logger: Logger;
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
    this.producer = new KafkaProducer<K, V>({
      ...(producer as object),
      interceptors: interceptors.length > 0 ? interceptors : undefined,
      logger: producer.logger ?? nestLogger(this.logger),
    } as ConstructorParameters<typeof KafkaProducer<K, V>>[0]);
    const p = this.producer;
    this.transactionalId = p.config.transactionalId;
    this.deliveries$ = new Observable<KafkaDeliveryReport>((subscriber) => p.onDelivery((r) => subscriber.next(toDeliveryReport(r)))).pipe(share());
    this.errors$ = new Observable<KafkaDeliveryError>((subscriber) => p.onDeliveryError((f) => subscriber.next(toDeliveryError(f)))).pipe(share());
    this.status$ = new Observable<ProducerState>((subscriber) => {
      subscriber.next(p.health().state);
      return p.onStateChange((change) => subscriber.next(change.state));
    }).pipe(distinctUntilChanged());
    this.transactionEnds$ = new Observable<TransactionEnd>((subscriber) => p.onTransactionEnd((end) => subscriber.next(end))).pipe(share());
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
   * call order: concurrent callers wait in the producer's queue, so keep slow work out of fn.
   */
  transaction<T>(fn: (tx: KafkaTransaction<K, V>) => Promise<T> | T): Promise<T> {
    if (this.transactionalId === null) {
      return Promise.reject(new InvalidTransactionStateError('transaction', 'UNINITIALIZED', `producer '${this.name}' has no transactionalId (set it in KafkaProducerModule.forRoot)`));
    }
    return runInTransaction<T, K, V>(
      this,
      (body) =>
        this.producer.transaction((tx) =>
          body({
            transactionalId: tx.transactionalId,
            send: (record) => tx.send(record).then(toDeliveryReport),
            sendOffsets: (offsets, group) => tx.sendOffsets(offsets, group),
          }),
        ),
      fn,
    );
  }

  /** The transaction of this producer open in the current call chain, or null. */
  get currentTransaction(): KafkaTransaction<K, V> | null {
    return currentTransaction(this);
  }

  /** The transaction state machine's state (Java's names); UNINITIALIZED for a producer without transactionalId. */
  get transactionState(): TransactionState {
    return this.producer.transactionState;
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
    return this.producer.flush();
  }

  metrics(): ProducerMetricsSnapshot {
    return this.producer.metrics();
  }

  health(): ProducerHealthSnapshot {
    return this.producer.health();
  }

  /** The state as a plain value (status$ is its stream). */
  get state(): ProducerState {
    return this.producer.health().state;
  }

  async onModuleInit(): Promise<void> {
    if (this.connectMode === 'background') {
      // boot never waits; status$ says when the producer is ready
      this.producer.connect().catch((e: Error) => this.logger.warn(`background connect failed (the producer keeps retrying): ${e.message}`));
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
      await this.producer.close({ timeoutMs: 0 });
      throw new KafkaProducerConnectException(this.name, this.connectTimeoutMs, e);
    } finally {
      clearTimeout(timer);
    }
  }

  private async connectAndInit(): Promise<void> {
    await this.producer.connect();
    if (this.transactionalId !== null && this.producer.transactionState === 'UNINITIALIZED') await this.producer.initTransactions();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.producer.close({ timeoutMs: this.shutdownTimeoutMs });
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

