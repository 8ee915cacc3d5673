import { KafkaError } from '../errors';

/** send() waited maxBlockMs for buffer memory and none came free. */
export class BufferExhaustedError extends KafkaError {
  constructor(message: string) {
    super(message, { code: 'BUFFER_EXHAUSTED', retriable: true });
  }
}

/**
 * Java's BufferPool: bounds the bytes held in batches by bufferMemory. Buffers of batchSize, and of the
 * sizes the accumulator grows batches to (batchSize × 2^k up to batchMaxSize), are kept on free lists and
 * reused (nearly every batch has one of those sizes, and reuse spares the GC); other sizes (a record
 * larger than the batch) are allocated fresh and only counted. Allocation never blocks here:
 * `tryAllocate` says no, and the accumulator queues the append (in FIFO order) until `deallocate` makes
 * room.
 */
export class BufferPool {
  /** Free buffers by size. */
  private readonly free = new Map<number, Buffer[]>();
  private freeBytes = 0;
  /** Memory not held by a batch and not on a free list. */
  private nonPooledAvailable: number;
  constructor(
    readonly totalMemory: number,
    readonly poolableSize: number,
    /** Called after memory came back, so queued appends can proceed. */
    private readonly onRelease: () => void = () => undefined,
    /** The largest size kept for reuse (batchMaxSize); default poolableSize, Java's pool. */
    private readonly maxPoolableSize: number = poolableSize,
  ) {
    this.nonPooledAvailable = totalMemory;
  }

  /** Drops the free lists, so a closed producer holds no batch memory. */
  close(): void {
    this.nonPooledAvailable += this.freeBytes;
    this.freeBytes = 0;
    this.free.clear();
  }

  /** Bytes not in use by batches (free lists included). */
  get availableMemory(): number {
    return this.nonPooledAvailable + this.freeBytes;
  }

  /** batchSize × 2^k, up to maxPoolableSize. */
  private isPoolable(size: number): boolean {
    if (size < this.poolableSize || size > this.maxPoolableSize || size % this.poolableSize !== 0) return false;
    const ratio = size / this.poolableSize;
    return (ratio & (ratio - 1)) === 0;
  }

  /** Gives one free buffer back to the general budget (the largest first: it frees the most). */
  private releaseOne(): void {
    let largest = 0;
    for (const [size, list] of this.free) if (list.length > 0 && size > largest) largest = size;
    this.free.get(largest)!.pop();
    this.freeBytes -= largest;
    this.nonPooledAvailable += largest;
  }

  /** A buffer of `size` bytes, or null when the pool cannot give that much right now. */
  tryAllocate(size: number): Buffer | null {
    if (size > this.totalMemory) {
      throw new BufferExhaustedError(`Attempt to allocate ${size} bytes, but there is a hard limit of ${this.totalMemory} on memory allocations (bufferMemory).`);
    }
    const list = this.free.get(size);
    if (list !== undefined && list.length > 0) {
      this.freeBytes -= size;
      return list.pop()!;
    }
    if (this.availableMemory < size) return null;
    // give free buffers back to the general budget until the request fits
    while (this.nonPooledAvailable < size) this.releaseOne();
    this.nonPooledAvailable -= size;
    // Each batch buffer needs its own ArrayBuffer to be reusable (see deallocate). allocUnsafe gives one
    // for sizes of at least half Node's allocation pool (8 KiB pool on Node 20) and is measurably
    // cheaper there; below that (16 KiB batches under Node 24's 64 KiB pool) it would hand out a slice.
    return size >= Buffer.poolSize >>> 1 ? Buffer.allocUnsafe(size) : Buffer.allocUnsafeSlow(size);
  }

  /** Returns a batch's buffer; one of a poolable size goes back on its free list for reuse. */
  deallocate(buffer: Buffer): void {
    const size = buffer.length;
    if (this.isPoolable(size) && buffer.byteOffset === 0 && buffer.buffer.byteLength === size) {
      let list = this.free.get(size);
      if (list === undefined) this.free.set(size, (list = []));
      list.push(buffer);
      this.freeBytes += size;
    } else {
      this.nonPooledAvailable += size;
    }
    this.onRelease();
  }
}
