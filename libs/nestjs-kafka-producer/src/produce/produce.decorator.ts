import type { ProducerRecordHeaders } from '@app/kafka-producer';
import { Logger } from '@nestjs/common';
import { isObservable } from 'rxjs';
import { DEFAULT_PRODUCER_NAME } from '../kafka-producer.constants';
import type { KafkaProducerService } from '../kafka-producer.service';
import { transactionalEntriesOf } from '../transactional/transactional.decorator';
import { KafkaProduceNotBoundException, KafkaProduceResultException } from './produce.exceptions';

/** `topic: { config: 'KAFKA_ORDERS_TOPIC' }`: read once at startup (see KAFKA_PRODUCE_CONFIG), `default` when the key has no value. */
export interface ProduceTopicFromConfig {
  config: string;
  default?: string;
}

/** A fixed value, or a function of the result (each element for an array result) and the method's arguments. */
export type ProduceValueOrFn<T> = T | ((result: any, ...args: any[]) => T);

export interface ProduceOptions {
  /** A topic name, a function of the method's arguments, or a config key resolved at startup. */
  topic: string | ((...args: any[]) => string) | ProduceTopicFromConfig;
  key?: ProduceValueOrFn<Buffer | string | null | undefined>;
  headers?: ProduceValueOrFn<ProducerRecordHeaders | undefined>;
  partition?: ProduceValueOrFn<number | undefined>;
  /** The KafkaProducerModule registration to send with (its `name`); default the unnamed one. */
  producer?: string;
  /**
   * `true` (default): the caller gets the result once every record is acknowledged, or the send's
   * error. `false`: the caller gets the result at once; failures go to the producer's errors$ and the
   * Nest logger, never to an unhandled rejection.
   */
  await?: boolean;
}

/** What the explorer of producer `producerName` stamps on an instance for one @Produce use. */
export interface ProduceBinding {
  readonly producer: Pick<KafkaProducerService, 'send'>;
  /** The producer has a value serializer: results go to it as they are. */
  readonly serializeValues: boolean;
  /** The topic when it came from config. */
  readonly topic?: string;
}

/** One @Produce use on a method; a method may carry several (each with its own id). */
export interface ProduceEntry {
  readonly id: symbol;
  readonly producerName: string;
  readonly options: ProduceOptions;
  readonly where: string;
}

export const PRODUCE_METADATA = 'kafka-producer:produce';
/** Own property of a bound instance (or prototype): Map<entry id, ProduceBinding>. */
export const PRODUCE_BINDINGS = Symbol('kafka-producer:produce-bindings');

const logger = new Logger('KafkaProduce');

/**
 * Sends what the method returns to a Kafka topic:
 *
 *   @Post() @Produce({ topic: 'orders', key: (order: Order) => order.id })
 *   async create(@Body() dto: CreateOrder): Promise<Order> { ... }
 *
 * - The method's result (a Promise is awaited) is the record's value: put through the producer's
 *   value serializer when one is configured; otherwise a Buffer or string goes as it is, null as a
 *   tombstone, anything else as JSON.
 * - `undefined` sends nothing; an array sends each element (undefined elements skipped), with key,
 *   headers and partition called per element as `(element, ...args)`; an Observable is refused with
 *   KafkaProduceResultException.
 * - With `await: true` (default) the wrapped method always returns a Promise, so declare it async.
 *   With `await: false` a synchronous method stays synchronous.
 * - On a transactional producer the records go into the transaction open in the caller's chain
 *   (a @Transactional method, transaction()). On one method with @Transactional of the same producer,
 *   @Produce goes below it (so the record is sent inside): placed above, it would send after the
 *   commit, and the class definition fails with a TypeError saying so.
 *
 * The method is wrapped here, when the decorator runs, not at bootstrap: Nest's router captures
 * handlers before any onModuleInit, so a later patch would never reach HTTP routes. Every reflect
 * metadata of the original (routes, guards, pipes, interceptors, @EventPattern, ...) is copied to
 * the wrapper, so other decorators work on either side of @Produce. The producer is found at call
 * time in what the module's explorer bound to the instance at onModuleInit.
 */
export function Produce(options: ProduceOptions): MethodDecorator {
  return (target: object, key: string | symbol, descriptor: PropertyDescriptor) => {
    const original: unknown = descriptor.value;
    const where = `${(target as { constructor?: { name?: string } }).constructor?.name ?? 'anonymous'}.${String(key)}`;
    if (typeof original !== 'function') throw new TypeError(`@Produce decorates methods; ${where} is not one`);
    const entry: ProduceEntry = { id: Symbol(where), producerName: options.producer ?? DEFAULT_PRODUCER_NAME, options, where };
    if (transactionalEntriesOf(original).some((t) => t.producerName === entry.producerName)) {
      throw new TypeError(`@Produce on ${where} sits above @Transactional of the same producer '${entry.producerName}': its record would be sent after the commit. Put @Transactional() above @Produce().`);
    }
    const waitForAck = options.await !== false;

    const wrapper = function (this: object, ...args: unknown[]): unknown {
      const binding = bindingOf(this, entry);
      const result: unknown = original.apply(this, args);
      if (isObservable(result)) throw new KafkaProduceResultException(where);
      if (isPromiseLike(result)) {
        return Promise.resolve(result).then((value) => {
          if (isObservable(value)) throw new KafkaProduceResultException(where);
          return waitForAck ? sendAndWait(binding, entry, value, args) : sendAndForget(binding, entry, value, args);
        });
      }
      return waitForAck ? sendAndWait(binding, entry, result, args) : sendAndForget(binding, entry, result, args);
    };

    for (const metadataKey of Reflect.getOwnMetadataKeys(original)) {
      Reflect.defineMetadata(metadataKey, Reflect.getOwnMetadata(metadataKey, original), wrapper);
    }
    Object.defineProperty(wrapper, 'name', { value: original.name, configurable: true });
    Object.defineProperty(wrapper, 'length', { value: original.length, configurable: true });
    const earlier: ProduceEntry[] = Reflect.getOwnMetadata(PRODUCE_METADATA, original) ?? [];
    Reflect.defineMetadata(PRODUCE_METADATA, [...earlier, entry], wrapper);
    descriptor.value = wrapper;
    return descriptor;
  };
}

/** The @Produce uses on a method (empty when it has none). */
export function produceEntriesOf(method: unknown): readonly ProduceEntry[] {
  if (typeof method !== 'function') return [];
  return (Reflect.getMetadata(PRODUCE_METADATA, method) as ProduceEntry[] | undefined) ?? [];
}

/** Binds one @Produce use on `target` (an instance, or a prototype for instances Nest creates per request). */
export function bindProduce(target: object, entry: ProduceEntry, binding: ProduceBinding): void {
  let bindings = Object.prototype.hasOwnProperty.call(target, PRODUCE_BINDINGS) ? ((target as Record<symbol, Map<symbol, ProduceBinding>>)[PRODUCE_BINDINGS]) : undefined;
  if (bindings === undefined) {
    bindings = new Map();
    // not enumerable: the instance's JSON form and spreads stay as they were
    Object.defineProperty(target, PRODUCE_BINDINGS, { value: bindings, enumerable: false, configurable: true });
  }
  bindings.set(entry.id, binding);
}

function bindingOf(self: object | undefined, entry: ProduceEntry): ProduceBinding {
  // the prototype chain is searched too: request-scoped instances are bound through their prototype
  const bindings = self == null ? undefined : ((self as Record<symbol, Map<symbol, ProduceBinding> | undefined>)[PRODUCE_BINDINGS]);
  const binding = bindings?.get(entry.id);
  if (binding === undefined) throw new KafkaProduceNotBoundException(entry.where, entry.producerName);
  return binding;
}

interface BuiltRecord {
  topic: string;
  value: unknown;
  key?: Buffer | string | null;
  headers?: ProducerRecordHeaders;
  partition?: number;
}

function recordsFor(binding: ProduceBinding, entry: ProduceEntry, result: unknown, args: unknown[]): BuiltRecord[] {
  if (result === undefined) return [];
  const { options } = entry;
  const elements = Array.isArray(result) ? result.filter((e) => e !== undefined) : [result];
  if (elements.length === 0) return [];
  const topic = binding.topic ?? (typeof options.topic === 'function' ? options.topic(...args) : (options.topic as string));
  return elements.map((element) => {
    const record: BuiltRecord = { topic, value: binding.serializeValues ? element : encodeValue(element) };
    const key = resolve(options.key, element, args);
    if (key !== undefined) record.key = key;
    const headers = resolve(options.headers, element, args);
    if (headers !== undefined) record.headers = headers;
    const partition = resolve(options.partition, element, args);
    if (partition !== undefined) record.partition = partition;
    return record;
  });
}

function resolve<T>(option: ProduceValueOrFn<T> | undefined, element: unknown, args: unknown[]): T | undefined {
  return typeof option === 'function' ? (option as (result: unknown, ...a: unknown[]) => T)(element, ...args) : option;
}

/** Without a value serializer the producer takes Buffer, string or null: anything else becomes JSON. */
function encodeValue(value: unknown): Buffer | string | null {
  if (value === null || typeof value === 'string' || Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError(`a ${typeof value} has no JSON form`);
  return json;
}

async function sendAndWait<T>(binding: ProduceBinding, entry: ProduceEntry, result: T, args: unknown[]): Promise<T> {
  const records = recordsFor(binding, entry, result, args);
  await Promise.all(records.map((r) => binding.producer.send(r as never)));
  return result;
}

function sendAndForget<T>(binding: ProduceBinding, entry: ProduceEntry, result: T, args: unknown[]): T {
  let records: BuiltRecord[];
  try {
    records = recordsFor(binding, entry, result, args);
  } catch (e) {
    logger.error(`@Produce on ${entry.where}: no record sent, building it failed: ${(e as Error).message}`);
    return result;
  }
  for (const record of records) {
    // the producer reports the failure on errors$ as well; this catch keeps it from being unhandled
    binding.producer.send(record as never).catch((e: Error) => logger.error(`@Produce on ${entry.where}: sending to ${record.topic} failed: ${e.message}`));
  }
  return result;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}
