import type { AddOffsetsToTxnRequest } from '../../src/protocol/messages/add-offsets-to-txn.generated';
import type { AddPartitionsToTxnRequest } from '../../src/protocol/messages/add-partitions-to-txn.generated';
import type { EndTxnRequest } from '../../src/protocol/messages/end-txn.generated';
import type { FindCoordinatorRequest } from '../../src/protocol/messages/find-coordinator.generated';
import type { InitProducerIdRequest } from '../../src/protocol/messages/init-producer-id.generated';
import type { TxnOffsetCommitRequest } from '../../src/protocol/messages/txn-offset-commit.generated';
import type { KafkaProducer, KafkaProducerOptions } from '../../src/producer/kafka-producer';
import { producerOn, ScriptedCluster, type ScriptedClusterOptions } from './scripted-cluster';

export const TXN_ID = 'tx-orders';

/** The two transaction protocol generations, as the coordinator's finalized transaction.version says. */
export const GENERATIONS = [
  { name: 'transactions v1 (transaction.version 0)', transactionVersion: 0, tv2: false },
  { name: 'transactions v2 (transaction.version 2)', transactionVersion: 2, tv2: true },
] as const;

/** A scripted cluster for transaction specs (kept as a seam for transaction-only defaults). */
export function transactionCluster(options: ScriptedClusterOptions = {}): ScriptedCluster {
  return new ScriptedCluster(options);
}

/** A transactional string producer on `cluster` (closed by closeProducers). */
export function transactionalProducer(cluster: ScriptedCluster, options: Partial<KafkaProducerOptions<string, string>> = {}): KafkaProducer<string, string> {
  return producerOn(cluster, { transactionalId: TXN_ID, lingerMs: 0, retryBackoffMs: 5, ...options });
}

/** The error a promise rejects with; fails the spec if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

/** The error a synchronous call throws; fails the spec if it returns. */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the call to throw, but it returned');
}

export interface ProducedBatch {
  readonly seq: number;
  readonly version: number;
  readonly transactionalId: string | null | undefined;
  readonly tp: string;
  readonly values: Array<string | null>;
  readonly producerId: bigint;
  readonly epoch: number;
  readonly baseSequence: number;
  readonly isTransactional: boolean;
  readonly errorCode: number | undefined;
}

/** Every batch of every Produce request, in arrival order. */
export function producedBatches(cluster: ScriptedCluster): ProducedBatch[] {
  return cluster.produceRequests().flatMap((r) =>
    r.partitions.map((p, i) => {
      const b = r.batches![i];
      return {
        seq: r.seq,
        version: r.version,
        transactionalId: r.transactionalId,
        tp: `${p.topic}-${p.partition}`,
        values: p.values,
        producerId: b.producerId,
        epoch: b.producerEpoch,
        baseSequence: b.baseSequence,
        isTransactional: b.isTransactional,
        errorCode: p.errorCode,
      };
    }),
  );
}

/** The first Produce request (by arrival) that carried the value. */
export function produceSeqOf(cluster: ScriptedCluster, value: string): number {
  const b = producedBatches(cluster).find((x) => x.values.includes(value));
  if (b === undefined) throw new Error(`no Produce request carried ${value}`);
  return b.seq;
}

export function endTxns(cluster: ScriptedCluster): Array<EndTxnRequest & { seq: number; version: number }> {
  return cluster.requestsOf('EndTxn').map((r) => ({ ...(r.body as EndTxnRequest), seq: r.seq, version: r.version }));
}

/** The partitions ("topic-partition") each AddPartitionsToTxn request asked for. */
export function addPartitionRequests(cluster: ScriptedCluster): Array<{ seq: number; version: number; transactionalId: string | undefined; partitions: string[] }> {
  return cluster.requestsOf('AddPartitionsToTxn').map((r) => {
    const body = r.body as AddPartitionsToTxnRequest;
    return {
      seq: r.seq,
      version: r.version,
      transactionalId: body.v3AndBelowTransactionalId,
      partitions: (body.v3AndBelowTopics ?? []).flatMap((t) => t.partitions.map((p) => `${t.name}-${p}`)),
    };
  });
}

export function findCoordinators(cluster: ScriptedCluster): Array<{ seq: number; keyType: number | undefined; keys: string[] }> {
  return cluster.requestsOf('FindCoordinator').map((r) => {
    const body = r.body as FindCoordinatorRequest;
    return { seq: r.seq, keyType: body.keyType, keys: body.coordinatorKeys ?? (body.key === undefined ? [] : [body.key]) };
  });
}

export function initProducerIds(cluster: ScriptedCluster): Array<InitProducerIdRequest & { seq: number }> {
  return cluster.requestsOf('InitProducerId').map((r) => ({ ...(r.body as InitProducerIdRequest), seq: r.seq }));
}

export function addOffsets(cluster: ScriptedCluster): Array<AddOffsetsToTxnRequest & { seq: number }> {
  return cluster.requestsOf('AddOffsetsToTxn').map((r) => ({ ...(r.body as AddOffsetsToTxnRequest), seq: r.seq }));
}

export function txnOffsetCommits(cluster: ScriptedCluster): Array<TxnOffsetCommitRequest & { seq: number; version: number }> {
  return cluster.requestsOf('TxnOffsetCommit').map((r) => ({ ...(r.body as TxnOffsetCommitRequest), seq: r.seq, version: r.version }));
}
