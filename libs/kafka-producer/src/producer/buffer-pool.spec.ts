import { BufferExhaustedError, BufferPool } from './buffer-pool';

describe('BufferPool', () => {
  it('hands out memory up to bufferMemory and says no beyond it', () => {
    const pool = new BufferPool(64 * 1024, 16 * 1024);
    const buffers = [1, 2, 3, 4].map(() => pool.tryAllocate(16 * 1024));
    expect(buffers.every((b) => b !== null && b.length === 16 * 1024)).toBe(true);
    expect(pool.availableMemory).toBe(0);
    expect(pool.tryAllocate(16 * 1024)).toBeNull();
  });

  it('reuses batch-size buffers and counts other sizes back into the budget', () => {
    const pool = new BufferPool(64 * 1024, 16 * 1024);
    const a = pool.tryAllocate(16 * 1024)!;
    const big = pool.tryAllocate(40 * 1024)!;
    expect(pool.availableMemory).toBe(8 * 1024);
    pool.deallocate(a);
    expect(pool.tryAllocate(16 * 1024)).toBe(a);
    pool.deallocate(big);
    expect(pool.availableMemory).toBe(48 * 1024);
  });

  it('turns pooled buffers back into general memory for a larger request', () => {
    const pool = new BufferPool(32 * 1024, 16 * 1024);
    const a = pool.tryAllocate(16 * 1024)!;
    const b = pool.tryAllocate(16 * 1024)!;
    pool.deallocate(a);
    pool.deallocate(b);
    expect(pool.tryAllocate(30 * 1024)!.length).toBe(30 * 1024);
  });

  it('tells the accumulator when memory comes back', () => {
    const released = jest.fn();
    const pool = new BufferPool(16 * 1024, 16 * 1024, released);
    pool.deallocate(pool.tryAllocate(16 * 1024)!);
    expect(released).toHaveBeenCalledTimes(1);
  });

  it('holds no free list after close, so a closed producer keeps no batch memory', () => {
    const pool = new BufferPool(64 * 1024, 16 * 1024);
    pool.deallocate(pool.tryAllocate(16 * 1024)!);
    pool.close();
    expect(pool.availableMemory).toBe(64 * 1024);
    expect((pool as unknown as { free: Map<number, Buffer[]> }).free.size).toBe(0);
  });

  it('also reuses the grown sizes batchSize × 2^k up to its largest poolable size, and no others', () => {
    const K = 1024;
    const pool = new BufferPool(512 * K, 16 * K, undefined, 64 * K);
    const grown = [32, 64].map((k) => pool.tryAllocate(k * K)!);
    const odd = pool.tryAllocate(48 * K)!; // not a power-of-two multiple
    const beyond = pool.tryAllocate(128 * K)!; // above the largest poolable size
    for (const b of [...grown, odd, beyond]) pool.deallocate(b);
    expect(pool.availableMemory).toBe(512 * K);
    expect(pool.tryAllocate(32 * K)).toBe(grown[0]);
    expect(pool.tryAllocate(64 * K)).toBe(grown[1]);
    expect(pool.tryAllocate(48 * K)).not.toBe(odd);
    expect(pool.tryAllocate(128 * K)).not.toBe(beyond);
  });

  it('gives free buffers of any size back to the budget when a request does not fit otherwise', () => {
    const K = 1024;
    const pool = new BufferPool(96 * K, 16 * K, undefined, 64 * K);
    const a = pool.tryAllocate(64 * K)!;
    const b = pool.tryAllocate(32 * K)!;
    pool.deallocate(a);
    pool.deallocate(b);
    // 96 KiB are free, all of them on free lists of other sizes
    expect(pool.tryAllocate(80 * K)!.length).toBe(80 * K);
    expect(pool.availableMemory).toBe(16 * K);
    expect(pool.tryAllocate(32 * K)).toBeNull();
  });

  it('refuses a request larger than the whole pool with a clear error', () => {
    const pool = new BufferPool(1024, 512);
    expect(() => pool.tryAllocate(2048)).toThrow(BufferExhaustedError);
  });
});
