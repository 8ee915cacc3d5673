import { isObservable } from 'rxjs';
import { DEFAULT_PRODUCER_NAME } from '../kafka-producer.constants';
import type { KafkaProducerService } from '../kafka-producer.service';
import { KafkaTransactionalNotBoundException, KafkaTransactionalResultException } from './transactional.exceptions';

/** What a @Transactional wrapper needs of its producer (the real service or the testing double). */
export type TransactionalProducer = Pick<KafkaProducerService, 'name' | 'transaction' | 'transactionalId'>;

/** One @Transactional use on a method. */
export interface TransactionalEntry {
  readonly id: symbol;
  readonly producerName: string;
  readonly where: string;
}

export const TRANSACTIONAL_METADATA = 'kafka-producer:transactional';
/** Own property of a bound instance (or prototype): Map<entry id, producer>. */
export const TRANSACTIONAL_BINDINGS = Symbol('kafka-producer:transactional-bindings');

/**
 * Runs the method inside one transaction of a transactional producer (default: the unnamed one):
 *
 *   @Transactional()
 *   async ship(order: Order) {
 *     await this.kafka.send({ topic: 'shipments', key: order.id, value: ... });
 *     await this.invoices.issue(order);          // a @Produce method of the same producer
 *   }
 *
 * - Every send() of that producer in the method's async call chain (injected service, @Produce
 *   methods, the ClientProxy, however deep) goes into the transaction; they commit together when the
 *   method resolves, and abort together when it throws (the error is rethrown).
 * - A @Transactional method called inside another one of the same producer joins the outer
 *   transaction; if it throws, the whole transaction aborts, even when the outer method catches.
 * - The wrapped method always returns a Promise (declare it async). An Observable result is refused
 *   with KafkaTransactionalResultException, since the transaction would end before its work ran.
 * - Put @Transactional above a @Produce of the same producer, so the produced record is inside;
 *   the other order is refused when the class is defined.
 *
 * Like @Produce, the method is wrapped here, so routes and other metadata survive (every reflect
 * metadata key, `name` and `length` are copied), and the producer is found at call time in what the
 * module's explorer bound to the instance at onModuleInit.
 */
export function Transactional(producer?: string): MethodDecorator {
  return (target: object, key: string | symbol, descriptor: PropertyDescriptor) => {
    const original: unknown = descriptor.value;
    const where = `${(target as { constructor?: { name?: string } }).constructor?.name ?? 'anonymous'}.${String(key)}`;
    if (typeof original !== 'function') throw new TypeError(`@Transactional decorates methods; ${where} is not one`);
    const entry: TransactionalEntry = { id: Symbol(where), producerName: producer ?? DEFAULT_PRODUCER_NAME, where };

    const wrapper = function (this: object, ...args: unknown[]): Promise<unknown> {
      const bound = bindingOf(this, entry);
      if (bound === undefined) return Promise.reject(new KafkaTransactionalNotBoundException(where, entry.producerName));
      return bound.transaction(async () => {
        const result: unknown = await original.apply(this, args);
        if (isObservable(result)) throw new KafkaTransactionalResultException(where);
        return result;
      });
    };

    for (const metadataKey of Reflect.getOwnMetadataKeys(original)) {
      Reflect.defineMetadata(metadataKey, Reflect.getOwnMetadata(metadataKey, original), wrapper);
    }
    Object.defineProperty(wrapper, 'name', { value: original.name, configurable: true });
    Object.defineProperty(wrapper, 'length', { value: original.length, configurable: true });
    const earlier: TransactionalEntry[] = Reflect.getOwnMetadata(TRANSACTIONAL_METADATA, original) ?? [];
    Reflect.defineMetadata(TRANSACTIONAL_METADATA, [...earlier, entry], wrapper);
    descriptor.value = wrapper;
    return descriptor;
  };
}

/** The @Transactional uses on a method (empty when it has none). */
export function transactionalEntriesOf(method: unknown): readonly TransactionalEntry[] {
  if (typeof method !== 'function') return [];
  return (Reflect.getMetadata(TRANSACTIONAL_METADATA, method) as TransactionalEntry[] | undefined) ?? [];
}

/** Binds one @Transactional use on `target` (an instance, or a prototype for instances Nest creates per request). */
export function bindTransactional(target: object, entry: TransactionalEntry, producer: TransactionalProducer): void {
  let bindings = Object.prototype.hasOwnProperty.call(target, TRANSACTIONAL_BINDINGS) ? (target as Record<symbol, Map<symbol, TransactionalProducer>>)[TRANSACTIONAL_BINDINGS] : undefined;
  if (bindings === undefined) {
    bindings = new Map();
    // not enumerable: the instance's JSON form and spreads stay as they were
    Object.defineProperty(target, TRANSACTIONAL_BINDINGS, { value: bindings, enumerable: false, configurable: true });
  }
  bindings.set(entry.id, producer);
}

function bindingOf(self: object | undefined, entry: TransactionalEntry): TransactionalProducer | undefined {
  // the prototype chain is searched too: request-scoped instances are bound through their prototype
  const bindings = self == null ? undefined : (self as Record<symbol, Map<symbol, TransactionalProducer> | undefined>)[TRANSACTIONAL_BINDINGS];
  return bindings?.get(entry.id);
}
