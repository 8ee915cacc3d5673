import { KafkaError, protocolError, protocolErrorInfo } from '../errors';
import { AddOffsetsToTxnApi } from '../protocol/messages/add-offsets-to-txn.generated';
import { AddPartitionsToTxnApi } from '../protocol/messages/add-partitions-to-txn.generated';
import { EndTxnApi } from '../protocol/messages/end-txn.generated';
import { FindCoordinatorApi } from '../protocol/messages/find-coordinator.generated';
import { InitProducerIdApi } from '../protocol/messages/init-producer-id.generated';
import { TxnOffsetCommitApi } from '../protocol/messages/txn-offset-commit.generated';
import type { BrokerAddress, ClusterConnections, NodeConnection } from './cluster-connections';
import type { PartitionState } from './topic-state';
import { ProducerFencedError } from './errors';

/** An offset to commit with a transaction: the next offset the group should read, as in Java. */
export interface TransactionOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint | number;
  readonly leaderEpoch?: number;
  readonly metadata?: string | null;
}

/** The consuming group, as its consumer knows it (the consumer may be another library or process). */
export interface ConsumerGroupMetadata {
  readonly groupId: string;
  readonly generationId?: number;
  readonly memberId?: string;
  readonly groupInstanceId?: string | null;
}

export interface TransactionRequestsConfig {
  readonly transactionTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly retryBackoffMs: number;
}

const GROUP = 0;
const TRANSACTION = 1;
const CONCURRENT_TRANSACTIONS = 51;
const TOPIC_AUTHORIZATION_FAILED = 29;
const GROUP_AUTHORIZATION_FAILED = 30;
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53;
const CLUSTER_AUTHORIZATION_FAILED = 31;
const OPERATION_NOT_ATTEMPTED = 55;
const UNKNOWN_MEMBER_ID = 25;
const ILLEGAL_GENERATION = 22;
const FENCED_INSTANCE_ID = 82;
const REQUEST_TIMED_OUT = 7;
const TRANSACTION_ABORTABLE = 120;

/** Retry pause after CONCURRENT_TRANSACTIONS on the first AddPartitionsToTxn of a transaction (Java: 20 ms). */
const CONCURRENT_FIRST_ADD_BACKOFF_MS = 20;

/**
 * The coordinator requests of transactions and of the idempotent producer's InitProducerId, each a
 * loop that finds the coordinator, sends, and retries what Java retries (coordinator moved or loading,
 * concurrent transactions, a lost connection), until it succeeds or the error is fatal or abortable
 * (thrown as RequestFatal / RequestAbortable). They run until done; callers bound their wait.
 */
export class TransactionRequests {
  private readonly coordinators = new Map<string, BrokerAddress>();
  private changeWaiters: Array<() => void> = [];

  constructor(
    private readonly config: TransactionRequestsConfig,
    private readonly connections: ClusterConnections,
    private readonly isClosed: () => boolean,
  ) {}

  connectionChanged(): void {
    const waiters = this.changeWaiters;
    this.changeWaiters = [];
    for (const w of waiters) w();
  }

  close(): void {
    this.connectionChanged();
  }

  /** InitProducerId: to any broker for an idempotent producer, to the coordinator for a transactional one. */
  async initProducerId(
    transactionalId: string | null,
    bump: { producerId: bigint; producerEpoch: number } | null,
  ): Promise<{ producerId: bigint; producerEpoch: number; transactionVersion: number }> {
    for (let attempt = 0; ; attempt++) {
      this.checkOpen();
      let c: NodeConnection;
      try {
        c = transactionalId === null ? await this.connections.any() : await this.coordinator(TRANSACTION, transactionalId);
      } catch (e) {
        if (transactionalId === null) throw e; // the caller retries the idempotent id with its own backoff
        await this.retryable(e, attempt);
        continue;
      }
      const version = c.versionFor(InitProducerIdApi, 5);
      let response;
      try {
        response = await c.request(
          InitProducerIdApi,
          version,
          {
            transactionalId,
            transactionTimeoutMs: transactionalId === null ? 2147483647 : this.config.transactionTimeoutMs,
            producerId: bump?.producerId ?? -1n,
            producerEpoch: bump?.producerEpoch ?? -1,
          },
          { timeoutMs: this.config.requestTimeoutMs },
        );
      } catch (e) {
        if (transactionalId === null) throw e;
        await this.retryable(e, attempt, transactionalId);
        continue;
      }
      const code = response.errorCode;
      if (code === 0) {
        return { producerId: response.producerId, producerEpoch: response.producerEpoch, transactionVersion: c.featureLevel('transaction.version') };
      }
      if (code === TRANSACTIONAL_ID_AUTHORIZATION_FAILED || code === CLUSTER_AUTHORIZATION_FAILED) {
        const error = protocolError(code, transactionalId === null ? 'InitProducerId for the idempotent producer' : `InitProducerId for transactionalId ${transactionalId}`);
        throw transactionalId === null ? new RequestFatal(error) : new RequestRetryableByUser(error);
      }
      const outcome = classifyTxnError(code, 'InitProducerId', transactionalId);
      if (outcome instanceof Error) throw outcome;
      if (transactionalId === null) throw protocolError(code, 'InitProducerId');
      if (outcome === 'rediscover') this.coordinators.delete(key(TRANSACTION, transactionalId));
      await this.backoff(attempt);
    }
  }

  /** AddPartitionsToTxn (transactions v1, v <= 3). Returns the partitions to send again (retriable errors). */
  async addPartitionsToTxn(transactionalId: string, producerId: bigint, producerEpoch: number, partitions: readonly PartitionState[], firstAdd: boolean): Promise<Set<PartitionState>> {
    for (let attempt = 0; ; attempt++) {
      this.checkOpen();
      const byTopic = new Map<string, number[]>();
      for (const ps of partitions) {
        let list = byTopic.get(ps.topic);
        if (list === undefined) byTopic.set(ps.topic, (list = []));
        list.push(ps.partition);
      }
      let response;
      try {
        const c = await this.coordinator(TRANSACTION, transactionalId);
        const version = c.versionFor(AddPartitionsToTxnApi, 3);
        response = await c.request(
          AddPartitionsToTxnApi,
          version,
          {
            v3AndBelowTransactionalId: transactionalId,
            v3AndBelowProducerId: producerId,
            v3AndBelowProducerEpoch: producerEpoch,
            v3AndBelowTopics: [...byTopic].map(([name, ps]) => ({ name, partitions: ps })),
          },
          { timeoutMs: this.config.requestTimeoutMs },
        );
      } catch (e) {
        await this.retryable(e, attempt, transactionalId);
        continue;
      }
      let retry: 'retry' | 'rediscover' | null = null;
      let concurrent = false;
      const topicErrors: string[] = [];
      let abortable: KafkaError | null = null;
      for (const t of response.resultsByTopicV3AndBelow ?? []) {
        for (const p of t.resultsByPartition) {
          const code = p.partitionErrorCode;
          if (code === 0) continue;
          if (code === TOPIC_AUTHORIZATION_FAILED) {
            topicErrors.push(t.name);
            continue;
          }
          if (code === OPERATION_NOT_ATTEMPTED) continue; // another partition's error stopped it
          if (code === CONCURRENT_TRANSACTIONS) concurrent = true;
          const outcome = classifyTxnError(code, `AddPartitionsToTxn ${t.name}-${p.partitionIndex}`, transactionalId);
          if (outcome instanceof RequestFatal) throw outcome;
          if (outcome instanceof RequestAbortable) abortable ??= outcome.error;
          else if (outcome instanceof Error) throw outcome;
          else retry = retry === 'rediscover' ? retry : outcome;
        }
      }
      if (topicErrors.length > 0) throw new RequestAbortable(protocolError(TOPIC_AUTHORIZATION_FAILED, `no Write access to topic(s) ${[...new Set(topicErrors)].join(', ')}`));
      if (abortable !== null) throw new RequestAbortable(abortable);
      if (retry === null) return new Set();
      if (retry === 'rediscover') this.coordinators.delete(key(TRANSACTION, transactionalId));
      await this.sleep(concurrent && firstAdd ? CONCURRENT_FIRST_ADD_BACKOFF_MS : this.backoffMs(attempt));
    }
  }

  /** AddOffsetsToTxn (transactions v1): the group's offsets become part of the transaction. */
  async addOffsetsToTxn(transactionalId: string, producerId: bigint, producerEpoch: number, groupId: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      this.checkOpen();
      let code: number;
      try {
        const c = await this.coordinator(TRANSACTION, transactionalId);
        const r = await c.request(AddOffsetsToTxnApi, c.versionFor(AddOffsetsToTxnApi), { transactionalId, producerId, producerEpoch, groupId }, { timeoutMs: this.config.requestTimeoutMs });
        code = r.errorCode;
      } catch (e) {
        await this.retryable(e, attempt, transactionalId);
        continue;
      }
      if (code === 0) return;
      if (code === GROUP_AUTHORIZATION_FAILED) throw new RequestAbortable(protocolError(code, `AddOffsetsToTxn for group ${groupId}`));
      const outcome = classifyTxnError(code, `AddOffsetsToTxn for group ${groupId}`, transactionalId);
      if (outcome instanceof Error) throw outcome;
      if (outcome === 'rediscover') this.coordinators.delete(key(TRANSACTION, transactionalId));
      await this.backoff(attempt);
    }
  }

  /** TxnOffsetCommit to the group coordinator (v5 under transactions v2, which also adds the group). */
  async txnOffsetCommit(transactionalId: string, producerId: bigint, producerEpoch: number, group: ConsumerGroupMetadata, offsets: readonly TransactionOffset[], tv2: boolean): Promise<void> {
    let remaining = [...offsets];
    for (let attempt = 0; remaining.length > 0; attempt++) {
      this.checkOpen();
      const byTopic = new Map<string, TransactionOffset[]>();
      for (const o of remaining) {
        let list = byTopic.get(o.topic);
        if (list === undefined) byTopic.set(o.topic, (list = []));
        list.push(o);
      }
      let response;
      try {
        const c = await this.coordinator(GROUP, group.groupId);
        const version = c.versionFor(TxnOffsetCommitApi, tv2 ? undefined : 4);
        response = await c.request(
          TxnOffsetCommitApi,
          version,
          {
            transactionalId,
            groupId: group.groupId,
            producerId,
            producerEpoch,
            generationId: group.generationId ?? -1,
            memberId: group.memberId ?? '',
            groupInstanceId: group.groupInstanceId ?? null,
            topics: [...byTopic].map(([name, list]) => ({
              name,
              partitions: list.map((o) => ({ partitionIndex: o.partition, committedOffset: BigInt(o.offset), committedLeaderEpoch: o.leaderEpoch ?? -1, committedMetadata: o.metadata ?? '' })),
            })),
          },
          { timeoutMs: this.config.requestTimeoutMs },
        );
      } catch (e) {
        await this.retryable(e, attempt, transactionalId, key(GROUP, group.groupId));
        continue;
      }
      const again: TransactionOffset[] = [];
      let rediscover = false;
      for (const t of response.topics) {
        for (const p of t.partitions) {
          const code = p.errorCode;
          if (code === 0) continue;
          const what = `TxnOffsetCommit ${t.name}-${p.partitionIndex} for group ${group.groupId}`;
          if (code === GROUP_AUTHORIZATION_FAILED || code === FENCED_INSTANCE_ID || code === TRANSACTION_ABORTABLE || code === UNKNOWN_MEMBER_ID || code === ILLEGAL_GENERATION) {
            throw new RequestAbortable(protocolError(code, what));
          }
          const outcome = code === REQUEST_TIMED_OUT ? 'rediscover' : classifyTxnError(code, what, transactionalId);
          if (outcome instanceof Error) throw outcome;
          if (outcome === 'rediscover') rediscover = true;
          const o = remaining.find((x) => x.topic === t.name && x.partition === p.partitionIndex);
          if (o !== undefined) again.push(o);
        }
      }
      remaining = again;
      if (remaining.length === 0) return;
      if (rediscover) this.coordinators.delete(key(GROUP, group.groupId));
      await this.backoff(attempt);
    }
  }

  /** EndTxn; under transactions v2 (v5) the answer carries the producer id and epoch to use next. */
  async endTxn(transactionalId: string, producerId: bigint, producerEpoch: number, committed: boolean, tv2: boolean): Promise<{ producerId: bigint; producerEpoch: number } | null> {
    for (let attempt = 0; ; attempt++) {
      this.checkOpen();
      let response;
      let version: number;
      try {
        const c = await this.coordinator(TRANSACTION, transactionalId);
        version = c.versionFor(EndTxnApi, tv2 ? undefined : 4);
        response = await c.request(EndTxnApi, version, { transactionalId, producerId, producerEpoch, committed }, { timeoutMs: this.config.requestTimeoutMs });
      } catch (e) {
        await this.retryable(e, attempt, transactionalId);
        continue;
      }
      const code = response.errorCode;
      if (code === 0) {
        const nextId = response.producerId ?? -1n;
        return version >= 5 && nextId >= 0n ? { producerId: nextId, producerEpoch: response.producerEpoch ?? -1 } : null;
      }
      const outcome = classifyTxnError(code, `EndTxn(${committed ? 'commit' : 'abort'})`, transactionalId);
      // an abort refused as abortable cannot be answered by another abort (Java 4.1+): fatal
      if (outcome instanceof RequestAbortable && !committed) throw new RequestFatal(outcome.error);
      if (outcome instanceof Error) throw outcome;
      if (outcome === 'rediscover') this.coordinators.delete(key(TRANSACTION, transactionalId));
      await this.backoff(attempt);
    }
  }

  /** A connection to the coordinator of the key (FindCoordinator through any broker, then cached). */
  private async coordinator(keyType: number, id: string): Promise<NodeConnection> {
    const k = key(keyType, id);
    let address = this.coordinators.get(k);
    if (address === undefined) {
      address = await this.findCoordinator(keyType, id);
      this.coordinators.set(k, address);
    }
    try {
      return await this.connectTo(address);
    } catch (e) {
      this.coordinators.delete(k);
      throw e;
    }
  }

  private async findCoordinator(keyType: number, id: string): Promise<BrokerAddress> {
    for (let attempt = 0; ; attempt++) {
      this.checkOpen();
      const c = await this.connections.any();
      const version = c.versionFor(FindCoordinatorApi);
      const response = await c.request(FindCoordinatorApi, version, version >= 4 ? { keyType, coordinatorKeys: [id] } : { key: id, keyType }, { timeoutMs: this.config.requestTimeoutMs });
      const entry = version >= 4 ? response.coordinators?.[0] : response;
      const code = entry?.errorCode ?? 0;
      if (entry !== undefined && code === 0) return { nodeId: entry.nodeId!, host: entry.host!, port: entry.port!, rack: null };
      const what = `FindCoordinator for ${keyType === GROUP ? 'group' : 'transactionalId'} ${id}${entry?.errorMessage ? `: ${entry.errorMessage}` : ''}`;
      if (code === GROUP_AUTHORIZATION_FAILED || code === TRANSACTION_ABORTABLE) throw new RequestAbortable(protocolError(code, what));
      const outcome = classifyTxnError(code, what, id);
      if (outcome instanceof Error) throw outcome instanceof RequestAbortable ? new RequestFatal(outcome.error) : outcome;
      await this.backoff(attempt);
    }
  }

  private async connectTo(address: BrokerAddress): Promise<NodeConnection> {
    for (;;) {
      this.checkOpen();
      const c = this.connections.ready(address);
      if (c !== null) return c;
      const refused = this.connections.nodeError(address.nodeId);
      if (refused !== null) throw refused;
      const delay = this.connections.connectionDelay(address.nodeId);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Number.isFinite(delay) ? Math.min(Math.max(delay, 1), 100) : 100);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.changeWaiters.push(done);
      });
    }
  }

  /** A request that failed without an answer: retriable errors back off and go again; others are fatal. */
  private async retryable(e: unknown, attempt: number, transactionalId?: string, coordinatorKey?: string): Promise<void> {
    if (e instanceof RequestFatal || e instanceof RequestAbortable || e instanceof RequestRetryableByUser) throw e;
    if (!(e instanceof KafkaError) || !e.retriable) throw new RequestFatal(e instanceof KafkaError ? e : new KafkaError(String((e as Error)?.message ?? e), { code: 'TRANSACTION_REQUEST_FAILED', cause: e }));
    if (transactionalId !== undefined) this.coordinators.delete(key(TRANSACTION, transactionalId));
    if (coordinatorKey !== undefined) this.coordinators.delete(coordinatorKey);
    await this.backoff(attempt);
  }

  private backoffMs(attempt: number): number {
    return Math.min(Math.max(this.config.retryBackoffMs, 1) * 2 ** Math.min(attempt, 6), 1000) * (0.8 + Math.random() * 0.4);
  }

  private backoff(attempt: number): Promise<void> {
    return this.sleep(this.backoffMs(attempt));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  private checkOpen(): void {
    if (this.isClosed()) throw new RequestFatal(new KafkaError('the producer was closed', { code: 'PRODUCER_CLOSED' }));
  }
}

/** Thrown by TransactionRequests: the producer cannot continue. */
export class RequestFatal extends Error {
  constructor(readonly error: KafkaError) {
    super(error.message);
  }
}

/** Thrown by TransactionRequests: the transaction must be aborted. */
export class RequestAbortable extends Error {
  constructor(readonly error: KafkaError) {
    super(error.message);
  }
}

/** Thrown by TransactionRequests for InitProducerId refused by authorization: the user may retry later. */
export class RequestRetryableByUser extends Error {
  constructor(readonly error: KafkaError) {
    super(error.message);
  }
}

/** Classifies a coordinator error code as Java's handlers do. */
export function classifyTxnError(errorCode: number, detail: string, transactionalId: string | null): 'retry' | 'rediscover' | Error {
  const info = protocolErrorInfo(errorCode);
  if (errorCode === 15 || errorCode === 16) return 'rediscover';
  if (info.retriable) return 'retry';
  const error = protocolError(errorCode, detail);
  if (errorCode === 47 || errorCode === 90) {
    return new RequestFatal(new ProducerFencedError(`transactionalId ${transactionalId} was fenced: another producer with the same transactionalId started (${error.message})`, error));
  }
  if (errorCode === 59 || errorCode === TRANSACTION_ABORTABLE) return new RequestAbortable(error);
  return new RequestFatal(error);
}

function key(keyType: number, id: string): string {
  return `${keyType}:${id}`;
}
