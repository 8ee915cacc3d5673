import { producerConfigProblems, type KafkaProducer, type KafkaProducerOptions, type ProducerInterceptor, type ProducerRecord, type ProducerState } from '@app/kafka-producer';
import { Logger } from '@nestjs/common';
import { ClientProxy, type ReadPacket, type Serializer, type WritePacket } from '@nestjs/microservices';
import { from, Observable } from 'rxjs';
import type { KafkaDeliveryReport } from '../delivery-report';
import { KafkaProducerService } from '../kafka-producer.service';
import { KafkaClientOptionsException, KafkaClientRequestResponseNotSupportedException } from './kafka-producer-client.exceptions';
import { KafkaRecord } from './kafka-record.builder';

/** The client's own keys; with ClientsModule everything else in `options` configures its producer. */
export interface KafkaProducerClientOwnOptions {
  /**
   * Nest's ClientProxy serializer: `serialize(value, { pattern })` gets the emitted data (or a
   * KafkaRecord's value) and its result becomes the record's value. Default: identity.
   */
  serializer?: Serializer;
  /** How long close() waits for the client's own producer to complete its records. Default 30 000 ms. */
  closeTimeoutMs?: number;
}

/**
 * `ClientsModule.register([{ name, customClass: KafkaProducerClientProxy, options }])`: the options
 * are the producer's own (flat, as in KafkaProducerModule.forRoot) plus the client's keys.
 */
export type KafkaProducerClientOptions<K = any, V = any> = KafkaProducerOptions<K, V> & KafkaProducerClientOwnOptions;

/** How KafkaProducerClientProxy.forProducer() builds a client on a producer that others share. */
export interface KafkaProducerSharedClientOptions {
  serializer?: Serializer;
  /**
   * Whether the producer has a `valueSerializer` (values then go to it untouched instead of being
   * JSON-encoded here); default: what the KafkaProducerService says (`hasValueSerializer`).
   */
  producerSerializesValues?: boolean;
  /** Used in log lines. */
  name?: string;
}

const SHARED = Symbol('KafkaProducerClientProxy.shared');
interface SharedInit extends KafkaProducerSharedClientOptions {
  service: KafkaProducerService;
}

const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;

/**
 * A Nest microservices client that produces to Kafka with this library's producer, for apps that use
 * `ClientProxy.emit()`. Compared with Nest's ClientKafka:
 * - emit() resolves to the record's JSON-safe delivery report (after the broker's acknowledgement),
 *   and a late subscriber still gets it;
 * - a failed emit nobody subscribed to is logged, never lost (and the producer's errors$ sees it);
 * - key, headers, partition and timestamp come only from a KafkaRecord (KafkaRecordBuilder), never
 *   guessed from the payload's shape;
 * - no consumer, no group join: send() (request/response) errors at once with a clear exception.
 *
 * Two ways to get one: through DI on a producer of KafkaProducerModule (KafkaProducerClientModule;
 * closing the client leaves the producer to its module), or through ClientsModule with a producer of
 * its own (built from `options`; close() completes its records and closes it).
 */
export class KafkaProducerClientProxy extends ClientProxy {
  /** The Nest-side producer this client sends with (deliveries$, errors$, status$, flush()). */
  readonly service: KafkaProducerService;
  private readonly ownsProducer: boolean;
  private readonly producerSerializesValues: boolean;
  private readonly closeTimeoutMs: number;
  private readonly logger: Logger;
  private connection: Promise<KafkaProducer> | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: KafkaProducerClientOptions = {} as KafkaProducerClientOptions) {
    super();
    const shared = (options as { [SHARED]?: SharedInit })[SHARED];
    if (shared !== undefined) {
      this.service = shared.service;
      this.ownsProducer = false;
      this.producerSerializesValues = shared.producerSerializesValues ?? shared.service.hasValueSerializer ?? false;
      this.closeTimeoutMs = 0;
      this.logger = new Logger(shared.name === undefined ? 'KafkaProducerClientProxy' : `KafkaProducerClientProxy:${shared.name}`);
      this.initializeSerializer({ serializer: shared.serializer } as never);
      return;
    }
    if (options === null || typeof options !== 'object') throw new KafkaClientOptionsException(['options must be an object of producer options']);
    const { serializer, closeTimeoutMs, interceptors, ...producer } = options;
    const problems: string[] = [];
    if (closeTimeoutMs !== undefined && (!Number.isInteger(closeTimeoutMs) || closeTimeoutMs < 0)) problems.push('closeTimeoutMs must be a non-negative integer of milliseconds');
    if (serializer !== undefined && (serializer === null || typeof serializer.serialize !== 'function')) problems.push('serializer must have a serialize(value, options) method');
    if (interceptors !== undefined && !Array.isArray(interceptors)) problems.push('interceptors must be an array of interceptor objects');
    problems.push(...producerConfigProblems(producer));
    if (problems.length > 0) throw new KafkaClientOptionsException(problems);
    this.service = new KafkaProducerService('client', producer, (interceptors ?? []) as ProducerInterceptor[]);
    this.ownsProducer = true;
    this.producerSerializesValues = producer.valueSerializer !== undefined;
    this.closeTimeoutMs = closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.logger = new Logger('KafkaProducerClientProxy');
    this.initializeSerializer({ serializer } as never);
  }

  /** A client on a producer that others use too: close() leaves it open (its module closes it). */
  static forProducer(service: KafkaProducerService, options: KafkaProducerSharedClientOptions = {}): KafkaProducerClientProxy {
    const init: SharedInit = { ...options, service };
    return new KafkaProducerClientProxy({ [SHARED]: init } as never);
  }

  private get producer(): KafkaProducer {
    return this.service.producer;
  }

  /**
   * Resolves once a broker answered. Optional: emit() does not wait for it (a send connects the
   * producer itself and waits for metadata up to maxBlockMs). Memoized, since Nest calls connect()
   * freely; a failed attempt is forgotten so the next call tries again.
   */
  connect(): Promise<KafkaProducer> {
    this.connection ??= this.producer.connect().then(
      () => this.producer,
      (e: unknown) => {
        this.connection = undefined;
        throw e;
      },
    );
    return this.connection;
  }

  /**
   * A client with its own producer completes the records it accepted (up to closeTimeoutMs) and closes
   * it; a client on a shared producer leaves it to its module. ClientsModule calls this on shutdown.
   */
  close(): Promise<void> {
    if (!this.ownsProducer) return Promise.resolve();
    this.closing ??= this.producer.close({ timeoutMs: this.closeTimeoutMs });
    return this.closing;
  }

  /** The underlying KafkaProducer. */
  unwrap<T = KafkaProducer>(): T {
    return this.producer as T;
  }

  /** The producer's state (connecting, ready, degraded, fatal, closing, closed); the current one first. */
  override get status(): Observable<ProducerState> {
    return this.service.status$;
  }

  /**
   * Sends at once (whether or not anyone subscribes). The observable emits the delivery report and
   * completes, or errors with the record's KafkaError; a late subscriber gets the same outcome. A
   * failure with nobody subscribed at that moment is logged.
   */
  override emit<TResult = KafkaDeliveryReport, TInput = unknown>(pattern: unknown, data: TInput): Observable<TResult> {
    // Nest's own answer to a nil pattern or payload (InvalidMessageException), sending nothing
    if (pattern === null || pattern === undefined || data === null || data === undefined) return super.emit(pattern, data);
    const delivery = this.dispatchEvent<TResult>({ pattern, data });
    let subscribers = 0;
    // registered before any subscriber's handler, so it sees whether someone will get the error
    delivery.catch((e: unknown) => {
      if (subscribers > 0) return;
      const error = e instanceof Error ? e : new Error(String(e));
      this.logger.error(`emit('${this.topicOf(pattern)}') failed and nobody subscribed to its result: ${error.message}`, error.stack);
    });
    return new Observable<TResult>((subscriber) => {
      subscribers += 1;
      const inner = from(delivery).subscribe(subscriber);
      return () => {
        subscribers -= 1;
        inner.unsubscribe();
      };
    });
  }

  /** Request/response needs a consumer for the replies: errors with KafkaClientRequestResponseNotSupportedException. */
  override send<TResult = never, TInput = unknown>(pattern: unknown, data: TInput): Observable<TResult> {
    // not the base send(): it would connect first, and a broker outage would hide the real answer
    return new Observable<TResult>((observer) => this.publish({ pattern, data }, this.createObserver(observer)));
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    callback({ err: new KafkaClientRequestResponseNotSupportedException(this.topicOf(packet.pattern)) });
    return () => undefined;
  }

  /**
   * Hands the record to the producer within the emit() call when the serializer is synchronous, so
   * emits keep their order (per partition, as Kafka keeps it). An async serializer's records go out
   * as its promises resolve.
   */
  protected dispatchEvent<T = KafkaDeliveryReport>(packet: ReadPacket): Promise<T> {
    try {
      const topic = this.normalizePattern(packet.pattern);
      const built = KafkaRecord.isKafkaRecord(packet.data) ? packet.data : undefined;
      const serialized: unknown = this.serializer.serialize((built === undefined ? packet.data : built.value) as never, { pattern: topic });
      if (isPromiseLike(serialized)) return Promise.resolve(serialized).then((value) => this.sendRecord<T>(topic, built, value));
      return this.sendRecord<T>(topic, built, serialized);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private sendRecord<T>(topic: string, built: KafkaRecord | undefined, serialized: unknown): Promise<T> {
    const record: ProducerRecord<unknown, unknown> = { topic, value: this.encodeValue(serialized) };
    if (built !== undefined) {
      if (built.key !== undefined) record.key = built.key;
      if (built.headers !== undefined) record.headers = built.headers;
      if (built.partition !== undefined) record.partition = built.partition;
      if (built.timestamp !== undefined) record.timestamp = built.timestamp;
    }
    return this.service.send(record) as Promise<T>;
  }

  /** With no valueSerializer the producer takes bytes or strings only: anything else goes as JSON. */
  private encodeValue(value: unknown): unknown {
    // emit(pattern) without data is an event with no payload, not the mistake the producer refuses undefined for
    if (value === null || value === undefined) return null;
    if (this.producerSerializesValues) return value;
    if (typeof value === 'string' || Buffer.isBuffer(value)) return value;
    if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return JSON.stringify(value);
  }

  private topicOf(pattern: unknown): string {
    try {
      return this.normalizePattern(pattern as string);
    } catch {
      return String(pattern);
    }
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
