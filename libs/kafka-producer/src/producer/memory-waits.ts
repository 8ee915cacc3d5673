import type { RecordHeader } from '../protocol/records/record-batch';
import type { RecordMetadata } from './types';
import { DeadlineTimer } from './deadline-timer';
import type { PartitionState } from './topic-state';

/**
 * A record accepted by send() that is not in a batch yet: waiting for its topic's metadata or for
 * buffer memory. It holds the serialized bytes and its promise's settlers, nothing else.
 */
export interface WaitingRecord {
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: RecordHeader[] | null;
  readonly resolve: (metadata: RecordMetadata) => void;
  readonly reject: (error: Error) => void;
  /** When send() was called; `deadlineMs` is that plus maxBlockMs (metadata and memory waits together). */
  readonly enqueuedMs: number;
  readonly deadlineMs: number;
  /** Estimated bytes in a batch, counted against the waiting budget. */
  readonly size: number;
}

/**
 * Java's send() blocks its thread while it waits for metadata or memory; ours cannot block, so the
 * records waiting are bounded instead: together they may hold `limit` bytes (another bufferMemory)
 * plus whatever the buffer pool has free right now (records waiting for metadata will go into that
 * memory once their topic is known). Beyond that a send fails at once with BufferExhaustedError, so a
 * caller that outpaces the brokers gets errors, not an ever-growing heap: batches and waiting records
 * together never hold more than twice bufferMemory.
 */
export class WaitBudget {
  bytes = 0;

  constructor(
    readonly limit: number,
    private readonly poolAvailable: () => number = () => 0,
  ) {}

  tryReserve(size: number): boolean {
    if (this.bytes + size > this.limit + this.poolAvailable()) return false;
    this.bytes += size;
    return true;
  }

  release(size: number): void {
    this.bytes -= size;
  }
}

export interface MemoryWait extends WaitingRecord {
  readonly partition: PartitionState;
  /** Whether the built-in partitioner chose the partition (it may move on at a batch boundary). */
  readonly sticky: boolean;
  /** Position in the FIFO; flush waits until every record queued before it has left. */
  readonly seq: number;
}

/**
 * The FIFO of appends waiting for buffer memory. Records of a partition must never overtake each
 * other, so once anything waits, every later append waits behind it. O(1) at both ends; one timer
 * covers the earliest deadline (a scan per timer, never per append).
 */
export class MemoryWaits {
  private entries: MemoryWait[] = [];
  private head = 0;
  private nextSeq = 0;
  private readonly timer = new DeadlineTimer((now) => this.expireDue(now));

  constructor(
    private readonly budget: WaitBudget,
    /** Fails one entry whose deadline passed. */
    private readonly expire: (entry: MemoryWait, nowMs: number) => void,
    /** Called whenever entries left the queue (served, expired or aborted). */
    private readonly onLeave: () => void,
  ) {}

  get size(): number {
    return this.entries.length - this.head;
  }

  get isEmpty(): boolean {
    return this.entries.length === this.head;
  }

  /** The seq the next entry will get; every entry queued so far has a smaller one. */
  get seqMark(): number {
    return this.nextSeq;
  }

  /** Seq of the oldest entry still waiting, or +Infinity when none waits. */
  get oldestSeq(): number {
    return this.isEmpty ? Number.POSITIVE_INFINITY : this.entries[this.head].seq;
  }

  /** Queues an entry whose bytes the caller has already reserved in the budget. */
  push(entry: Omit<MemoryWait, 'seq'>): void {
    const wait = entry as MemoryWait;
    (wait as { seq: number }).seq = this.nextSeq++;
    this.entries.push(wait);
    this.timer.arm(wait.deadlineMs);
  }

  peek(): MemoryWait | undefined {
    return this.isEmpty ? undefined : this.entries[this.head];
  }

  /** Removes the head after it was appended. */
  shift(): void {
    const entry = this.entries[this.head];
    this.entries[this.head++] = undefined as unknown as MemoryWait;
    this.budget.release(entry.size);
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
      this.timer.clear();
    } else if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** Removes and returns every waiting entry (a forced close). */
  takeAll(): MemoryWait[] {
    const all = this.entries.slice(this.head);
    this.entries = [];
    this.head = 0;
    this.timer.clear();
    for (const e of all) this.budget.release(e.size);
    if (all.length > 0) this.onLeave();
    return all;
  }

  close(): void {
    this.timer.clear();
  }

  private expireDue(nowMs: number): void {
    this.timer.clear();
    const still: MemoryWait[] = [];
    const due: MemoryWait[] = [];
    let earliest = Number.POSITIVE_INFINITY;
    for (let i = this.head; i < this.entries.length; i++) {
      const e = this.entries[i];
      if (e.deadlineMs > nowMs) {
        still.push(e);
        earliest = Math.min(earliest, e.deadlineMs);
      } else {
        due.push(e);
      }
    }
    this.entries = still;
    this.head = 0;
    if (still.length > 0) this.timer.arm(earliest);
    for (const e of due) {
      this.budget.release(e.size);
      this.expire(e, nowMs);
    }
    if (due.length > 0) this.onLeave();
  }
}
