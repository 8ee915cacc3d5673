import {
  InvalidTransactionStateError,
  KafkaError,
  ProducerFencedError,
  TransactionAbortableError,
  TransactionAbortedError,
  type ConsumerGroupMetadata,
  type ProducerHealthSnapshot,
  type ProducerMetricsSnapshot,
  type ProducerRecord,
  type ProducerState,
  type TransactionEnd,
  type TransactionOffset,
  type TransactionState,
} from '@app/kafka-producer';
import { BehaviorSubject, defer, distinctUntilChanged, filter, from, Observable, Subject } from 'rxjs';
import type { KafkaDeliveryError, KafkaDeliveryReport } from '../delivery-report';
import type { KafkaProducerService } from '../kafka-producer.service';
import { currentTransaction, runInTransaction, sendInTransaction, type KafkaTransaction } from '../transactional/transaction-context';

/** What a scripted rule decides for one record: an Error fails it, true fails it with MockSendFailure, anything else lets it through. */
export type MockSendRule<K = any, V = any> = (record: ProducerRecord<K, V>) => Error | boolean | null | undefined;

/** The error of a record failed by a rule that returned `true`. */
export class MockSendFailure extends KafkaError {
  constructor(topic: string) {
    super(`MockKafkaProducerService: scripted failure for a record to ${topic}`, { code: 'MOCK_SEND_FAILURE' });
  }
}

/** One transaction the mock ran, in start order. */
export interface MockTransaction<K = any, V = any> {
  readonly transactionalId: string;
  /** Every record sent in it, in call order (failed ones included). */
  readonly records: ProducerRecord<K, V>[];
  /** Offsets given to tx.sendOffsets, with their group id. */
  readonly offsets: Array<{ groupId: string; offsets: readonly TransactionOffset[] }>;
  outcome: 'open' | 'committed' | 'aborted';
  /** Why it aborted (the function's error, a failed record, a scripted commit failure); null otherwise. */
  error: unknown;
}

export interface MockKafkaProducerOptions {
  /** Makes the double transactional, as `transactionalId` makes the real producer: send() then needs a transaction. */
  transactionalId?: string;
}

/** The surface the mock shares with the real service; the compiler keeps the two in step. */
type ProducerSurface = Pick<
  KafkaProducerService,
  | 'name'
  | 'send'
  | 'send$'
  | 'flush'
  | 'metrics'
  | 'health'
  | 'state'
  | 'deliveries$'
  | 'errors$'
  | 'status$'
  | 'deliveriesFor'
  | 'errorsFor'
  | 'transaction'
  | 'transactionalId'
  | 'transactionState'
  | 'transactionEnds$'
  | 'currentTransaction'
>;

/**
 * A KafkaProducerService double for unit tests: no network, no producer. Every record given to send()
 * (or to a subscribed send$()) lands in `sent`; it is acknowledged with the next offset of its
 * topic-partition, or fails as scripted (`failNext`, `failWhen`), after an optional `delayMs`. The
 * streams behave like the real ones: deliveries$ and errors$ are hot and never end on a failure,
 * status$ replays the current state.
 *
 * Transactions (`new MockKafkaProducerService(name, { transactionalId })`, or the testing module's
 * `transactionalId`): transaction() and @Transactional methods work as with the real service, through
 * the same code that scopes sends to the open transaction (so send() outside one is refused the same
 * way, nested calls join, a leaked send is refused). A record sent in a transaction is acknowledged at
 * once (deliveries$, `delivered`), as the real producer acknowledges it when the broker wrote it; it
 * enters `sent` only when its transaction commits, so `sent` is what a read_committed consumer would
 * read. Records of aborted transactions are in `aborted`; `transactions` lists every transaction
 * with its records and outcome. A record still unsettled (delayMs) when its transaction aborts fails
 * with TransactionAbortedError; a failed record makes the commit fail with TransactionAbortableError
 * and abort, as in the real producer. `failNextCommit(error)` scripts a commit failure;
 * a ProducerFencedError there also moves the double to FATAL_ERROR and state 'fatal'.
 *
 * It lives in the testing entry point only and is registered nowhere by default.
 */
export class MockKafkaProducerService<K = any, V = any> implements ProducerSurface {
  /**
   * Every record handed to send(), in call order, failed ones included; a record sent in a
   * transaction only once the transaction committed (see `aborted` and `transactions`).
   */
  readonly sent: ProducerRecord<K, V>[] = [];
  /** Records of aborted transactions, never in `sent`. */
  readonly aborted: ProducerRecord<K, V>[] = [];
  /** Every transaction, in start order. */
  readonly transactions: MockTransaction<K, V>[] = [];
  readonly transactionEnds$: Observable<TransactionEnd>;
  readonly transactionalId: string | null;
  /** The reports of acknowledged records, in acknowledgement order. */
  readonly delivered: KafkaDeliveryReport[] = [];
  /** The records that failed, with their errors. */
  readonly failed: KafkaDeliveryError[] = [];
  readonly deliveries$: Observable<KafkaDeliveryReport>;
  readonly errors$: Observable<KafkaDeliveryError>;
  readonly status$: Observable<ProducerState>;
  /** Milliseconds each send waits before it settles (0: on the next microtask). */
  delayMs = 0;
  private readonly deliveriesSubject = new Subject<KafkaDeliveryReport>();
  private readonly errorsSubject = new Subject<KafkaDeliveryError>();
  private readonly stateSubject = new BehaviorSubject<ProducerState>('ready');
  private readonly failures: Error[] = [];
  private readonly rules = new Set<MockSendRule<K, V>>();
  private readonly offsets = new Map<string, bigint>();
  private readonly pending = new Set<Promise<unknown>>();
  private healthOverrides: Partial<ProducerHealthSnapshot> = {};
  private readonly transactionEndsSubject = new Subject<TransactionEnd>();
  private readonly commitFailures: Error[] = [];
  private txState: TransactionState = 'UNINITIALIZED';
  private fatalError: Error | null = null;
  /** The tail of the transaction queue: one at a time, as the real producer runs them. */
  private transactionQueue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly name: string = 'default',
    options: MockKafkaProducerOptions = {},
  ) {
    this.deliveries$ = this.deliveriesSubject.asObservable();
    this.errors$ = this.errorsSubject.asObservable();
    this.status$ = this.stateSubject.pipe(distinctUntilChanged());
    this.transactionEnds$ = this.transactionEndsSubject.asObservable();
    this.transactionalId = options.transactionalId ?? null;
  }

  /** There is no underlying KafkaProducer; code under test that needs one wants the real module. */
  get producer(): never {
    throw new Error('MockKafkaProducerService has no underlying KafkaProducer (use KafkaProducerModule for that)');
  }

  get state(): ProducerState {
    return this.stateSubject.value;
  }

  send(record: ProducerRecord<K, V>): Promise<KafkaDeliveryReport> {
    if (this.transactionalId !== null) return sendInTransaction(this, record);
    this.sent.push(record);
    return this.deliver(record, null);
  }

  private deliver(record: ProducerRecord<K, V>, txn: MockTransaction<K, V> | null): Promise<KafkaDeliveryReport> {
    const error = this.decide(record);
    const settle = async (): Promise<KafkaDeliveryReport> => {
      if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
      else await Promise.resolve();
      const partition = record.partition ?? 0;
      if (txn?.outcome === 'aborted') {
        const aborted = new TransactionAbortedError(`MockKafkaProducerService: the transaction of this record to ${record.topic} was aborted`);
        this.failed.push({ topic: record.topic, partition, error: aborted });
        this.errorsSubject.next({ topic: record.topic, partition, error: aborted });
        throw aborted;
      }
      if (error !== null) {
        const failure: KafkaDeliveryError = { topic: record.topic, partition, error };
        this.failed.push(failure);
        this.errorsSubject.next(failure);
        throw error;
      }
      const report = this.acknowledge(record, partition);
      this.delivered.push(report);
      this.deliveriesSubject.next(report);
      return report;
    };
    const promise = settle();
    const tracked = promise.catch(() => undefined).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
    return promise;
  }

  send$(record: ProducerRecord<K, V>): Observable<KafkaDeliveryReport> {
    return defer(() => from(this.send(record)));
  }

  /** As KafkaProducerService.transaction(): one at a time, commit on resolve, abort and rethrow on throw, nested calls join. */
  transaction<T>(fn: (tx: KafkaTransaction<K, V>) => Promise<T> | T): Promise<T> {
    const transactionalId = this.transactionalId;
    if (transactionalId === null) {
      return Promise.reject(new InvalidTransactionStateError('transaction', 'UNINITIALIZED', `producer '${this.name}' has no transactionalId (MockKafkaProducerService: pass { transactionalId })`));
    }
    return runInTransaction<T, K, V>(
      this,
      (body) => {
        const run = (): Promise<T> => this.runMockTransaction(transactionalId, body);
        const next = this.transactionQueue.then(run, run);
        this.transactionQueue = next.catch(() => undefined);
        return next;
      },
      fn,
    );
  }

  get currentTransaction(): KafkaTransaction<K, V> | null {
    return currentTransaction(this);
  }

  get transactionState(): TransactionState {
    return this.txState;
  }

  /** The next `times` commits fail with `error` (the transaction then aborts; a ProducerFencedError makes the double fatal). */
  failNextCommit(error: Error, times = 1): this {
    for (let i = 0; i < times; i++) this.commitFailures.push(error);
    return this;
  }

  private async runMockTransaction<T>(transactionalId: string, body: (raw: { transactionalId: string; send: (r: ProducerRecord<K, V>) => Promise<KafkaDeliveryReport>; sendOffsets: (o: readonly TransactionOffset[], g: string | ConsumerGroupMetadata) => Promise<void> }) => Promise<T>): Promise<T> {
    if (this.fatalError !== null) throw this.fatalError;
    const txn: MockTransaction<K, V> = { transactionalId, records: [], offsets: [], outcome: 'open', error: null };
    this.transactions.push(txn);
    this.txState = 'IN_TRANSACTION';
    const settles: Promise<unknown>[] = [];
    let recordFailure: unknown = null;
    const end = (outcome: 'committed' | 'aborted', error: unknown): void => {
      txn.outcome = outcome;
      txn.error = error;
      if (outcome === 'committed') this.sent.push(...txn.records);
      else this.aborted.push(...txn.records);
      if (this.fatalError === null) this.txState = 'READY';
      this.transactionEndsSubject.next({ transactionalId, outcome, error: outcome === 'aborted' && error instanceof Error ? error : null });
    };
    let result: T;
    try {
      result = await body({
        transactionalId,
        send: (record) => {
          txn.records.push(record);
          const p = this.deliver(record, txn);
          settles.push(p.catch((e: unknown) => (recordFailure ??= e)));
          return p;
        },
        sendOffsets: async (offsets, group) => {
          txn.offsets.push({ groupId: typeof group === 'string' ? group : group.groupId, offsets });
        },
      });
    } catch (e) {
      end('aborted', e);
      throw e;
    }
    // the real commit waits for every record of the transaction first, and cannot commit a failed one
    this.txState = 'COMMITTING_TRANSACTION';
    await Promise.all(settles);
    const commitFailure = this.commitFailures.shift() ?? (recordFailure !== null ? new TransactionAbortableError(`cannot commit: a record of the transaction failed (${(recordFailure as Error)?.message ?? String(recordFailure)})`, recordFailure) : null);
    if (commitFailure !== null) {
      if (commitFailure instanceof ProducerFencedError) {
        this.fatalError = commitFailure;
        this.txState = 'FATAL_ERROR';
        this.setState('fatal');
      }
      end('aborted', commitFailure);
      throw commitFailure;
    }
    end('committed', null);
    return result;
  }

  deliveriesFor(topic: string): Observable<KafkaDeliveryReport> {
    return this.deliveries$.pipe(filter((r) => r.topic === topic));
  }

  errorsFor(topic: string): Observable<KafkaDeliveryError> {
    return this.errors$.pipe(filter((e) => e.topic === topic));
  }

  /** Resolves once every send made so far has settled (delays included). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** The next `times` sends fail with `error` (queued after failures scripted earlier). */
  failNext(error: Error, times = 1): this {
    for (let i = 0; i < times; i++) this.failures.push(error);
    return this;
  }

  /** A standing rule checked on every send after the failNext queue; returns a function that removes it. */
  failWhen(rule: MockSendRule<K, V>): () => void {
    this.rules.add(rule);
    return () => this.rules.delete(rule);
  }

  /** Moves status$ (and health().state) to `state`, as the real producer would on its own. */
  setState(state: ProducerState): void {
    this.stateSubject.next(state);
  }

  /** Figures health() reports on top of a healthy snapshot (e.g. `{ connectedBrokers: [] }`). */
  setHealth(overrides: Partial<ProducerHealthSnapshot>): void {
    this.healthOverrides = { ...overrides };
  }

  /** Only sent records of one topic. */
  sentTo(topic: string): ProducerRecord<K, V>[] {
    return this.sent.filter((r) => r.topic === topic);
  }

  /** Forgets records, reports, offsets, transactions and scripted failures; state and health back to healthy. */
  reset(): void {
    this.sent.length = 0;
    this.aborted.length = 0;
    this.transactions.length = 0;
    this.commitFailures.length = 0;
    this.fatalError = null;
    this.txState = 'UNINITIALIZED';
    this.delivered.length = 0;
    this.failed.length = 0;
    this.failures.length = 0;
    this.rules.clear();
    this.offsets.clear();
    this.delayMs = 0;
    this.healthOverrides = {};
    this.stateSubject.next('ready');
  }

  health(): ProducerHealthSnapshot {
    return {
      state: this.state,
      connectedBrokers: [1],
      knownBrokers: 1,
      metadataAgeMs: 0,
      queuedRecords: this.pending.size,
      queuedBytes: 0,
      waitingRecords: 0,
      bufferAvailableBytes: 33_554_432,
      bufferTotalBytes: 33_554_432,
      inFlightRequests: 0,
      producerId: null,
      transaction: this.transactionalId === null ? null : { transactionalId: this.transactionalId, state: this.txState },
      lastError: this.fatalError,
      ...this.healthOverrides,
    };
  }

  /** Totals the mock can know (records sent, failed, their sizes); rates and latencies read 0. */
  metrics(): ProducerMetricsSnapshot {
    const h = this.health();
    const bytes = this.delivered.reduce((sum, r) => sum + Math.max(r.serializedValueSize, 0) + Math.max(r.serializedKeySize, 0), 0);
    return {
      'record-send-rate': 0,
      'record-send-total': this.delivered.length,
      'records-per-request-avg': 0,
      'byte-rate': 0,
      'byte-total': bytes,
      'record-error-rate': 0,
      'record-error-total': this.failed.length,
      'record-retry-rate': 0,
      'record-retry-total': 0,
      'record-size-avg': 0,
      'record-size-max': 0,
      'batch-size-avg': 0,
      'batch-size-max': 0,
      'compression-rate-avg': 0,
      'record-queue-time-avg': 0,
      'record-queue-time-max': 0,
      'request-latency-avg': 0,
      'request-latency-max': 0,
      'produce-throttle-time-avg': 0,
      'produce-throttle-time-max': 0,
      'batch-split-rate': 0,
      'batch-split-total': 0,
      'bufferpool-wait-ratio': 0,
      'bufferpool-wait-time-ns-total': 0,
      'buffer-exhausted-rate': 0,
      'buffer-exhausted-total': 0,
      'connection-creation-rate': 0,
      'connection-creation-total': 0,
      'connection-close-rate': 0,
      'connection-close-total': 0,
      'successful-reauthentication-rate': 0,
      'successful-reauthentication-total': 0,
      'buffer-available-bytes': h.bufferAvailableBytes,
      'buffer-total-bytes': h.bufferTotalBytes,
      'requests-in-flight': h.inFlightRequests,
      'waiting-threads': h.waitingRecords,
      'metadata-age': h.metadataAgeMs / 1000,
    };
  }

  private decide(record: ProducerRecord<K, V>): Error | null {
    const queued = this.failures.shift();
    if (queued !== undefined) return queued;
    for (const rule of this.rules) {
      const verdict = rule(record);
      if (verdict instanceof Error) return verdict;
      if (verdict === true) return new MockSendFailure(record.topic);
    }
    return null;
  }

  private acknowledge(record: ProducerRecord<K, V>, partition: number): KafkaDeliveryReport {
    const key = `${record.topic}\u0000${partition}`;
    const offset = this.offsets.get(key) ?? 0n;
    this.offsets.set(key, offset + 1n);
    const timestamp = record.timestamp === undefined || record.timestamp === null ? Date.now() : Number(record.timestamp);
    return {
      topic: record.topic,
      partition,
      offset: offset.toString(),
      timestamp,
      serializedKeySize: sizeOf(record.key),
      serializedValueSize: sizeOf(record.value),
    };
  }
}

// the real sizes come from the serializers; a string or Buffer is sized as the default ones would, anything else as JSON
function sizeOf(value: unknown): number {
  if (value === null || value === undefined) return -1;
  if (Buffer.isBuffer(value)) return value.length;
  if (typeof value === 'string') return Buffer.byteLength(value);
  return Buffer.byteLength(JSON.stringify(value) ?? '');
}
