import type { RecordHeader } from '../protocol/records/record-batch';
import { RecordBatchBuilder } from '../protocol/records/record-batch-builder';
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

  constructor(private readonly config: AccumulatorConfig) {}

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
   * Appends a record to the partition's open batch, starting a new batch when it does not fit.
   * Returns whether the sender should be woken now (a batch filled up or a new one started).
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
  ): { batchIsFull: boolean; newBatchCreated: boolean } {
    const deque = this.dequeFor(topic, partition);
    const last = deque.length > 0 ? deque[deque.length - 1] : undefined;
    if (last !== undefined && last.tryAppend(timestamp, key, value, headers, resolve, reject)) {
      return { batchIsFull: deque.length > 1 || last.isFull, newBatchCreated: false };
    }
    if (last !== undefined && last.state === 'open') last.close();

    // A record bigger than batch.size gets a batch of its own size, as in Java.
    const size = Math.max(this.config.batchSize, RecordBatchBuilder.estimateSize(key, value, headers));
    const batch = new ProducerBatch(topic, partition, Buffer.allocUnsafe(size), nowMs);
    if (!batch.tryAppend(timestamp, key, value, headers, resolve, reject)) {
      throw new Error(`internal: a record of estimated size ${size} did not fit a new batch of ${size} bytes`);
    }
    deque.push(batch);
    this.incomplete.set(batch, this.nextBatchId++);
    return { batchIsFull: deque.length > 1 || batch.isFull, newBatchCreated: true };
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
    const flushing = this.flushesInProgress > 0 || this.closed;
    for (const [topic, partitions] of this.queues) {
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
        const bytes = first.close();
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
