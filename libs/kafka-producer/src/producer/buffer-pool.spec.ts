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
    expect((pool as unknown as { free: Buffer[] }).free).toHaveLength(0);
  });

  it('refuses a request larger than the whole pool with a clear error', () => {
    const pool = new BufferPool(1024, 512);
    expect(() => pool.tryAllocate(2048)).toThrow(BufferExhaustedError);
  });
});
