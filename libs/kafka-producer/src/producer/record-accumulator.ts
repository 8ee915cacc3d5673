import type { RecordHeader } from '../protocol/records/record-batch';
import { RecordBatchBuilder, type RecordBatchCloseOptions } from '../protocol/records/record-batch-builder';
import type { Decompress } from '../protocol/records/record-batch-decoder';
import { splitBatch } from './batch-splitter';
import { BufferExhaustedError, BufferPool } from './buffer-pool';
import type { BuiltInPartitioner } from './built-in-partitioner';
import { BatchCompressionError } from './errors';
import { MemoryWaits, WaitBudget, type MemoryWait } from './memory-waits';
import type { ProducerMetrics } from './metrics';
import { ProducerBatch } from './producer-batch';
import type { PartitionState, ProducerTopics } from './topic-state';
import type { RecordMetadata } from './types';

export interface AccumulatorConfig {
  readonly batchSize: number;
  /** Batches grow towards this while a partition backs up (see nextBatchSize); default batchSize: no growth. */
  readonly batchMaxSize?: number;
  readonly bufferMemory: number;
  readonly lingerMs: number;
  readonly retryBackoffMs: number;
  readonly retryBackoffMaxMs: number;
  readonly deliveryTimeoutMs: number;
}

/** The configured compression codec, as the accumulator uses it. */
export interface BatchCodec {
  readonly name: string;
  compress(builder: RecordBatchBuilder, options?: RecordBatchCloseOptions): Buffer;
  /** On the thread pool; used for batches of at least `asyncThreshold` bytes. */
  compressAsync(builder: RecordBatchBuilder, options?: RecordBatchCloseOptions): Promise<Buffer>;
  readonly asyncThreshold: number;
  /** For splitting a compressed batch. */
  readonly decompress: Decompress;
}

/**
 * The idempotent producer's say in batching (the TransactionManager): which partitions may drain, the
 * producer fields a batch header is written with, and the sequence a batch gets when drained.
 */
export interface BatchSequencer {
  /** A new batch was started for the partition (transactions v1 add the partition here). */
  batchCreated(ps: PartitionState): void;
  /** Whether the partition's first batch may go into a request now. */
  mayDrain(ps: PartitionState, first: ProducerBatch): boolean;
  /** Header fields to close the batch with (the sequence the drain is expected to give it). */
  closeOptions(batch: ProducerBatch): RecordBatchCloseOptions;
  /** The batch was taken for a request: it gets its sequence now (re-stamped if the prediction failed). */
  drained(batch: ProducerBatch): void;
  /** A batch was split after MESSAGE_TOO_LARGE: its parts take over its sequences. */
  split(batch: ProducerBatch, parts: readonly ProducerBatch[]): void;
}

export interface AccumulatorParts {
  readonly topics: ProducerTopics;
  readonly partitioner?: BuiltInPartitioner;
  readonly metrics?: ProducerMetrics;
  /** Null for compressionType none. */
  readonly codec?: BatchCodec | null;
  /** Wakes the sender: queued appends or asynchronous compression made progress. */
  readonly onProgress: () => void;
  /** Told of every batch failed for good (the sender keeps the last error for health). */
  readonly onBatchFailed?: (batch: ProducerBatch, error: Error) => void;
  /** Present when the producer is idempotent. */
  readonly sequencer?: BatchSequencer;
}

export interface ReadyCheck {
  readonly readyNodes: Set<number>;
  /** Milliseconds until a partition that is not ready yet may become ready (linger or backoff). */
  readonly nextReadyCheckDelayMs: number;
  readonly unknownLeaderTopics: Set<string>;
}

/** tryAppend's answer when the sticky partition should move on before a new batch is started. */
const SWITCH_PARTITION = 1;
const NO_MEMORY = 2;

interface FlushBarrier {
  /** Phase 1: every memory wait with a smaller seq must have left the queue. */
  memorySeq: number;
  /** Phase 2: batches with id <= upTo still incomplete; -1 while in phase 1. */
  upTo: number;
  remaining: number;
  readonly resolve: () => void;
}

/**
 * Per-partition queues of ProducerBatch, as in the Java RecordAccumulator. Only the last batch of a
 * queue accepts appends; the sender takes batches from the front. A partition is sendable when its
 * first batch is full (or more than one is queued), its linger has passed, a flush or close is under
 * way, someone waits for memory, or its retry backoff has passed.
 *
 * The accumulator also owns the end of every batch: `complete` and `fail` settle its records, give its
 * memory back and move flushes on, whoever decided the outcome (sender, expiry, codec, close).
 */
export class RecordAccumulator {
  readonly pool: BufferPool;
  readonly waitBudget: WaitBudget;
  private readonly memoryWaits: MemoryWaits;
  private readonly incomplete = new Set<ProducerBatch>();
  private nextBatchId = 0;
  private flushesInProgress = 0;
  private barriers: FlushBarrier[] = [];
  private readonly drainIndex = new Map<number, number>();
  private closing = false;
  private readonly topics: ProducerTopics;
  private readonly partitioner: BuiltInPartitioner | undefined;
  private readonly metrics: ProducerMetrics | undefined;
  private readonly codec: BatchCodec | null;
  private readonly onProgress: () => void;
  private readonly onBatchFailed: (batch: ProducerBatch, error: Error) => void;
  private readonly sequencer: BatchSequencer | undefined;
  /** Set by tryAppend: whether the append just done should wake the sender (new or full batch). */
  private appendWakes = false;

  constructor(
    private readonly config: AccumulatorConfig,
    parts: AccumulatorParts,
  ) {
    this.topics = parts.topics;
    this.partitioner = parts.partitioner;
    this.metrics = parts.metrics;
    this.codec = parts.codec ?? null;
    this.onProgress = parts.onProgress;
    this.onBatchFailed = parts.onBatchFailed ?? (() => undefined);
    this.sequencer = parts.sequencer;
    this.pool = new BufferPool(config.bufferMemory, config.batchSize, () => this.serveMemoryWaits(Date.now()), config.batchMaxSize ?? config.batchSize);
    this.waitBudget = new WaitBudget(config.bufferMemory, () => this.pool.availableMemory);
    this.memoryWaits = new MemoryWaits(
      this.waitBudget,
      (e, now) => this.expireMemoryWait(e, now),
      () => this.advanceBarriers(),
    );
  }

  /** Appends waiting for memory (Java's waiting-threads). */
  get waitingForMemory(): number {
    return this.memoryWaits.size;
  }

  /** Batches not yet completed, queued or in flight. */
  get incompleteCount(): number {
    return this.incomplete.size;
  }

  get isFlushing(): boolean {
    return this.flushesInProgress > 0;
  }

  /** Records and bytes still queued in the accumulator (not in flight), for health snapshots. */
  queuedStats(): { records: number; bytes: number; batches: number } {
    let records = 0;
    let bytes = 0;
    let batches = 0;
    for (const t of this.topics.values()) {
      for (const ps of t.partitions.values()) {
        for (const b of ps.queue) {
          records += b.recordCount;
          bytes += b.sizeInBytes;
          batches++;
        }
      }
    }
    return { records, bytes, batches };
  }

  /**
   * Appends a record to the partition's open batch, starting a new batch (memory from the BufferPool)
   * when it does not fit. When memory is short, the append waits in FIFO order, and so does every later
   * append, so that records of one partition keep their send order; it fails with BufferExhaustedError
   * if no memory comes free before `deadlineMs`, or at once when the waiting records already hold
   * another bufferMemory of bytes. `sticky` says the built-in partitioner chose the partition (it may
   * move on at a batch boundary). Returns whether the sender should be woken now.
   */
  append(
    partition: PartitionState,
    sticky: boolean,
    timestamp: number,
    key: Buffer | null,
    value: Buffer | null,
    headers: RecordHeader[] | null,
    resolve: (metadata: RecordMetadata) => void,
    reject: (error: Error) => void,
    nowMs: number,
    deadlineMs: number,
  ): boolean {
    if (this.memoryWaits.isEmpty) {
      let ps = partition;
      let isSticky = sticky;
      for (;;) {
        const outcome = this.tryAppend(ps, isSticky, timestamp, key, value, headers, resolve, reject, nowMs);
        if (outcome === SWITCH_PARTITION) {
          // the sticky partition moves on at a batch boundary (KIP-794): pick again and retry
          ps = ps.topicState.partition(this.partitioner!.partition(ps.topicState.info!));
          isSticky = false;
          continue;
        }
        if (outcome !== NO_MEMORY) return this.appendWakes;
        break;
      }
    }
    const size = RecordBatchBuilder.estimateSize(key, value, headers);
    if (!this.waitBudget.tryReserve(size)) {
      this.metrics?.recordBufferExhausted();
      reject(
        new BufferExhaustedError(
          `Failed to allocate ${size} bytes: bufferMemory (${this.config.bufferMemory} bytes) is in use and sends waiting already hold ${this.waitBudget.bytes} bytes; the producer is outpacing the brokers, wait for earlier sends before sending more.`,
        ),
      );
      return false;
    }
    this.memoryWaits.push({ partition, sticky, timestamp, key, value, headers, resolve, reject, enqueuedMs: nowMs, deadlineMs, size });
    return true; // a waiting append makes every partition sendable, which frees memory
  }

  /** Appends at once if memory allows; NO_MEMORY (nothing done) when the pool cannot supply a new batch. */
  private tryAppend(
    ps: PartitionState,
    sticky: boolean,
    timestamp: number,
    key: Buffer | null,
    value: Buffer | null,
    headers: RecordHeader[] | null,
    resolve: (metadata: RecordMetadata) => void,
    reject: (error: Error) => void,
    nowMs: number,
  ): ProducerBatch | typeof SWITCH_PARTITION | typeof NO_MEMORY {
    const queue = ps.queue;
    const last = queue.length > 0 ? queue[queue.length - 1] : undefined;
    const sizeBefore = last === undefined ? 0 : last.sizeInBytes;
    if (last !== undefined && last.tryAppend(timestamp, key, value, headers, resolve, reject)) {
      this.appendWakes = queue.length > 1 || last.isFull;
      if (sticky) this.partitioner?.recordAppended(ps.topicState.info!, ps.partition, last.sizeInBytes - sizeBefore, last.isFull, last.buffer.length);
      return last;
    }
    if (sticky && this.partitioner !== undefined && this.partitioner.switchAtBatchBoundary(ps.topicState.info!, ps.partition)) return SWITCH_PARTITION;
    // A record bigger than the batch gets a batch of its own size, as in Java.
    const least = Math.max(this.config.batchSize, RecordBatchBuilder.estimateSize(key, value, headers));
    const size = Math.max(this.nextBatchSize(ps, last), least);
    let buffer = this.pool.tryAllocate(size);
    // growth is opportunistic: when memory is short, a batch of the ungrown size rather than a wait
    if (buffer === null && size > least) buffer = this.pool.tryAllocate(least);
    if (buffer === null) return NO_MEMORY;
    // closing the old batch compresses it; a codec failure fails that batch alone
    if (last !== undefined && last.state === 'open') this.closeBatch(last);
    const batch = new ProducerBatch(ps, buffer, nowMs);
    if (!batch.tryAppend(timestamp, key, value, headers, resolve, reject)) {
      this.pool.deallocate(buffer);
      throw new Error(`internal: a record of estimated size ${size} did not fit a new batch of ${size} bytes`);
    }
    batch.id = this.nextBatchId++;
    batch.order = batch.id;
    queue.push(batch);
    this.sequencer?.batchCreated(ps);
    this.incomplete.add(batch);
    this.appendWakes = true;
    if (sticky) this.partitioner?.recordAppended(ps.topicState.info!, ps.partition, batch.sizeInBytes, batch.isFull, size);
    return batch;
  }

  /**
   * The size of a partition's next batch. `last` is the newest batch still in the partition's queue
   * (undefined when the sender has taken every batch). A batch needed while an earlier one still waits
   * means the partition produces faster than its batches leave: fewer, larger batches (more records per
   * request, less per-batch work on both sides) are what lets it catch up, so the new one gets twice the
   * size of that one. With nothing queued, the size the last drained batch left behind
   * (`PartitionState.batchCapacity`): kept when that batch left full, halved when it left on lingerMs.
   * So a steady producer keeps its size, and one that slows down is back at batchSize within a few
   * batches; at low rates every batch is batchSize and leaves on lingerMs, exactly as in Java.
   */
  private nextBatchSize(ps: PartitionState, last: ProducerBatch | undefined): number {
    const batchSize = this.config.batchSize;
    const max = ps.batchGrowthLimit > 0 ? Math.min(ps.batchGrowthLimit, this.config.batchMaxSize ?? batchSize) : (this.config.batchMaxSize ?? batchSize);
    if (max <= batchSize) return batchSize;
    const wanted = last !== undefined ? last.buffer.length * 2 : ps.batchCapacity;
    return wanted <= batchSize ? batchSize : Math.min(max, wanted);
  }

  /**
   * Closes a batch (compressing it). If the codec throws, the batch is taken out of its queue and fails
   * with a BatchCompressionError; returns false then.
   */
  private closeBatch(batch: ProducerBatch): boolean {
    try {
      const options = this.sequencer?.closeOptions(batch);
      batch.close(this.codec === null ? undefined : (b) => this.codec!.compress(b, options), options);
      return true;
    } catch (e) {
      this.removeFromQueue(batch);
      this.fail(batch, new BatchCompressionError(batch.topic, batch.partition, this.codec?.name ?? 'none', e));
      return false;
    }
  }

  private removeFromQueue(batch: ProducerBatch): void {
    const queue = batch.partitionState.queue;
    const i = queue.indexOf(batch);
    if (i >= 0) queue.splice(i, 1);
  }

  /** Serves waiting appends in order for as long as memory allows. */
  private serveMemoryWaits(nowMs: number): void {
    let served = false;
    for (let e = this.memoryWaits.peek(); e !== undefined; e = this.memoryWaits.peek()) {
      let ps = e.partition;
      let sticky = e.sticky;
      let outcome = this.tryAppend(ps, sticky, e.timestamp, e.key, e.value, e.headers, e.resolve, e.reject, nowMs);
      while (outcome === SWITCH_PARTITION) {
        ps = ps.topicState.partition(this.partitioner!.partition(ps.topicState.info!));
        sticky = false;
        outcome = this.tryAppend(ps, sticky, e.timestamp, e.key, e.value, e.headers, e.resolve, e.reject, nowMs);
      }
      if (outcome === NO_MEMORY) break;
      this.metrics?.recordBufferWait((nowMs - e.enqueuedMs) * 1e6);
      this.memoryWaits.shift();
      served = true;
    }
    if (!served) return;
    this.advanceBarriers();
    this.onProgress();
  }

  private expireMemoryWait(e: MemoryWait, nowMs: number): void {
    this.metrics?.recordBufferExhausted();
    const size = Math.max(this.config.batchSize, e.size);
    e.reject(
      new BufferExhaustedError(
        `Failed to allocate ${size} bytes within the configured max blocking time ${nowMs - e.enqueuedMs} ms. Total memory: ${this.pool.totalMemory} bytes. Available memory: ${this.pool.availableMemory} bytes. Poolable size: ${this.pool.poolableSize} bytes`,
      ),
    );
  }

  private backoffMs(attempts: number): number {
    if (attempts <= 0) return 0;
    const exp = this.config.retryBackoffMs * 2 ** (attempts - 1);
    const capped = Math.min(exp, this.config.retryBackoffMaxMs);
    // ±20% jitter, as in Java's ExponentialBackoff, so retries of many partitions do not move in lockstep
    return capped * (0.8 + Math.random() * 0.4);
  }

  ready(nowMs: number): ReadyCheck {
    const readyNodes = new Set<number>();
    const unknownLeaderTopics = new Set<string>();
    let next = Number.POSITIVE_INFINITY;
    // Java's "exhausted": someone waits for memory, so send everything to free some
    const flushing = this.flushesInProgress > 0 || this.closing || !this.memoryWaits.isEmpty;
    for (const t of this.topics.values()) {
      if (t.partitions.size === 0) continue;
      this.partitioner?.updateLoadStatsFromQueues(t.name, t.partitions, this.topics);
      for (const ps of t.partitions.values()) {
        const first = ps.queue[0];
        if (first === undefined) continue;
        const leader = ps.leaderId;
        if (leader < 0) {
          unknownLeaderTopics.add(t.name);
          continue;
        }
        if (readyNodes.has(leader)) continue;
        const waited = nowMs - (first.attempts > 0 ? first.lastAttemptMs : first.createdMs);
        const backingOff = first.attempts > 0 && waited < first.retryBackoffMs;
        const timeToWait = backingOff ? first.retryBackoffMs : this.config.lingerMs;
        const full = ps.queue.length > 1 || first.isFull || first.state !== 'open';
        const expired = waited >= timeToWait;
        if (!backingOff && (full || expired || flushing)) readyNodes.add(leader);
        else next = Math.min(next, Math.max(timeToWait - waited, 0));
      }
    }
    return { readyNodes, nextReadyCheckDelayMs: next, unknownLeaderTopics };
  }

  /**
   * Takes at most one batch per partition for each ready node, walking the node's partitions
   * round-robin from where the last drain stopped, until maxRequestSize would be exceeded (a single
   * oversized batch still goes alone).
   */
  drain(readyNodes: Iterable<number>, maxRequestSize: number, nowMs: number, isMuted: (ps: PartitionState) => boolean): Map<number, ProducerBatch[]> {
    const out = new Map<number, ProducerBatch[]>();
    for (const node of readyNodes) {
      const parts = this.topics.partitionsLedBy(node);
      if (parts.length === 0) continue;
      const ready: ProducerBatch[] = [];
      let size = 0;
      const start = (this.drainIndex.get(node) ?? 0) % parts.length;
      for (let i = 0; i < parts.length; i++) {
        const index = (start + i) % parts.length;
        const ps = parts[index];
        const first = ps.queue[0];
        if (first === undefined || isMuted(ps)) continue;
        if (this.sequencer !== undefined && !this.sequencer.mayDrain(ps, first)) continue;
        if (first.attempts > 0 && nowMs - first.lastAttemptMs < first.retryBackoffMs) continue;
        if (first.state === 'compressing') continue;
        if (first.bytes === null && this.codec !== null && first.builder.sizeInBytes >= this.codec.asyncThreshold) {
          // big batch: compress off the event loop; it is drained on a later pass
          const options = this.sequencer?.closeOptions(first);
          first.closeAsync(
            (b) => this.codec!.compressAsync(b, options),
            (b) => this.codec!.compress(b, options),
            (error) => this.compressedAsync(first, error),
          );
          continue;
        }
        // before closing it (a closed batch reads as full): did it fill up, or leave on lingerMs?
        const filled = first.isFull || first.state !== 'open' || ps.queue.length > 1;
        if (!this.closeBatch(first)) continue;
        const bytes = first.bytes!;
        if (ready.length > 0 && size + bytes.length > maxRequestSize) {
          this.drainIndex.set(node, index);
          break;
        }
        ps.queue.shift();
        if (first.attempts === 0) ps.batchCapacity = filled ? first.buffer.length : first.buffer.length >>> 1;
        this.sequencer?.drained(first);
        first.drainedMs = nowMs;
        size += bytes.length;
        ready.push(first);
        this.drainIndex.set(node, index + 1);
      }
      if (ready.length > 0) out.set(node, ready);
    }
    return out;
  }

  private compressedAsync(batch: ProducerBatch, error: Error | null): void {
    if (error !== null && !batch.isDone) {
      this.removeFromQueue(batch);
      this.fail(batch, new BatchCompressionError(batch.topic, batch.partition, this.codec?.name ?? 'none', error));
    }
    this.onProgress();
  }

  /** Puts a batch that failed with a retriable error back into its queue, in creation order. */
  reenqueue(batch: ProducerBatch, nowMs: number): void {
    batch.attempts++;
    batch.lastAttemptMs = nowMs;
    batch.retryBackoffMs = this.backoffMs(batch.attempts);
    batch.state = 'closed';
    this.insertInOrder(batch);
  }

  /** Puts drained batches that never reached a request back where they were (no attempt counted). */
  requeue(batches: readonly ProducerBatch[]): void {
    for (const b of batches) {
      b.state = 'closed';
      this.insertInOrder(b);
    }
  }

  /**
   * A retried batch goes before every newer batch of its partition, so retries keep the order of
   * creation even when several batches of a partition fail in one response.
   */
  private insertInOrder(batch: ProducerBatch): void {
    const queue = batch.partitionState.queue;
    let i = 0;
    while (i < queue.length && queue[i].order < batch.order) i++;
    queue.splice(i, 0, batch);
  }

  /**
   * Splits a batch the broker rejected as too large into smaller batches with the same records and
   * completion handlers, queued in its place. Returns the number of new batches.
   */
  splitAndReenqueue(batch: ProducerBatch): number {
    const parts = splitBatch(batch, this.config.batchSize, batch.bytes!, this.codec?.decompress);
    // the broker takes less than this batch: later batches of the partition stop growing below it
    // (batchSize × 2^k, the sizes the pool keeps; never below batchSize, which is the user's own choice)
    const ps = batch.partitionState;
    let limit = this.config.batchSize;
    while (limit * 2 < batch.bytes!.length) limit *= 2;
    if (ps.batchGrowthLimit === 0 || limit < ps.batchGrowthLimit) ps.batchGrowthLimit = limit;
    if (ps.batchCapacity > limit) ps.batchCapacity = limit;
    // the old batch's records now live in the parts; it completes silently and gives its memory back
    this.incomplete.delete(batch);
    batch.state = 'succeeded';
    for (const part of parts) {
      this.incomplete.add(part);
      this.insertInOrder(part);
    }
    this.sequencer?.split(batch, parts);
    // counted before closing: a part whose codec fails completes at once
    for (const barrier of this.barriers) if (barrier.upTo >= batch.id) barrier.remaining += parts.length - 1;
    for (const part of parts) this.closeBatch(part);
    if (batch.pooled) this.pool.deallocate(batch.buffer);
    this.advanceBarriers();
    return parts.length;
  }

  /** Removes and returns queued batches whose delivery timeout has passed. */
  expireQueued(nowMs: number): ProducerBatch[] {
    let expired: ProducerBatch[] | null = null;
    for (const t of this.topics.values()) {
      for (const ps of t.partitions.values()) {
        const queue = ps.queue;
        while (queue.length > 0 && nowMs - queue[0].createdMs >= this.config.deliveryTimeoutMs && queue[0].state !== 'compressing') {
          (expired ??= []).push(queue.shift()!);
        }
      }
    }
    return expired ?? EMPTY_BATCHES;
  }

  /** Earliest delivery deadline among queued batches, to bound the sender's sleep. */
  nextExpiryMs(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const t of this.topics.values()) {
      for (const ps of t.partitions.values()) {
        if (ps.queue.length > 0) next = Math.min(next, ps.queue[0].createdMs + this.config.deliveryTimeoutMs);
      }
    }
    return next;
  }

  /** The batch succeeded: settles its records, frees its memory, moves flushes on. */
  complete(batch: ProducerBatch, baseOffset: bigint, logAppendTimeMs: number): void {
    batch.succeed(baseOffset, logAppendTimeMs);
    this.completed(batch);
  }

  /** The batch failed for good: rejects its records with `error`, frees its memory, moves flushes on. */
  fail(batch: ProducerBatch, error: Error): void {
    if (batch.isDone) return;
    this.metrics?.recordError(batch.recordCount);
    batch.fail(error);
    this.onBatchFailed(batch, error);
    this.completed(batch);
  }

  private completed(batch: ProducerBatch): void {
    if (!this.incomplete.delete(batch)) return;
    // flush bookkeeping first: deallocating serves memory waits, which may start new batches
    for (const barrier of this.barriers) if (barrier.upTo >= batch.id) barrier.remaining--;
    if (batch.pooled) {
      if (batch.requestOutstanding) batch.releaseDeferred = true;
      else this.pool.deallocate(batch.buffer);
    }
    this.advanceBarriers();
  }

  /** The request of a batch that completed while it was out has settled: its buffer may be reused now. */
  releaseDeferred(batch: ProducerBatch): void {
    if (!batch.releaseDeferred) return;
    batch.releaseDeferred = false;
    this.pool.deallocate(batch.buffer);
  }

  /**
   * Makes every queued batch ready and resolves once every record appended so far, including those
   * waiting for memory, is in a batch that completed (succeeded or failed). Batches started later for
   * other records do not hold it up.
   */
  flush(): Promise<void> {
    if (this.incomplete.size === 0 && this.memoryWaits.isEmpty) return Promise.resolve();
    this.flushesInProgress++;
    return new Promise((resolve) => {
      this.barriers.push({ memorySeq: this.memoryWaits.seqMark, upTo: -1, remaining: 0, resolve });
      this.advanceBarriers();
    });
  }

  private advanceBarriers(): void {
    if (this.barriers.length === 0) return;
    let done: FlushBarrier[] | null = null;
    for (const b of this.barriers) {
      if (b.upTo < 0) {
        if (this.memoryWaits.oldestSeq < b.memorySeq) continue;
        // every record it covers is in a batch now: count the batches it waits for
        b.upTo = this.nextBatchId - 1;
        b.remaining = this.incomplete.size;
      }
      if (b.remaining <= 0) (done ??= []).push(b);
    }
    if (done === null) return;
    this.barriers = this.barriers.filter((b) => !done!.includes(b));
    for (const b of done) {
      this.flushesInProgress--;
      b.resolve();
    }
  }

  /** From now on every queued batch is sendable at once (close in progress). */
  beginClose(): void {
    this.closing = true;
  }

  /** Fails every record not yet in a request: waiting for memory or in a queued batch (forced close). */
  abortUndrained(error: Error): void {
    for (const e of this.memoryWaits.takeAll()) e.reject(error);
    for (const t of this.topics.values()) {
      for (const ps of t.partitions.values()) {
        for (const b of ps.queue.splice(0)) {
          // a batch still compressing on the thread pool settles here; its late result is ignored
          this.fail(b, error);
        }
      }
    }
  }

  /** Releases timers and pooled memory; the accumulator is not used afterwards. */
  close(): void {
    this.memoryWaits.close();
    this.pool.close();
  }

  hasUndrained(): boolean {
    for (const t of this.topics.values()) {
      for (const ps of t.partitions.values()) if (ps.queue.length > 0) return true;
    }
    return false;
  }
}

const EMPTY_BATCHES: ProducerBatch[] = [];
