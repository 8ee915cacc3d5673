import { RecordBatchBuilder, type RecordBatchCloseOptions } from '../protocol/records/record-batch-builder';
import type { RecordHeader } from '../protocol/records/record-batch';
import type { PartitionState } from './topic-state';
import type { RecordMetadata } from './types';

export type BatchState = 'open' | 'compressing' | 'closed' | 'in-flight' | 'succeeded' | 'failed';

/**
 * The records of one partition that travel together: one RecordBatch v2 being written in place, and the
 * completion handlers of its records, kept in parallel arrays on the batch (not a closure per record)
 * and settled in one loop when the broker answers.
 *
 * Lifecycle: open (appends allowed) → closed (header and CRC written, drained into a request) →
 * in-flight → succeeded | failed, or back to closed-and-queued on a retriable error (attempts + 1).
 * A batch is failed only once, and only by the sender: on a non-retriable error, when its delivery
 * timeout passes, or when the producer is closed without flushing.
 */
export class ProducerBatch {
  readonly builder: RecordBatchBuilder;
  state: BatchState = 'open';
  /** Sends so far; 0 until the first request. */
  attempts = 0;
  lastAttemptMs = 0;
  drainedMs = 0;
  /** Backoff chosen when the batch was last re-enqueued (exponential with jitter). */
  retryBackoffMs = 0;
  /** The closed batch bytes, set when the batch is drained the first time and reused on retries. */
  bytes: Buffer | null = null;
  /** Idempotence: given when first drained and kept on retries (-1: none yet). */
  baseSequence = -1;
  producerId = -1n;
  producerEpoch = -1;
  /** The last attempt ended without an answer (timeout, lost connection): it may have been written. */
  outcomeUnknown = false;
  /**
   * A Produce request carrying this batch's bytes has been issued and has not settled. Its bytes may
   * still be waiting in a socket buffer (or held during a re-authentication), so a batch failed
   * meanwhile (delivery timeout, forced close) must not hand its buffer back yet: another batch built
   * in it would go out under this batch's topic and partition.
   */
  requestOutstanding = false;
  /** Completed while `requestOutstanding`: the buffer goes back to the pool when the request settles. */
  releaseDeferred = false;

  /** Set when a record did not fit: the batch takes no more records and counts as full. */
  private appendsClosed = false;
  private readonly resolvers: Array<(metadata: RecordMetadata) => void> = [];
  private readonly rejecters: Array<(error: Error) => void> = [];
  private readonly timestamps: number[] = [];
  private readonly keySizes: number[] = [];
  private readonly valueSizes: number[] = [];

  readonly topic: string;
  readonly partition: number;
  /**
   * Position among the partition's batches: retried batches go back into the queue in this order, so
   * two failed batches of a partition are resent in the order they were created. Integers for new
   * batches; a split divides its batch's interval [order, order + orderWidth) among the parts.
   */
  order = 0;
  orderWidth = 1;
  /**
   * Creation number for flush(): a flush waits for the batches numbered up to the last one that existed
   * when it started. Split parts keep their batch's number.
   */
  id = 0;

  constructor(
    readonly partitionState: PartitionState,
    /** The memory the batch is built in; goes back to the BufferPool when the batch completes. */
    readonly buffer: Buffer,
    readonly createdMs: number,
    /** False for batches made by a split, which Java allocates outside the pool too. */
    readonly pooled = true,
  ) {
    this.topic = partitionState.topic;
    this.partition = partitionState.partition;
    this.builder = new RecordBatchBuilder(buffer);
  }

  /** Moves record i's completion handlers to another batch (used when a batch is split). */
  transferRecord(i: number, to: ProducerBatch, timestamp: number, key: Buffer | null, value: Buffer | null, headers: RecordHeader[] | null): boolean {
    return to.tryAppend(timestamp, key, value, headers, this.resolvers[i], this.rejecters[i]);
  }

  /** The timestamp each record was sent with (CreateTime), for splitting. */
  recordTimestamp(i: number): number {
    return this.timestamps[i];
  }

  get recordCount(): number {
    return this.builder.recordCount;
  }

  get sizeInBytes(): number {
    return this.bytes === null ? this.builder.sizeInBytes : this.bytes.length;
  }

  get isFull(): boolean {
    return this.appendsClosed || this.builder.isFull;
  }

  /** Appends the record if it fits; returns false (writing nothing) if it does not. */
  tryAppend(
    timestamp: number,
    key: Buffer | null,
    value: Buffer | null,
    headers: RecordHeader[] | null,
    resolve: (metadata: RecordMetadata) => void,
    reject: (error: Error) => void,
  ): boolean {
    if (this.state !== 'open' || this.appendsClosed) return false;
    if (this.builder.tryAppend(timestamp, key, value, headers) < 0) {
      // Java's closeForRecordAppends: a batch a record did not fit is full, so it is sent now rather than
      // after lingerMs (the sticky partitioner moves on without opening a batch here to close it)
      this.appendsClosed = true;
      return false;
    }
    this.resolvers.push(resolve);
    this.rejecters.push(reject);
    this.timestamps.push(timestamp);
    this.keySizes.push(key === null ? -1 : key.length);
    this.valueSizes.push(value === null ? -1 : value.length);
    return true;
  }

  /**
   * Starts compressing on the thread pool (large batches, so the event loop does not stall); the batch
   * takes no appends meanwhile and is drained once `bytes` is set. Falls back to `fallback` when the
   * thread pool fails; `done` gets the error when the fallback fails too (the batch is then unusable).
   */
  closeAsync(compress: (builder: RecordBatchBuilder) => Promise<Buffer>, fallback: (builder: RecordBatchBuilder) => Buffer, done: (error: Error | null) => void): void {
    if (this.bytes !== null || this.state === 'compressing') return;
    this.state = 'compressing';
    compress(this.builder).then(
      (bytes) => {
        // failed meanwhile (a forced close): the late result has nowhere to go
        if (this.isDone) return;
        this.bytes = bytes;
        this.state = 'closed';
        done(null);
      },
      () => {
        if (this.isDone) return;
        this.state = 'open';
        try {
          this.close(fallback);
        } catch (e) {
          done(e as Error);
          return;
        }
        done(null);
      },
    );
  }

  /**
   * Stops appends and writes the header (compressing first when a codec is set); later attempts
   * resend the same bytes. Throws what the codec throws, leaving the batch open and unchanged.
   */
  close(compress?: (builder: RecordBatchBuilder) => Buffer, options?: RecordBatchCloseOptions): Buffer {
    if (this.bytes === null) {
      this.bytes = compress === undefined ? this.builder.close(options) : compress(this.builder);
      this.state = 'closed';
    }
    return this.bytes;
  }

  /**
   * Completes every record of the batch. `baseOffset` is -1 when acks=0; `logAppendTimeMs` is -1 unless
   * the topic uses LogAppendTime, in which case every record carries the broker's time.
   */
  succeed(baseOffset: bigint, logAppendTimeMs: number): void {
    if (this.state === 'succeeded' || this.state === 'failed') return;
    this.state = 'succeeded';
    const n = this.resolvers.length;
    const known = baseOffset >= 0n;
    // one bigint per record rather than two: offsets stay far below 2^53 in practice
    const base = known && baseOffset < 9007199254740000n ? Number(baseOffset) : -1;
    for (let i = 0; i < n; i++) {
      this.resolvers[i]({
        topic: this.topic,
        partition: this.partition,
        offset: !known ? -1n : base >= 0 ? BigInt(base + i) : baseOffset + BigInt(i),
        timestamp: logAppendTimeMs >= 0 ? logAppendTimeMs : this.timestamps[i],
        serializedKeySize: this.keySizes[i],
        serializedValueSize: this.valueSizes[i],
      });
    }
  }

  fail(error: Error): void {
    if (this.state === 'succeeded' || this.state === 'failed') return;
    this.state = 'failed';
    for (const reject of this.rejecters) reject(error);
  }

  /** A batch being sent again: a retry, or a part of a batch split after MESSAGE_TOO_LARGE. */
  get isResend(): boolean {
    return this.attempts > 0 || !this.pooled;
  }

  get isDone(): boolean {
    return this.state === 'succeeded' || this.state === 'failed';
  }
}
