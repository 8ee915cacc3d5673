import { AsyncLocalStorage } from 'node:async_hooks';
import type { ConsumerGroupMetadata, ProducerRecord, TransactionOffset } from '@app/kafka-producer';
import type { KafkaDeliveryReport } from '../delivery-report';
import { KafkaTransactionClosedException, KafkaTransactionRequiredException, KafkaTransactionRollbackOnlyException } from './transactional.exceptions';

/**
 * One open Kafka transaction as the Nest layer hands it out: `transaction(fn)` gives it to fn, and
 * every `send()` of the same producer made inside fn (directly, through @Produce, the ClientProxy, or
 * deeper in the call chain) goes through it.
 */
export interface KafkaTransaction<K = any, V = any> {
  readonly transactionalId: string;
  /** The KafkaProducerModule registration the transaction belongs to. */
  readonly producerName: string;
  /** Resolves once the broker has written the record; readers in read_committed see it only after the commit. */
  send(record: ProducerRecord<K, V>): Promise<KafkaDeliveryReport>;
  /** Commits a consumer group's offsets with the transaction (consume-transform-produce). */
  sendOffsets(offsets: readonly TransactionOffset[], group: string | ConsumerGroupMetadata): Promise<void>;
}

/** What a producer's own transaction() gives the body: its sends, already JSON-safe. */
export interface RawTransaction<K = any, V = any> {
  readonly transactionalId: string;
  send(record: ProducerRecord<K, V>): Promise<KafkaDeliveryReport>;
  sendOffsets(offsets: readonly TransactionOffset[], group: string | ConsumerGroupMetadata): Promise<void>;
}

/** The producer side (the real service or the testing double) the context is keyed by. */
export interface TransactionOwner {
  readonly name: string;
}

interface OpenTransaction {
  readonly tx: KafkaTransaction;
  /** False once the function that opened the transaction settled: later sends would land in the next transaction. */
  active: boolean;
  /** The first error of a nested (joined) call; the transaction then aborts even if the outer function returns. */
  rollbackCause: { error: unknown } | null;
}

/**
 * Which transaction is open for which producer in the current async call chain. One storage for the
 * process, keyed by the producer's service, so calls into a second producer inside a transaction of
 * the first are unaffected and several applications in one process stay apart.
 */
const storage = new AsyncLocalStorage<ReadonlyMap<TransactionOwner, OpenTransaction>>();

/** The transaction of `owner` open in this call chain, if any (an ended one too: its sends are refused). */
export function currentTransaction(owner: TransactionOwner): KafkaTransaction | null {
  return storage.getStore()?.get(owner)?.tx ?? null;
}

/**
 * A send on a transactional producer: through the transaction open in this call chain, or refused
 * (KafkaTransactionRequiredException) when there is none.
 */
export function sendInTransaction<K, V>(owner: TransactionOwner, record: ProducerRecord<K, V>): Promise<KafkaDeliveryReport> {
  const open = storage.getStore()?.get(owner);
  if (open === undefined) return Promise.reject(new KafkaTransactionRequiredException(owner.name));
  return open.tx.send(record);
}

/**
 * Runs fn inside a transaction of `owner`. Inside an open transaction of the same producer, fn joins
 * it (no second transaction: the producer runs one at a time, so waiting for a new one inside the
 * current one would never end); a throw of a joined fn marks the transaction for abort. Otherwise
 * `begin` starts one (the producer queues it behind the transactions before it) and fn runs with the
 * context set, so every send of this producer in its call chain belongs to it.
 */
export async function runInTransaction<T, K, V>(
  owner: TransactionOwner,
  begin: (body: (raw: RawTransaction<K, V>) => Promise<T>) => Promise<T>,
  fn: (tx: KafkaTransaction<K, V>) => Promise<T> | T,
): Promise<T> {
  const outer = storage.getStore();
  const open = outer?.get(owner);
  if (open?.active) {
    try {
      return await fn(open.tx);
    } catch (e) {
      open.rollbackCause ??= { error: e };
      throw e;
    }
  }
  return begin(async (raw) => {
    const entry: OpenTransaction = { tx: scopedTransaction(owner, raw, () => entry.active), active: true, rollbackCause: null };
    const store = new Map(outer ?? []);
    store.set(owner, entry);
    try {
      const result = await storage.run(store, () => fn(entry.tx));
      if (entry.rollbackCause !== null) throw new KafkaTransactionRollbackOnlyException(owner.name, entry.rollbackCause.error);
      return result;
    } finally {
      entry.active = false;
    }
  });
}

function scopedTransaction<K, V>(owner: TransactionOwner, raw: RawTransaction<K, V>, isActive: () => boolean): KafkaTransaction<K, V> {
  return {
    transactionalId: raw.transactionalId,
    producerName: owner.name,
    send: (record) => (isActive() ? raw.send(record) : Promise.reject(new KafkaTransactionClosedException(owner.name))),
    sendOffsets: (offsets, group) => (isActive() ? raw.sendOffsets(offsets, group) : Promise.reject(new KafkaTransactionClosedException(owner.name))),
  };
}
