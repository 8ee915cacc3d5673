import type { RecordHeader } from '../protocol/records/record-batch';
import { RecordBatchBuilder } from '../protocol/records/record-batch-builder';
import { decodeRecordBatch, type Decompress } from '../protocol/records/record-batch-decoder';
import { BufferExhaustedError, BufferPool } from './buffer-pool';
import type { BuiltInPartitioner } from './built-in-partitioner';
import type { TopicInfo } from './metadata';
import type { ProducerMetrics } from './metrics';
import { ProducerBatch } from './producer-batch';
import type { RecordMetadata } from './types';

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** What the accumulator needs to know of the cluster: who leads what. */
export interface LeaderView {
  /** Leader node id of a partition, or -1 when unknown. */
  leaderFor(topic: string, partition: number): number;
  /** Partitions a node leads, in a stable order (drain walks them round-robin). */
  partitionsLedBy(nodeId: number): readonly TopicPartition[];
}

export interface AccumulatorConfig {
  readonly batchSize: number;
  readonly bufferMemory: number;
  readonly lingerMs: number;
  readonly retryBackoffMs: number;
  readonly retryBackoffMaxMs: number;
  readonly deliveryTimeoutMs: number;
}

export interface ReadyCheck {
  readonly readyNodes: Set<number>;
  /** Milliseconds until a partition that is not ready yet may become ready (linger or backoff). */
  readonly nextReadyCheckDelayMs: number;
  readonly unknownLeaderTopics: Set<string>;
}

/** tryAppend's answer when the sticky partition should move on before a new batch is started. */
const SWITCH_PARTITION = Symbol('switch-partition');

/** An append waiting for buffer memory; kept in FIFO order so records of a partition never reorder. */
interface PendingAppend {
  readonly topic: string;
  readonly partition: number;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: RecordHeader[] | null;
  readonly resolve: (metadata: RecordMetadata) => void;
  readonly reject: (error: Error) => void;
  readonly enqueuedMs: number;
  readonly deadlineMs: number;
  readonly size: number;
}

interface FlushWaiter {
  readonly upToBatchId: number;
  readonly resolve: () => void;
}

/**
 * Per-partition queues of ProducerBatch, as in the Java RecordAccumulator. Only the last batch of a
 * queue accepts appends; the sender takes batches from the front. A partition is sendable when its
 * first batch is full (or more than one is queued), its linger has passed, a flush or close is under
 * way, or its retry backoff has passed.
 */
export class RecordAccumulator {
  private readonly queues = new Map<string, Map<number, ProducerBatch[]>>();
  /** Every batch not yet succeeded or failed, in creation order (Map keeps insertion order). */
  private readonly incomplete = new Map<ProducerBatch, number>();
  private nextBatchId = 0;
  private flushesInProgress = 0;
  private readonly flushWaiters: FlushWaiter[] = [];
  private readonly drainIndex = new Map<number, number>();
  private closed = false;
  readonly pool: BufferPool;
  /** FIFO of appends waiting for memory: entries [pendingHead, length); O(1) at both ends. */
  private pending: PendingAppend[] = [];
  private pendingHead = 0;
  private pendingBytes = 0;
  private pendingTimer: NodeJS.Timeout | null = null;
  private pendingTimerAt = Number.POSITIVE_INFINITY;
  /** Compresses a batch as it is closed; unset for compressionType none. */
  compress: ((builder: RecordBatchBuilder) => Buffer) | undefined;
  /** Compresses a batch on the thread pool; used for batches of at least asyncCompressionThreshold bytes. */
  compressAsync: ((builder: RecordBatchBuilder) => Promise<Buffer>) | undefined;
  asyncCompressionThreshold = Number.POSITIVE_INFINITY;
  /** Decompresses a batch that must be split; unset for compressionType none. */
  decompress: Decompress | undefined;
  /** Wakes the sender when queued appends made progress. */
  onProgress: () => void = () => undefined;
  /** Sticky/adaptive choice for keyless records; fed queue sizes by ready(). */
  partitioner: BuiltInPartitioner | undefined;
  metrics: ProducerMetrics | undefined;

  constructor(private readonly config: AccumulatorConfig) {
    this.pool = new BufferPool(config.bufferMemory, config.batchSize);
    this.pool.onRelease = () => this.servePending(Date.now());
  }

  /** Appends waiting for memory (Java's waiting-threads). */
  get waitingForMemory(): number {
    return this.pending.length - this.pendingHead;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Batches not yet completed, queued or in flight. */
  get incompleteCount(): number {
    return this.incomplete.size;
  }

  /** Records and bytes still queued in the accumulator (not in flight), for health snapshots. */
  queuedStats(): { records: number; bytes: number; batches: number } {
    let records = 0;
    let bytes = 0;
    let batches = 0;
    for (const partitions of this.queues.values()) {
      for (const deque of partitions.values()) {
        for (const b of deque) {
          records += b.recordCount;
          bytes += b.sizeInBytes;
          batches++;
        }
      }
    }
    return { records, bytes, batches };
  }

  private dequeFor(topic: string, partition: number): ProducerBatch[] {
    let partitions = this.queues.get(topic);
    if (partitions === undefined) {
      partitions = new Map();
      this.queues.set(topic, partitions);
    }
    let deque = partitions.get(partition);
    if (deque === undefined) {
      deque = [];
      partitions.set(partition, deque);
    }
    return deque;
  }

  /**
   * Appends a record to the partition's open batch, starting a new batch (memory from the BufferPool)
   * when it does not fit. When memory is short, the append waits in FIFO order, and so does every later
   * append, so that records of one partition keep their send order; it fails with BufferExhaustedError
   * if no memory comes free before `deadlineMs`. Returns whether the sender should be woken now.
   */
  append(
    topic: string,
    partition: number,
    timestamp: number,
    key: Buffer | null,
    value: Buffer | null,
    headers: RecordHeader[] | null,
    resolve: (metadata: RecordMetadata) => void,
    reject: (error: Error) => void,
    nowMs: number,
    deadlineMs: number,
    stickyTopic: TopicInfo | null = null,
  ): boolean {
    if (this.pending.length === this.pendingHead) {
      for (;;) {
        const batch = this.tryAppend(topic, partition, timestamp, key, value, headers, resolve, reject, nowMs, stickyTopic);
        if (batch === SWITCH_PARTITION) {
          // the sticky partition moves on at a batch boundary (KIP-794): pick again and retry
          partition = this.partitioner!.partition(stickyTopic!);
          stickyTopic = null;
          continue;
        }
        if (batch !== null) return this.lastAppendWakes;
        break;
      }
    }
    // Java's send() blocks its thread here; ours cannot, so the records waiting for memory are bounded
    // too (by another bufferMemory of bytes): beyond that a send fails at once instead of growing the heap.
    const size = RecordBatchBuilder.estimateSize(key, value, headers);
    if (this.pendingBytes + size > this.config.bufferMemory) {
      this.metrics?.recordBufferExhausted();
      reject(
        new BufferExhaustedError(
          `Failed to allocate ${size} bytes: bufferMemory (${this.config.bufferMemory} bytes) is in use and sends waiting for memory already hold ${this.pendingBytes} bytes; the producer is outpacing the brokers, wait for earlier sends before sending more.`,
        ),
      );
      return false;
    }
    this.pendingBytes += size;
    this.pending.push({ topic, partition, timestamp, key, value, headers, resolve, reject, enqueuedMs: nowMs, deadlineMs, size });
    if (deadlineMs < this.pendingTimerAt) this.armPendingTimer(deadlineMs);
    return true; // a waiting append makes every partition sendable, which frees memory
  }

  private lastAppendWakes = false;

  /** Appends at once if memory allows; null (nothing done) when the pool cannot supply a new batch. */
  private tryAppend(
    topic: string,
    partition: number,
    timestamp: number,
    key: Buffer | null,
    value: Buffer | null,
    headers: RecordHeader[] | null,
    resolve: (metadata: RecordMetadata) => void,
    reject: (error: Error) => void,
    nowMs: number,
    stickyTopic: TopicInfo | null = null,
  ): ProducerBatch | typeof SWITCH_PARTITION | null {
    const deque = this.dequeFor(topic, partition);
    const last = deque.length > 0 ? deque[deque.length - 1] : undefined;
    const sizeBefore = last === undefined ? 0 : last.sizeInBytes;
    if (last !== undefined && last.tryAppend(timestamp, key, value, headers, resolve, reject)) {
      this.lastAppendWakes = deque.length > 1 || last.isFull;
      if (stickyTopic !== null) this.partitioner?.recordAppended(stickyTopic, partition, last.sizeInBytes - sizeBefore, last.isFull);
      return last;
    }
    if (stickyTopic !== null && this.partitioner !== undefined && this.partitioner.switchAtBatchBoundary(stickyTopic, partition)) return SWITCH_PARTITION;
    // A record bigger than batch.size gets a batch of its own size, as in Java.
    const size = Math.max(this.config.batchSize, RecordBatchBuilder.estimateSize(key, value, headers));
    const buffer = this.pool.tryAllocate(size);
    if (buffer === null) return null;
    if (last !== undefined && last.state === 'open') last.close(this.compress);
    const batch = new ProducerBatch(topic, partition, buffer, nowMs);
    if (!batch.tryAppend(timestamp, key, value, headers, resolve, reject)) {
      this.pool.deallocate(buffer);
      throw new Error(`internal: a record of estimated size ${size} did not fit a new batch of ${size} bytes`);
    }
    deque.push(batch);
    this.incomplete.set(batch, this.nextBatchId++);
    this.lastAppendWakes = true;
    if (stickyTopic !== null) this.partitioner?.recordAppended(stickyTopic, partition, batch.sizeInBytes, batch.isFull);
    return batch;
  }

  /** Serves waiting appends in order for as long as memory allows. */
  private servePending(nowMs: number): void {
    let served = false;
    while (this.pendingHead < this.pending.length) {
      const p = this.pending[this.pendingHead];
      if (this.tryAppend(p.topic, p.partition, p.timestamp, p.key, p.value, p.headers, p.resolve, p.reject, nowMs) === null) break;
      this.metrics?.recordBufferWait((nowMs - p.enqueuedMs) * 1e6);
      this.pending[this.pendingHead++] = undefined as unknown as PendingAppend;
      this.pendingBytes -= p.size;
      served = true;
    }
    if (!served) return;
    if (this.pendingHead === this.pending.length) {
      this.pending = [];
      this.pendingHead = 0;
      this.clearPendingTimer();
    } else if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.pendingHead);
      this.pendingHead = 0;
    }
    // an armed timer may now fire early for an entry already served; it only rescans and re-arms
    this.onProgress();
  }

  private clearPendingTimer(): void {
    if (this.pendingTimer !== null) clearTimeout(this.pendingTimer);
    this.pendingTimer = null;
    this.pendingTimerAt = Number.POSITIVE_INFINITY;
  }

  private armPendingTimer(at: number): void {
    this.clearPendingTimer();
    this.pendingTimerAt = at;
    this.pendingTimer = setTimeout(() => this.expirePending(Date.now()), Math.max(at - Date.now(), 0));
  }

  /** Fails the waiting appends past their deadline (one scan per timer, not per append). */
  private expirePending(nowMs: number): void {
    this.clearPendingTimer();
    const still: PendingAppend[] = [];
    let earliest = Number.POSITIVE_INFINITY;
    for (let i = this.pendingHead; i < this.pending.length; i++) {
      const p = this.pending[i];
      if (p.deadlineMs > nowMs) {
        still.push(p);
        earliest = Math.min(earliest, p.deadlineMs);
        continue;
      }
      this.pendingBytes -= p.size;
      this.metrics?.recordBufferExhausted();
      const size = Math.max(this.config.batchSize, RecordBatchBuilder.estimateSize(p.key, p.value, p.headers));
      p.reject(new BufferExhaustedError(`Failed to allocate ${size} bytes within the configured max blocking time ${nowMs - p.enqueuedMs} ms. Total memory: ${this.pool.totalMemory} bytes. Available memory: ${this.pool.availableMemory} bytes. Poolable size: ${this.pool.poolableSize} bytes`));
    }
    this.pending = still;
    this.pendingHead = 0;
    if (still.length > 0) this.armPendingTimer(earliest);
  }

  /** Fails every append still waiting for memory (close without flush). */
  abortPending(error: Error): void {
    const waiting = this.pending.slice(this.pendingHead);
    this.pending = [];
    this.pendingHead = 0;
    this.pendingBytes = 0;
    this.clearPendingTimer();
    for (const p of waiting) p.reject(error);
  }

  private backoffMs(attempts: number): number {
    if (attempts <= 0) return 0;
    const exp = this.config.retryBackoffMs * 2 ** (attempts - 1);
    const capped = Math.min(exp, this.config.retryBackoffMaxMs);
    // ±20% jitter, as in Java's ExponentialBackoff, so retries of many partitions do not move in lockstep
    return capped * (0.8 + Math.random() * 0.4);
  }

  ready(leaders: LeaderView, nowMs: number): ReadyCheck {
    const readyNodes = new Set<number>();
    const unknownLeaderTopics = new Set<string>();
    let next = Number.POSITIVE_INFINITY;
    // Java's "exhausted": someone waits for memory, so send everything to free some
    const flushing = this.flushesInProgress > 0 || this.closed || this.pending.length > this.pendingHead;
    for (const [topic, partitions] of this.queues) {
      this.partitioner?.updateLoadStatsFromQueues(topic, partitions, leaders);
      for (const [partition, deque] of partitions) {
        const first = deque[0];
        if (first === undefined) continue;
        const leader = leaders.leaderFor(topic, partition);
        if (leader < 0) {
          unknownLeaderTopics.add(topic);
          continue;
        }
        if (readyNodes.has(leader)) continue;
        const waited = nowMs - (first.attempts > 0 ? first.lastAttemptMs : first.createdMs);
        const backingOff = first.attempts > 0 && waited < first.retryBackoffMs;
        const timeToWait = backingOff ? first.retryBackoffMs : this.config.lingerMs;
        const full = deque.length > 1 || first.isFull || first.state !== 'open';
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
  drain(leaders: LeaderView, readyNodes: Iterable<number>, maxRequestSize: number, nowMs: number, isMuted: (tp: TopicPartition) => boolean): Map<number, ProducerBatch[]> {
    const out = new Map<number, ProducerBatch[]>();
    for (const node of readyNodes) {
      const parts = leaders.partitionsLedBy(node);
      if (parts.length === 0) continue;
      const ready: ProducerBatch[] = [];
      let size = 0;
      const start = (this.drainIndex.get(node) ?? 0) % parts.length;
      for (let i = 0; i < parts.length; i++) {
        const index = (start + i) % parts.length;
        const tp = parts[index];
        const deque = this.queues.get(tp.topic)?.get(tp.partition);
        const first = deque?.[0];
        if (deque === undefined || first === undefined || isMuted(tp)) continue;
        if (first.attempts > 0 && nowMs - first.lastAttemptMs < first.retryBackoffMs) continue;
        if (first.bytes === null && this.compressAsync !== undefined && first.builder.sizeInBytes >= this.asyncCompressionThreshold) {
          // big batch: compress off the event loop; it is drained on a later pass
          first.closeAsync(this.compressAsync, this.compress!, this.onProgress);
          continue;
        }
        if (first.state === 'compressing') continue;
        const bytes = first.close(this.compress);
        if (ready.length > 0 && size + bytes.length > maxRequestSize) {
          this.drainIndex.set(node, index);
          break;
        }
        deque.shift();
        first.drainedMs = nowMs;
        size += bytes.length;
        ready.push(first);
        this.drainIndex.set(node, index + 1);
      }
      if (ready.length > 0) out.set(node, ready);
    }
    return out;
  }

  /** Puts a batch that failed with a retriable error back at the head of its queue. */
  reenqueue(batch: ProducerBatch, nowMs: number): void {
    batch.attempts++;
    batch.lastAttemptMs = nowMs;
    batch.retryBackoffMs = this.backoffMs(batch.attempts);
    batch.state = 'closed';
    this.dequeFor(batch.topic, batch.partition).unshift(batch);
  }

  /**
   * Splits a batch the broker rejected as too large into smaller batches that carry the same records
   * and completion handlers, queued at the head of the partition in order. Each split at least halves
   * the batch, so repeated rejections end with single-record batches (which then fail alone).
   * Returns the number of new batches.
   */
  splitAndReenqueue(batch: ProducerBatch): number {
    const decoded = decodeRecordBatch(batch.bytes ?? batch.close(this.compress), 0, this.decompress);
    const target = Math.max(Math.min(this.config.batchSize, Math.floor(batch.builder.sizeInBytes / 2)), 128);
    const parts: ProducerBatch[] = [];
    let current: ProducerBatch | null = null;
    for (let i = 0; i < decoded.records.length; i++) {
      const r = decoded.records[i];
      const ts = batch.recordTimestamp(i);
      if (current !== null && batch.transferRecord(i, current, ts, r.key, r.value, r.headers)) continue;
      if (current !== null) current.close(this.compress);
      const size = Math.max(target, RecordBatchBuilder.estimateSize(r.key, r.value, r.headers));
      current = new ProducerBatch(batch.topic, batch.partition, Buffer.allocUnsafe(size), batch.createdMs, false);
      if (!batch.transferRecord(i, current, ts, r.key, r.value, r.headers)) throw new Error('internal: a record did not fit its own split batch');
      parts.push(current);
    }
    const id = this.incomplete.get(batch) ?? this.nextBatchId++;
    // the old batch's records now live in the parts; it completes silently and gives its memory back
    this.incomplete.delete(batch);
    if (batch.pooled) this.pool.deallocate(batch.buffer);
    batch.state = 'succeeded';
    for (const part of parts) {
      part.close(this.compress);
      part.attempts = batch.attempts;
      this.incomplete.set(part, id);
    }
    this.dequeFor(batch.topic, batch.partition).unshift(...parts);
    return parts.length;
  }

  /** Removes and returns queued batches whose delivery timeout has passed. */
  expireQueued(nowMs: number): ProducerBatch[] {
    const expired: ProducerBatch[] = [];
    for (const partitions of this.queues.values()) {
      for (const deque of partitions.values()) {
        while (deque.length > 0 && nowMs - deque[0].createdMs >= this.config.deliveryTimeoutMs) {
          const b = deque.shift()!;
          expired.push(b);
        }
      }
    }
    return expired;
  }

  /** Earliest delivery deadline among queued batches, to bound the sender's sleep. */
  nextExpiryMs(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const partitions of this.queues.values()) {
      for (const deque of partitions.values()) {
        if (deque.length > 0) next = Math.min(next, deque[0].createdMs + this.config.deliveryTimeoutMs);
      }
    }
    return next;
  }

  /** Removes every queued batch (close without flush, or fatal errors). */
  drainAll(): ProducerBatch[] {
    const all: ProducerBatch[] = [];
    for (const partitions of this.queues.values()) {
      for (const deque of partitions.values()) all.push(...deque.splice(0));
    }
    return all;
  }

  /** Called by the sender once a batch succeeded or failed for good. */
  completed(batch: ProducerBatch): void {
    if (!this.incomplete.delete(batch)) return;
    if (batch.pooled) this.pool.deallocate(batch.buffer);
    if (this.flushWaiters.length === 0) return;
    const oldest = this.incomplete.values().next();
    const oldestId = oldest.done ? Number.POSITIVE_INFINITY : oldest.value;
    while (this.flushWaiters.length > 0 && this.flushWaiters[0].upToBatchId < oldestId) {
      this.flushWaiters.shift()!.resolve();
      this.flushesInProgress--;
    }
  }

  /**
   * Makes every queued batch ready and resolves once every batch that exists now has completed
   * (succeeded or failed). Batches started after the call do not hold it up.
   */
  flush(): Promise<void> {
    if (this.incomplete.size === 0) return Promise.resolve();
    this.flushesInProgress++;
    const upToBatchId = this.nextBatchId - 1;
    return new Promise((resolve) => this.flushWaiters.push({ upToBatchId, resolve }));
  }

  get isFlushing(): boolean {
    return this.flushesInProgress > 0;
  }

  close(): void {
    this.closed = true;
  }

  hasUndrained(): boolean {
    for (const partitions of this.queues.values()) {
      for (const deque of partitions.values()) if (deque.length > 0) return true;
    }
    return false;
  }
}
