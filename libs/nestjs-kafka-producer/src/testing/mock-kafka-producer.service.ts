import { KafkaError, type ProducerHealthSnapshot, type ProducerMetricsSnapshot, type ProducerRecord, type ProducerState } from '@app/kafka-producer';
import { BehaviorSubject, defer, distinctUntilChanged, filter, from, Observable, Subject } from 'rxjs';
import type { KafkaDeliveryError, KafkaDeliveryReport } from '../delivery-report';
import type { KafkaProducerService } from '../kafka-producer.service';

/** What a scripted rule decides for one record: an Error fails it, true fails it with MockSendFailure, anything else lets it through. */
export type MockSendRule<K = any, V = any> = (record: ProducerRecord<K, V>) => Error | boolean | null | undefined;

/** The error of a record failed by a rule that returned `true`. */
export class MockSendFailure extends KafkaError {
  constructor(topic: string) {
    super(`MockKafkaProducerService: scripted failure for a record to ${topic}`, { code: 'MOCK_SEND_FAILURE' });
  }
}

/** The surface the mock shares with the real service; the compiler keeps the two in step. */
type ProducerSurface = Pick<
  KafkaProducerService,
  'name' | 'send' | 'send$' | 'flush' | 'metrics' | 'health' | 'state' | 'deliveries$' | 'errors$' | 'status$' | 'deliveriesFor' | 'errorsFor'
>;

/**
 * A KafkaProducerService double for unit tests: no network, no producer. Every record given to send()
 * (or to a subscribed send$()) lands in `sent`; it is acknowledged with the next offset of its
 * topic-partition, or fails as scripted (`failNext`, `failWhen`), after an optional `delayMs`. The
 * streams behave like the real ones: deliveries$ and errors$ are hot and never end on a failure,
 * status$ replays the current state.
 *
 * It lives in the testing entry point only and is registered nowhere by default.
 */
export class MockKafkaProducerService<K = any, V = any> implements ProducerSurface {
  /** Every record handed to send(), in call order, failed ones included. */
  readonly sent: ProducerRecord<K, V>[] = [];
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

  constructor(readonly name: string = 'default') {
    this.deliveries$ = this.deliveriesSubject.asObservable();
    this.errors$ = this.errorsSubject.asObservable();
    this.status$ = this.stateSubject.pipe(distinctUntilChanged());
  }

  /** There is no underlying KafkaProducer; code under test that needs one wants the real module. */
  get producer(): never {
    throw new Error('MockKafkaProducerService has no underlying KafkaProducer (use KafkaProducerModule for that)');
  }

  get state(): ProducerState {
    return this.stateSubject.value;
  }

  send(record: ProducerRecord<K, V>): Promise<KafkaDeliveryReport> {
    this.sent.push(record);
    const error = this.decide(record);
    const settle = async (): Promise<KafkaDeliveryReport> => {
      if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
      else await Promise.resolve();
      const partition = record.partition ?? 0;
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

  /** Forgets records, reports, offsets and scripted failures; state and health back to healthy. */
  reset(): void {
    this.sent.length = 0;
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
      lastError: null,
      producerId: null,
      transaction: null,
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
