import { KafkaError } from '../errors';

/** send() waited maxBlockMs for buffer memory and none came free. */
export class BufferExhaustedError extends KafkaError {
  constructor(message: string) {
    super(message, { code: 'BUFFER_EXHAUSTED', retriable: true });
  }
}

/**
 * Java's BufferPool: bounds the bytes held in batches by bufferMemory. Buffers of exactly batchSize
 * are kept on a free list and reused (most batches are that size, and reuse spares the GC); other sizes
 * are allocated fresh and only counted. Allocation never blocks here: `tryAllocate` says no, and the
 * accumulator queues the append (in FIFO order) until `deallocate` makes room.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  /** Memory not held by a batch and not on the free list. */
  private nonPooledAvailable: number;
  constructor(
    readonly totalMemory: number,
    readonly poolableSize: number,
    /** Called after memory came back, so queued appends can proceed. */
    private readonly onRelease: () => void = () => undefined,
  ) {
    this.nonPooledAvailable = totalMemory;
  }

  /** Drops the free list, so a closed producer holds no batch memory. */
  close(): void {
    this.nonPooledAvailable += this.free.length * this.poolableSize;
    this.free.length = 0;
  }

  /** Bytes not in use by batches (free list included). */
  get availableMemory(): number {
    return this.nonPooledAvailable + this.free.length * this.poolableSize;
  }

  /** A buffer of `size` bytes, or null when the pool cannot give that much right now. */
  tryAllocate(size: number): Buffer | null {
    if (size > this.totalMemory) {
      throw new BufferExhaustedError(`Attempt to allocate ${size} bytes, but there is a hard limit of ${this.totalMemory} on memory allocations (bufferMemory).`);
    }
    if (size === this.poolableSize && this.free.length > 0) return this.free.pop()!;
    if (this.availableMemory < size) return null;
    // give pooled buffers back to the general budget until the request fits
    while (this.nonPooledAvailable < size) {
      this.free.pop();
      this.nonPooledAvailable += this.poolableSize;
    }
    this.nonPooledAvailable -= size;
    // Each batch buffer needs its own ArrayBuffer to be reusable (see deallocate). allocUnsafe gives one
    // for sizes of at least half Node's allocation pool (8 KiB pool on Node 20) and is measurably
    // cheaper there; below that (16 KiB batches under Node 24's 64 KiB pool) it would hand out a slice.
    return size >= Buffer.poolSize >>> 1 ? Buffer.allocUnsafe(size) : Buffer.allocUnsafeSlow(size);
  }

  /** Returns a batch's buffer; a buffer of exactly batchSize goes back on the free list for reuse. */
  deallocate(buffer: Buffer): void {
    if (buffer.length === this.poolableSize && buffer.byteOffset === 0 && buffer.buffer.byteLength === this.poolableSize) this.free.push(buffer);
    else this.nonPooledAvailable += buffer.length;
    this.onRelease();
  }
}
