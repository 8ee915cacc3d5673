import { KafkaError, type KafkaProtocolError } from '../errors';
import { BASE_SEQUENCE_OFFSET, PRODUCER_EPOCH_OFFSET, PRODUCER_ID_OFFSET, setProducerState } from '../protocol/records/record-batch';
import type { RecordBatchCloseOptions } from '../protocol/records/record-batch-builder';
import type { BatchSequencer } from './record-accumulator';
import type { ClusterConnections } from './cluster-connections';
import { InvalidTransactionStateError, KafkaTimeoutError, ProducerClosedError, ProducerFencedError, TransactionAbortableError, TransactionAbortedError } from './errors';
import type { ProducerLogger } from './logger';
import type { ProducerBatch } from './producer-batch';
import type { PartitionState } from './topic-state';
import { RequestAbortable, RequestFatal, RequestRetryableByUser, TransactionRequests, type ConsumerGroupMetadata, type TransactionOffset } from './transaction-requests';

export type { ConsumerGroupMetadata, TransactionOffset } from './transaction-requests';

export type TransactionState =
  | 'UNINITIALIZED'
  | 'INITIALIZING'
  | 'READY'
  | 'IN_TRANSACTION'
  | 'COMMITTING_TRANSACTION'
  | 'ABORTING_TRANSACTION'
  | 'ABORTABLE_ERROR'
  | 'FATAL_ERROR';

/** Java's TransactionManager.State transitions: target ← the states it may be entered from. FATAL_ERROR from any. */
const TRANSITIONS: Readonly<Record<Exclude<TransactionState, 'FATAL_ERROR'>, readonly TransactionState[]>> = {
  UNINITIALIZED: ['READY', 'ABORTABLE_ERROR'],
  INITIALIZING: ['UNINITIALIZED', 'COMMITTING_TRANSACTION', 'ABORTING_TRANSACTION'],
  READY: ['INITIALIZING', 'COMMITTING_TRANSACTION', 'ABORTING_TRANSACTION'],
  IN_TRANSACTION: ['READY'],
  COMMITTING_TRANSACTION: ['IN_TRANSACTION'],
  ABORTING_TRANSACTION: ['IN_TRANSACTION', 'ABORTABLE_ERROR'],
  ABORTABLE_ERROR: ['IN_TRANSACTION', 'COMMITTING_TRANSACTION', 'ABORTABLE_ERROR', 'INITIALIZING'],
};

export function isLegalTransition(from: TransactionState, to: TransactionState): boolean {
  return to === 'FATAL_ERROR' || TRANSITIONS[to].includes(from);
}

export interface TransactionManagerConfig {
  readonly transactionalId: string | null;
  readonly transactionTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly retryBackoffMs: number;
  readonly maxBlockMs: number;
}

export interface TransactionManagerParts {
  readonly connections: ClusterConnections;
  readonly logger: ProducerLogger;
  readonly wakeSender: () => void;
  /** Resolves once every record sent so far completed (commit and abort wait on it). */
  readonly flush: () => Promise<void>;
  /** Fails every record not yet in a request (queued, waiting for memory or metadata). */
  readonly abortUndrained: (error: Error) => void;
  /** The producer can do nothing more: fail what it holds and refuse further calls. */
  readonly onFatal: (error: KafkaError) => void;
  readonly onTransactionEnd?: (outcome: 'committed' | 'aborted', error: Error | null) => void;
}

const OUT_OF_ORDER_SEQUENCE_NUMBER = 45;
const INVALID_PRODUCER_EPOCH = 47;
const INVALID_PRODUCER_ID_MAPPING = 49;
const UNKNOWN_PRODUCER_ID = 59;
const PRODUCER_FENCED = 90;
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53;
const CLUSTER_AUTHORIZATION_FAILED = 31;
const TRANSACTION_ABORTABLE = 120;
const MAX_EPOCH = 32767;
const INT32_MAX = 2147483647;

/** What the sender does with a Produce error of a sequenced batch; null: its usual handling. */
export type ProduceErrorAction = { readonly action: 'retry' } | { readonly action: 'fail'; readonly error: Error } | null;

/**
 * The producer id and epoch, the per-partition sequences (idempotence) and the transaction state
 * machine with its coordinator requests. See DESIGN.md, "Idempotence and transactions": the rules for
 * when a batch may drain and when a partition's sequences restart are written there.
 */
export class TransactionManager implements BatchSequencer {
  private state: TransactionState = 'UNINITIALIZED';
  producerId = -1n;
  producerEpoch = -1;
  /** Transactions v2 (KIP-890), from the coordinator's finalized transaction.version. */
  private tv2 = false;
  private fatalError: KafkaError | null = null;
  private abortableError: Error | null = null;
  /** Partitions whose sequences need resolving or an epoch bump once nothing of theirs is in flight. */
  private readonly toResolve = new Set<PartitionState>();
  private idRequest: Promise<void> | null = null;
  private idRetryAt = 0;
  /** Consecutive failed InitProducerId attempts of the idempotent producer; a fresh cluster answers COORDINATOR_LOAD_IN_PROGRESS a few times, which is no news. */
  private idFailures = 0;
  /** Why the transaction being aborted is aborted; null for the application's own abortTransaction(). */
  private abortReason: Error | null = null;
  /** A blocking call under way (Java's pending result): calling it again waits for the same outcome. */
  private pending: { readonly call: string; readonly work: Promise<void> } | null = null;
  /** An earlier transaction(fn) returned with the timeout of its commit or abort, which still runs. */
  private outlivedEnd = false;
  /** Something of this transaction reached a broker (a partition added, a batch sent, offsets sent). */
  private transactionStarted = false;
  /** Transactions v1: partitions waiting for AddPartitionsToTxn, and those added in this transaction. */
  private readonly pendingPartitions = new Set<PartitionState>();
  private readonly partitionsInTransaction = new Set<PartitionState>();
  private addPartitions: Promise<void> | null = null;
  private closed = false;
  private readonly requests: TransactionRequests;
  readonly transactionalId: string | null;

  constructor(
    private readonly config: TransactionManagerConfig,
    private readonly parts: TransactionManagerParts,
  ) {
    this.transactionalId = config.transactionalId;
    this.requests = new TransactionRequests(config, parts.connections, () => this.closed);
  }

  get isTransactional(): boolean {
    return this.transactionalId !== null;
  }

  get transactionState(): TransactionState {
    return this.state;
  }

  get isTransactionV2(): boolean {
    return this.tv2;
  }

  get fatal(): KafkaError | null {
    return this.fatalError;
  }

  /** Produce version cap: a transactional producer on transactions v1 must not use v12+ (which means v2). */
  get produceVersionCap(): number | undefined {
    return this.isTransactional && !this.tv2 ? 11 : undefined;
  }

  hasProducerId(): boolean {
    return this.producerId >= 0n && this.fatalError === null;
  }

  /** A connection opened or closed: coordinator waits may progress. */
  connectionChanged(): void {
    this.requests.connectionChanged();
  }

  // ---------------------------------------------------------------- state machine

  private transition(to: TransactionState, call = 'transition'): void {
    if (!isLegalTransition(this.state, to)) throw new InvalidTransactionStateError(call, this.state, `it cannot move to ${to}`);
    this.parts.logger.debug(`transaction state ${this.state} -> ${to}`, { transactionalId: this.transactionalId ?? undefined });
    this.state = to;
  }

  private requireTransactional(call: string): void {
    if (!this.isTransactional) throw new InvalidTransactionStateError(call, this.state, 'the producer has no transactionalId');
  }

  /** Throws what a call in the current state must throw: the fatal error, or an illegal-state error. */
  private requireState(call: string, ...allowed: TransactionState[]): void {
    this.requireTransactional(call);
    if (this.fatalError !== null) throw this.fatalError;
    if (this.pending !== null && this.pending.call !== call) {
      throw new InvalidTransactionStateError(call, this.state, `${this.pending.call}() has not completed yet; call it again to wait for it`);
    }
    if (!allowed.includes(this.state)) throw new InvalidTransactionStateError(call, this.state);
  }

  /** Moves to FATAL_ERROR: every later call fails with `error`, and the producer fails what it holds. */
  fail(error: KafkaError): void {
    if (this.fatalError !== null) return;
    this.fatalError = error;
    this.state = 'FATAL_ERROR';
    this.parts.logger.error(`the producer is in a fatal state: ${error.message}`, { error });
    this.parts.onFatal(error);
  }

  private toAbortable(error: Error): void {
    if (this.fatalError !== null) return;
    if (this.state !== 'IN_TRANSACTION' && this.state !== 'COMMITTING_TRANSACTION' && this.state !== 'ABORTABLE_ERROR' && this.state !== 'INITIALIZING') return;
    if (this.abortableError === null) this.abortableError = error;
    this.state = 'ABORTABLE_ERROR';
    this.parts.logger.warn(`the transaction must be aborted: ${error.message}`, { transactionalId: this.transactionalId ?? undefined });
    // records that can no longer be sent in this transaction fail now, so commit/flush do not wait for them
    this.parts.abortUndrained(new TransactionAbortableError(`the transaction must be aborted: ${error.message}`, error));
  }

  /** A protocol error from a transactional request, as fatal or abortable (Java's handlers). */
  private handleRequestError(error: unknown): never {
    if (error instanceof RequestFatal) {
      this.fail(error.error);
      throw error.error;
    }
    if (error instanceof RequestAbortable) {
      this.toAbortable(error.error);
      throw new TransactionAbortableError(`the transaction must be aborted: ${error.error.message}`, error.error);
    }
    throw error;
  }

  // ---------------------------------------------------------------- blocking calls (bounded by maxBlockMs)

  private async blocking(call: string, start: () => Promise<void>): Promise<void> {
    let pending = this.pending;
    if (pending === null || pending.call !== call) {
      const work = start();
      pending = { call, work };
      this.pending = pending;
      const clear = (): void => {
        if (this.pending === pending) this.pending = null;
      };
      work.then(clear, clear);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new KafkaTimeoutError(`${call}() did not complete within maxBlockMs (${this.config.maxBlockMs} ms); call ${call}() again to keep waiting for it`, 'TIMEOUT')),
        this.config.maxBlockMs,
      );
    });
    try {
      await Promise.race([pending.work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * transaction(fn): whether `error` is the timeout of a commit or abort that still runs (maxBlockMs
   * passed before the coordinator answered). Such a transaction is not aborted (it may yet commit);
   * the next transaction() waits for it first (finishOutlived).
   */
  outlived(error: unknown): boolean {
    const still = error instanceof KafkaTimeoutError && (this.pending?.call === 'commitTransaction' || this.pending?.call === 'abortTransaction');
    if (still) this.outlivedEnd = true;
    return still;
  }

  /**
   * Before transaction(fn) begins: an earlier transaction() left its commit or abort running. Waits for
   * it (bounded by maxBlockMs again; a timeout leaves it for the next call), and aborts it if the commit
   * ended abortably, so that the queue goes on rather than failing on a state no caller of transaction()
   * can leave. The earlier call already rejected with the timeout, so nobody else would end it.
   */
  async finishOutlived(): Promise<void> {
    if (!this.outlivedEnd) return;
    if (this.pending?.call === 'commitTransaction') {
      await this.commitTransaction().catch((e: unknown) => {
        if (!(e instanceof TransactionAbortableError) || this.fatalError !== null) throw e;
      });
    } else if (this.pending?.call === 'abortTransaction') {
      await this.abortTransaction();
    }
    if (this.state === 'ABORTABLE_ERROR' && this.fatalError === null) await this.abortTransaction();
    this.outlivedEnd = false;
  }

  /** Whether transaction(fn) must (re)join initTransactions(): never called, or called and not yet done. */
  get needsInit(): boolean {
    return this.state === 'UNINITIALIZED' || this.pending?.call === 'initTransactions';
  }

  initTransactions(): Promise<void> {
    if (this.pending?.call === 'initTransactions') return this.blocking('initTransactions', () => Promise.resolve());
    try {
      this.requireState('initTransactions', 'UNINITIALIZED');
    } catch (e) {
      return Promise.reject(e);
    }
    this.transition('INITIALIZING', 'initTransactions');
    return this.blocking('initTransactions', () => this.initProducerIdTransactional(false));
  }

  private async initProducerIdTransactional(bump: boolean): Promise<void> {
    try {
      const result = await this.requests.initProducerId(this.transactionalId, bump ? { producerId: this.producerId, producerEpoch: this.producerEpoch } : null);
      this.tv2 = result.transactionVersion >= 2;
      this.setProducerIdAndEpoch(result.producerId, result.producerEpoch);
      this.transition('READY');
    } catch (e) {
      if (e instanceof RequestRetryableByUser) {
        // authorization: the user may fix the ACL and call initTransactions again
        this.state = 'ABORTABLE_ERROR';
        this.transition('UNINITIALIZED');
        throw e.error;
      }
      this.handleRequestError(e);
    }
  }

  beginTransaction(): void {
    this.requireState('beginTransaction', 'READY');
    this.transition('IN_TRANSACTION', 'beginTransaction');
    this.transactionStarted = false;
    this.abortableError = null;
  }

  /** send() of a transactional producer: only inside a transaction. */
  checkSend(): void {
    if (!this.isTransactional) {
      if (this.fatalError !== null) throw this.fatalError;
      return;
    }
    if (this.fatalError !== null) throw this.fatalError;
    if (this.state === 'ABORTABLE_ERROR') throw new TransactionAbortableError(`cannot send: the transaction must be aborted (${this.abortableError?.message ?? 'an earlier error'})`, this.abortableError);
    if (this.state !== 'IN_TRANSACTION') throw new InvalidTransactionStateError('send', this.state, this.state === 'READY' ? 'call beginTransaction() first' : undefined);
  }

  sendOffsetsToTransaction(offsets: readonly TransactionOffset[], group: string | ConsumerGroupMetadata): Promise<void> {
    try {
      if (this.state === 'ABORTABLE_ERROR' && this.fatalError === null) this.checkSend();
      this.requireState('sendOffsetsToTransaction', 'IN_TRANSACTION');
    } catch (e) {
      return Promise.reject(e);
    }
    const metadata: ConsumerGroupMetadata = typeof group === 'string' ? { groupId: group } : group;
    return this.blocking('sendOffsetsToTransaction', async () => {
      try {
        if (!this.tv2) await this.requests.addOffsetsToTxn(this.transactionalId!, this.producerId, this.producerEpoch, metadata.groupId);
        this.transactionStarted = true;
        await this.requests.txnOffsetCommit(this.transactionalId!, this.producerId, this.producerEpoch, metadata, offsets, this.tv2);
      } catch (e) {
        this.handleRequestError(e);
      }
    });
  }

  commitTransaction(): Promise<void> {
    if (this.pending?.call === 'commitTransaction') return this.blocking('commitTransaction', () => Promise.resolve());
    try {
      if (this.state === 'ABORTABLE_ERROR' && this.fatalError === null) {
        throw new TransactionAbortableError(`cannot commit: the transaction must be aborted (${this.abortableError?.message ?? 'an earlier error'})`, this.abortableError);
      }
      this.requireState('commitTransaction', 'IN_TRANSACTION');
    } catch (e) {
      return Promise.reject(e);
    }
    this.transition('COMMITTING_TRANSACTION', 'commitTransaction');
    return this.blocking('commitTransaction', async () => {
      await this.addPartitionsIdle();
      await this.parts.flush();
      if (this.fatalError !== null) throw this.fatalError;
      if (this.abortableError !== null) {
        throw new TransactionAbortableError(`cannot commit: a record of the transaction failed (${this.abortableError.message}); call abortTransaction()`, this.abortableError);
      }
      await this.endTransaction(true);
    });
  }

  /** `reason`: what made the caller abort (fn's error in transaction(fn), close()); reported on onTransactionEnd. */
  abortTransaction(reason: Error | null = null): Promise<void> {
    if (this.pending?.call === 'abortTransaction') return this.blocking('abortTransaction', () => Promise.resolve());
    try {
      this.requireState('abortTransaction', 'IN_TRANSACTION', 'ABORTABLE_ERROR');
    } catch (e) {
      return Promise.reject(e);
    }
    const cause = this.abortableError;
    this.abortReason = reason ?? cause;
    this.transition('ABORTING_TRANSACTION', 'abortTransaction');
    return this.blocking('abortTransaction', async () => {
      this.parts.abortUndrained(new TransactionAbortedError('the transaction was aborted before the record was sent', cause ?? undefined));
      this.pendingPartitions.clear();
      await this.addPartitionsIdle();
      // batches already in requests complete either way: their records are written, then aborted
      await this.parts.flush();
      if (this.fatalError !== null) throw this.fatalError;
      await this.endTransaction(false);
    });
  }

  private async endTransaction(committed: boolean): Promise<void> {
    const needsBump = !this.tv2 && (!committed && (this.abortableError !== null || this.hasUnresolvedPartitions()));
    try {
      if (this.transactionStarted) {
        const next = await this.requests.endTxn(this.transactionalId!, this.producerId, this.producerEpoch, committed, this.tv2);
        // transactions v2: the coordinator bumped the epoch (or gave a new id); the next batches start at 0
        if (next !== null && (next.producerId !== this.producerId || next.producerEpoch !== this.producerEpoch)) this.setProducerIdAndEpoch(next.producerId, next.producerEpoch);
      }
    } catch (e) {
      this.handleRequestError(e);
    }
    this.resetTransaction();
    if (needsBump) {
      // v1: a failed batch left a gap in some partition's sequences; a new epoch restarts them all at 0
      this.transition('INITIALIZING');
      await this.initProducerIdTransactional(true);
    } else {
      this.transition('READY');
    }
    const reason = committed ? null : this.abortReason;
    this.abortReason = null;
    this.parts.onTransactionEnd?.(committed ? 'committed' : 'aborted', reason);
  }

  private resetTransaction(): void {
    for (const ps of this.partitionsInTransaction) ps.txnAdded = 0;
    for (const ps of this.pendingPartitions) ps.txnAdded = 0;
    this.partitionsInTransaction.clear();
    this.pendingPartitions.clear();
    this.transactionStarted = false;
    this.abortableError = null;
  }

  /** close() with a transaction open aborts it, as Java's does; errors are logged, not thrown. */
  async abortIfOpen(): Promise<void> {
    if (!this.isTransactional || this.fatalError !== null) return;
    // A commit that outlived its call (maxBlockMs) runs to its end first, as Java's sender finishes
    // one before it stops: cut off, its EndTxn might never reach the coordinator, which would then
    // hold the transaction open (and the partitions' last stable offset) until transactionTimeoutMs.
    // Past that timeout the coordinator has aborted it anyway, so close() waits no longer than that.
    const running = this.pending;
    if (running?.call === 'commitTransaction') {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([running.work.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, this.config.transactionTimeoutMs)))]);
      clearTimeout(timer);
    }
    if (this.fatalError !== null) return;
    if (this.state !== 'IN_TRANSACTION' && this.state !== 'ABORTABLE_ERROR' && this.pending?.call !== 'abortTransaction') return;
    try {
      await this.abortTransaction(new ProducerClosedError('the producer was closed with the transaction open'));
    } catch (e) {
      this.parts.logger.warn(`aborting the open transaction on close failed: ${(e as Error).message}`, { error: e as Error });
    }
  }

  close(): void {
    this.closed = true;
    this.requests.close();
  }

  // ---------------------------------------------------------------- producer id (idempotent producer)

  /**
   * Sender pass: an idempotent producer without an id asks for one (to any broker); nothing drains meanwhile.
   * Returns how long until it wants another pass (its retry backoff), so the sender's own timer covers the
   * retry: a timer of ours could fire before Date.now() reaches the backoff's end (libuv's cached clock, a
   * clock step) and then nothing would wake the sender again.
   */
  maybeRequestProducerId(now: number): number {
    if (this.isTransactional || this.producerId >= 0n || this.idRequest !== null || this.fatalError !== null || this.closed) return Number.POSITIVE_INFINITY;
    if (now < this.idRetryAt) return this.idRetryAt - now;
    this.idRequest = this.requests
      .initProducerId(null, null)
      .then(
        (r) => {
          this.setProducerIdAndEpoch(r.producerId, r.producerEpoch);
          this.state = 'READY';
          this.idFailures = 0;
        },
        (e: unknown) => {
          if (this.closed) return;
          const error = e instanceof RequestFatal || e instanceof RequestRetryableByUser || e instanceof RequestAbortable ? e.error : (e as Error);
          if (e instanceof RequestFatal || e instanceof RequestRetryableByUser) {
            this.fail(error instanceof KafkaError ? error : new KafkaError(error.message, { code: 'INIT_PRODUCER_ID_FAILED', cause: error }));
            return;
          }
          this.idFailures++;
          if (this.idFailures >= 5) this.parts.logger.warn(`InitProducerId failed ${this.idFailures} times; retrying: ${error.message}`, { error });
          else this.parts.logger.debug(`InitProducerId failed; retrying: ${error.message}`, { error });
          this.idRetryAt = Date.now() + Math.max(this.config.retryBackoffMs, 1);
        },
      )
      .finally(() => {
        this.idRequest = null;
        this.parts.wakeSender();
      });
    return Number.POSITIVE_INFINITY;
  }

  private setProducerIdAndEpoch(producerId: bigint, producerEpoch: number): void {
    this.producerId = producerId;
    this.producerEpoch = producerEpoch;
    // nothing is in flight at a transaction boundary: the flags of the old epoch no longer matter
    if (this.isTransactional) {
      for (const ps of this.toResolve) {
        ps.unresolved = false;
        ps.needsEpochBump = false;
      }
      this.toResolve.clear();
    }
  }

  private hasUnresolvedPartitions(): boolean {
    for (const ps of this.toResolve) if (ps.unresolved || ps.needsEpochBump) return true;
    return false;
  }

  /**
   * Sender pass: partitions with a failed sequenced batch are resolved once nothing of theirs is in
   * flight: as they are if every sequence given out was acknowledged, else by an epoch bump.
   */
  maybeResolveSequences(): void {
    if (this.toResolve.size === 0 || this.isTransactional) return;
    let bump: PartitionState[] | null = null;
    for (const ps of this.toResolve) {
      if (ps.inFlight > 0) continue;
      if (!ps.needsEpochBump && ps.sequenceEpoch === this.producerEpoch && ps.sequenceProducerId === this.producerId && nextSeq(ps.lastAckedSequence, 1) === ps.nextSequence) {
        ps.unresolved = false;
        this.toResolve.delete(ps);
        continue;
      }
      (bump ??= []).push(ps);
    }
    if (bump === null) return;
    this.bumpIdempotentEpoch(bump);
  }

  /** KIP-360, done locally: epoch + 1 (a new id at the last epoch); the partitions restart at sequence 0. */
  private bumpIdempotentEpoch(partitions: readonly PartitionState[]): void {
    if (this.producerEpoch >= MAX_EPOCH) {
      this.parts.logger.info('producer epoch exhausted; requesting a new producer id');
      this.producerId = -1n;
      this.producerEpoch = -1;
    } else {
      this.producerEpoch++;
      this.parts.logger.info(`bumped the producer epoch to ${this.producerEpoch} to reset the sequences of ${partitions.length} partition(s)`);
    }
    for (const ps of partitions) {
      for (const b of ps.sequenced) clearSequence(b);
      ps.sequenced.length = 0;
      ps.nextSequence = 0;
      ps.lastAckedSequence = -1;
      ps.sequenceEpoch = this.producerEpoch;
      ps.sequenceProducerId = this.producerId;
      ps.unresolved = false;
      ps.needsEpochBump = false;
      this.toResolve.delete(ps);
    }
    this.parts.wakeSender();
  }

  // ---------------------------------------------------------------- BatchSequencer (accumulator)

  batchCreated(ps: PartitionState): void {
    if (!this.isTransactional || this.tv2 || ps.txnAdded !== 0) return;
    ps.txnAdded = 1;
    this.pendingPartitions.add(ps);
    this.runAddPartitions();
  }

  mayDrain(ps: PartitionState, first: ProducerBatch): boolean {
    if (this.producerId < 0n || this.fatalError !== null) return false;
    if (ps.unresolved || ps.needsEpochBump) return false;
    if (this.isTransactional && !this.tv2 && ps.txnAdded !== 2) return false;
    if (first.baseSequence >= 0) {
      // a retry goes out only once every earlier batch of its partition was acknowledged
      return ps.sequenced[0] === first;
    }
    // a new batch under a new epoch waits until every batch of the old epoch completed, then starts at 0
    if (ps.sequenceEpoch !== this.producerEpoch || ps.sequenceProducerId !== this.producerId) return ps.sequenced.length === 0;
    return true;
  }

  closeOptions(batch: ProducerBatch): RecordBatchCloseOptions {
    const transactional = this.isTransactional;
    if (batch.baseSequence >= 0) return { producerId: batch.producerId, producerEpoch: batch.producerEpoch, baseSequence: batch.baseSequence, isTransactional: transactional };
    if (this.producerId < 0n) return { isTransactional: transactional };
    // the sequence the drain will give it: after the new batches queued ahead of it
    const ps = batch.partitionState;
    let seq = ps.sequenceEpoch === this.producerEpoch && ps.sequenceProducerId === this.producerId ? ps.nextSequence : 0;
    for (const b of ps.queue) {
      if (b === batch) break;
      if (b.baseSequence < 0) seq = nextSeq(seq, b.recordCount);
    }
    return { producerId: this.producerId, producerEpoch: this.producerEpoch, baseSequence: seq, isTransactional: transactional };
  }

  drained(batch: ProducerBatch): void {
    const ps = batch.partitionState;
    if (batch.baseSequence < 0) {
      if (ps.sequenceEpoch !== this.producerEpoch || ps.sequenceProducerId !== this.producerId) {
        ps.nextSequence = 0;
        ps.lastAckedSequence = -1;
        ps.sequenceEpoch = this.producerEpoch;
        ps.sequenceProducerId = this.producerId;
      }
      batch.baseSequence = ps.nextSequence;
      batch.producerId = this.producerId;
      batch.producerEpoch = this.producerEpoch;
      ps.nextSequence = nextSeq(ps.nextSequence, batch.recordCount);
      ps.sequenced.push(batch);
      if (this.isTransactional) this.transactionStarted = true;
    }
    const bytes = batch.bytes!;
    if (
      bytes.readBigInt64BE(PRODUCER_ID_OFFSET) !== batch.producerId ||
      bytes.readInt16BE(PRODUCER_EPOCH_OFFSET) !== batch.producerEpoch ||
      bytes.readInt32BE(BASE_SEQUENCE_OFFSET) !== batch.baseSequence
    ) {
      // closed before the id was known or before an epoch bump: rewrite the header (and the CRC)
      setProducerState(bytes, batch.producerId, batch.producerEpoch, batch.baseSequence);
    }
  }

  split(batch: ProducerBatch, parts: readonly ProducerBatch[]): void {
    if (batch.baseSequence < 0) return;
    const ps = batch.partitionState;
    const at = ps.sequenced.indexOf(batch);
    // the broker wrote none of the big batch: its parts take over its sequence range, in order
    let seq = batch.baseSequence;
    for (const part of parts) {
      part.baseSequence = seq;
      part.producerId = batch.producerId;
      part.producerEpoch = batch.producerEpoch;
      seq = nextSeq(seq, part.recordCount);
    }
    if (at >= 0) ps.sequenced.splice(at, 1, ...parts);
    clearSequence(batch);
  }

  // ---------------------------------------------------------------- outcomes (sender / accumulator)

  batchAcked(batch: ProducerBatch): void {
    const ps = batch.partitionState;
    if (batch.baseSequence < 0) return;
    const last = nextSeq(batch.baseSequence, batch.recordCount - 1);
    if (batch.producerEpoch === ps.sequenceEpoch && batch.producerId === ps.sequenceProducerId) {
      if (ps.lastAckedSequence < 0 || seqAfter(last, ps.lastAckedSequence)) ps.lastAckedSequence = last;
    }
    removeSequenced(ps, batch);
  }

  /** A late success of a batch already failed (delivery timeout): the log has it, so its sequences count. */
  lateAcked(batch: ProducerBatch): void {
    const ps = batch.partitionState;
    if (batch.baseSequence < 0 || batch.producerEpoch !== ps.sequenceEpoch || batch.producerId !== ps.sequenceProducerId) return;
    const last = nextSeq(batch.baseSequence, batch.recordCount - 1);
    if (ps.lastAckedSequence < 0 || seqAfter(last, ps.lastAckedSequence)) ps.lastAckedSequence = last;
  }

  /** Every batch failed for good, whoever failed it. */
  batchFailed(batch: ProducerBatch, error: Error): void {
    const ps = batch.partitionState;
    if (batch.baseSequence >= 0) {
      const current = removeSequenced(ps, batch) && batch.producerEpoch === ps.sequenceEpoch && batch.producerId === ps.sequenceProducerId;
      if (current) {
        // a gap in the sequences (or a record that may be in the log): resolve before sending more here
        ps.unresolved = true;
        this.toResolve.add(ps);
      }
    }
    if (this.isTransactional && (this.state === 'IN_TRANSACTION' || this.state === 'COMMITTING_TRANSACTION')) this.toAbortable(error);
  }

  /** The idempotence-specific reading of a Produce error for a batch (DESIGN.md table). */
  produceError(batch: ProducerBatch, errorCode: number, error: KafkaProtocolError): ProduceErrorAction {
    const ps = batch.partitionState;
    switch (errorCode) {
      case OUT_OF_ORDER_SEQUENCE_NUMBER:
      case UNKNOWN_PRODUCER_ID: {
        if (this.isTransactional) return { action: 'fail', error };
        const current = batch.producerEpoch === ps.sequenceEpoch && batch.producerId === ps.sequenceProducerId;
        const nextExpected = batch.baseSequence === nextSeq(ps.lastAckedSequence, 1);
        if (errorCode === UNKNOWN_PRODUCER_ID || (current && nextExpected)) {
          // the broker lost (or never had) our state for this partition: restart it under a new epoch
          ps.needsEpochBump = true;
          this.toResolve.add(ps);
        }
        return { action: 'retry' };
      }
      case INVALID_PRODUCER_EPOCH:
      case PRODUCER_FENCED:
        if (this.isTransactional) {
          const fenced = new ProducerFencedError(
            `producer ${this.producerId} epoch ${this.producerEpoch} of transactionalId ${this.transactionalId} was fenced by a newer producer with the same transactionalId (${error.message})`,
            error,
          );
          this.fail(fenced);
          return { action: 'fail', error: fenced };
        }
        return { action: 'fail', error };
      case TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
      case CLUSTER_AUTHORIZATION_FAILED:
      case INVALID_PRODUCER_ID_MAPPING:
        this.fail(error);
        return { action: 'fail', error };
      case TRANSACTION_ABORTABLE:
        return { action: 'fail', error };
      default:
        return null;
    }
  }

  // ---------------------------------------------------------------- transactions v1: AddPartitionsToTxn

  private runAddPartitions(): void {
    if (this.addPartitions !== null) return;
    this.addPartitions = (async () => {
      while (this.pendingPartitions.size > 0 && !this.closed && this.fatalError === null) {
        if (this.state !== 'IN_TRANSACTION' && this.state !== 'COMMITTING_TRANSACTION') break;
        const batch = [...this.pendingPartitions];
        try {
          const failed = await this.requests.addPartitionsToTxn(this.transactionalId!, this.producerId, this.producerEpoch, batch, this.partitionsInTransaction.size === 0);
          for (const ps of batch) {
            if (failed.has(ps)) continue;
            // Added on the coordinator even when an abort cleared it from pendingPartitions meanwhile: the
            // transaction has begun there, so the abort must send EndTxn (else the coordinator keeps it open
            // until the transaction timeout and then fences us), and resetTransaction must see the partition.
            this.pendingPartitions.delete(ps);
            ps.txnAdded = 2;
            this.partitionsInTransaction.add(ps);
            this.transactionStarted = true;
          }
          this.releaseOrphans(batch);
          this.parts.wakeSender();
        } catch (e) {
          this.releaseOrphans(batch);
          try {
            this.handleRequestError(e);
          } catch {
            // recorded as the transaction's (or the producer's) error; the user sees it on commit
          }
          break;
        }
      }
    })().finally(() => {
      this.addPartitions = null;
      if (this.pendingPartitions.size > 0 && (this.state === 'IN_TRANSACTION' || this.state === 'COMMITTING_TRANSACTION') && this.fatalError === null) this.runAddPartitions();
    });
  }

  /**
   * A partition of a finished AddPartitionsToTxn that is neither added nor still pending was dropped by
   * an abort while the request was out: back to "not added", or the next transaction would never add it
   * (batchCreated skips txnAdded 1) and its batches would wait for a drain that never comes.
   */
  private releaseOrphans(batch: readonly PartitionState[]): void {
    for (const ps of batch) if (!this.pendingPartitions.has(ps) && !this.partitionsInTransaction.has(ps)) ps.txnAdded = 0;
  }

  private async addPartitionsIdle(): Promise<void> {
    while (this.addPartitions !== null) await this.addPartitions;
  }
}

function clearSequence(b: ProducerBatch): void {
  b.baseSequence = -1;
  b.producerId = -1n;
  b.producerEpoch = -1;
}

function removeSequenced(ps: PartitionState, batch: ProducerBatch): boolean {
  const list = ps.sequenced;
  if (list[0] === batch) {
    list.shift();
    return true;
  }
  const i = list.indexOf(batch);
  if (i < 0) return false;
  list.splice(i, 1);
  return true;
}

/** seq + n, wrapping at Integer.MAX_VALUE to 0 as the broker does. */
export function nextSeq(seq: number, n: number): number {
  const v = seq + n;
  return v > INT32_MAX ? v - INT32_MAX - 1 : v;
}

/** Whether sequence a comes after b (sequences wrap; a window of half the space is enough). */
function seqAfter(a: number, b: number): boolean {
  const d = a - b;
  return d > 0 ? d < 0x40000000 : d < -0x40000000;
}
