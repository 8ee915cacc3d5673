import { BufferExhaustedError } from './buffer-pool';
import { InvalidRecordError, KafkaTimeoutError } from './errors';
import type { WaitBudget, WaitingRecord } from './memory-waits';
import { DeadlineTimer } from './deadline-timer';
import type { TopicState } from './topic-state';

export interface MetadataWait extends WaitingRecord {
  readonly topic: TopicState;
  /** The explicit partition, or undefined when the partitioner chooses once metadata is known. */
  readonly partition: number | undefined;
  /** -1: stamp the record when it is appended (Java stamps after its metadata wait too). */
  readonly timestampGiven: number;
  readonly seq: number;
}

interface SettleBarrier {
  readonly seq: number;
  readonly resolve: () => void;
}

/**
 * Sends whose topic has no metadata yet. Java's send() blocks for this; ours queues the record per
 * topic, in send order, and appends the whole queue the moment metadata arrives. The records count
 * against the same waiting budget as memory waits, and one timer covers the earliest deadline
 * (maxBlockMs from each send), so a topic that never appears costs a bounded amount of memory.
 */
export class MetadataWaits {
  private readonly byTopic = new Map<TopicState, MetadataWait[]>();
  private nextSeq = 0;
  private count = 0;
  private readonly timer = new DeadlineTimer((now) => this.expireDue(now));
  private barriers: SettleBarrier[] = [];

  constructor(
    private readonly budget: WaitBudget,
    private readonly maxBlockMs: number,
    /** Appends a record whose topic is now known (or rejects it for a partition that does not exist). */
    private readonly append: (wait: MetadataWait) => void,
    /**
     * The cause for metadata timeouts: the last refresh error (e.g. a handshake the broker closed);
     * without one, the topic's own error from the last answer (UNKNOWN_TOPIC_OR_PARTITION).
     */
    private readonly lastError: () => Error | null,
  ) {}

  get size(): number {
    return this.count;
  }

  has(topic: TopicState): boolean {
    return this.byTopic.has(topic);
  }

  /** Queues a send; rejects it at once when the waiting records already hold the budget. */
  push(entry: Omit<MetadataWait, 'seq'>): void {
    if (!this.budget.tryReserve(entry.size)) {
      entry.reject(
        new BufferExhaustedError(
          `Failed to queue ${entry.size} bytes for topic ${entry.topic.name}: sends waiting for metadata or memory already hold ${this.budget.bytes} bytes (bufferMemory ${this.budget.limit} bytes, plus what the buffer pool has free); the producer is outpacing the brokers.`,
        ),
      );
      return;
    }
    const wait = { ...entry, seq: this.nextSeq++ };
    let queue = this.byTopic.get(entry.topic);
    if (queue === undefined) this.byTopic.set(entry.topic, (queue = []));
    queue.push(wait);
    this.count++;
    this.timer.arm(wait.deadlineMs);
  }

  /** Metadata changed: every topic now described has its queue appended, in send order. */
  topicsUpdated(): void {
    let moved = false;
    for (const [topic, queue] of this.byTopic) {
      const info = topic.info;
      if (info === undefined || info.partitions.length === 0) continue;
      this.byTopic.delete(topic);
      moved = true;
      for (const w of queue) {
        this.leave(w);
        if (w.partition !== undefined && w.partition >= info.partitions.length) {
          // fresh metadata taken after the send: the partition does not exist, so fail fast
          w.reject(new InvalidRecordError(`partition ${w.partition} of topic ${topic.name} does not exist: the topic has ${info.partitions.length} partitions`));
          continue;
        }
        this.append(w);
      }
    }
    if (moved) this.settle();
  }

  /** The broker says the topic cannot be used: its waiting sends fail with `error`. */
  topicFailed(topic: TopicState, error: Error): void {
    const queue = this.byTopic.get(topic);
    if (queue === undefined) return;
    this.byTopic.delete(topic);
    for (const w of queue) {
      this.leave(w);
      w.reject(error);
    }
    this.settle();
  }

  /**
   * Resolves once every send waiting now has left (appended or failed); flush() and close() wait
   * for this before they wait for the batches.
   */
  settled(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.barriers.push({ seq: this.nextSeq, resolve }));
  }

  /** Fails every waiting send (forced close). */
  abortAll(error: Error): void {
    const queues = [...this.byTopic.values()];
    this.byTopic.clear();
    for (const q of queues) {
      for (const w of q) {
        this.leave(w);
        w.reject(error);
      }
    }
    this.timer.clear();
    this.settle();
  }

  close(): void {
    this.timer.clear();
  }

  private leave(w: MetadataWait): void {
    this.budget.release(w.size);
    this.count--;
  }

  private settle(): void {
    if (this.count === 0) this.timer.clear();
    if (this.barriers.length === 0) return;
    let oldest = Number.POSITIVE_INFINITY;
    for (const q of this.byTopic.values()) if (q.length > 0 && q[0].seq < oldest) oldest = q[0].seq;
    const done = this.barriers.filter((b) => b.seq <= oldest);
    if (done.length === 0) return;
    this.barriers = this.barriers.filter((b) => b.seq > oldest);
    for (const b of done) b.resolve();
  }

  private expireDue(nowMs: number): void {
    this.timer.clear();
    let earliest = Number.POSITIVE_INFINITY;
    const due: MetadataWait[] = [];
    for (const [topic, queue] of this.byTopic) {
      const still = queue.filter((w) => {
        if (w.deadlineMs > nowMs) {
          earliest = Math.min(earliest, w.deadlineMs);
          return true;
        }
        due.push(w);
        return false;
      });
      if (still.length === 0) this.byTopic.delete(topic);
      else this.byTopic.set(topic, still);
    }
    if (earliest !== Number.POSITIVE_INFINITY) this.timer.arm(earliest);
    for (const w of due) {
      this.leave(w);
      const known = w.topic.info;
      w.reject(
        new KafkaTimeoutError(
          known !== undefined && w.partition !== undefined
            ? `Partition ${w.partition} of topic ${w.topic.name} with partition count ${known.partitions.length} is not present in metadata after ${this.maxBlockMs} ms.`
            : `Topic ${w.topic.name} not present in metadata after ${this.maxBlockMs} ms.`,
          'METADATA_TIMEOUT',
          // a refresh that fails now says more than what an earlier answer said of the topic
          this.lastError() ?? w.topic.metadataError ?? undefined,
        ),
      );
    }
    if (due.length > 0) this.settle();
  }
}
