import { RecordAccumulator, type LeaderView, type TopicPartition } from './record-accumulator';
import type { RecordMetadata } from './types';

const config = { batchSize: 1024, bufferMemory: 4096, lingerMs: 5, retryBackoffMs: 100, retryBackoffMaxMs: 1000, deliveryTimeoutMs: 120000 };
const leaders = (map: Record<string, number>): LeaderView => ({
  leaderFor: (t, p) => map[`${t}-${p}`] ?? -1,
  partitionsLedBy: (node) =>
    Object.entries(map)
      .filter(([, n]) => n === node)
      .map(([tp]) => ({ topic: tp.slice(0, tp.lastIndexOf('-')), partition: Number(tp.slice(tp.lastIndexOf('-') + 1)) })),
});
const notMuted = (_tp: TopicPartition): boolean => false;
const handlers = (): [(m: RecordMetadata) => void, (e: Error) => void, { ok: RecordMetadata[]; errors: Error[] }] => {
  const out = { ok: [] as RecordMetadata[], errors: [] as Error[] };
  return [(m) => out.ok.push(m), (e) => out.errors.push(e), out];
};
const value = (n: number): Buffer => Buffer.alloc(n, 7);

describe('RecordAccumulator', () => {
  it('is not ready before linger, ready after it, and ready at once for a full batch', () => {
    const acc = new RecordAccumulator(config);
    const [res, rej] = handlers();
    acc.append('t', 0, 1000, null, value(10), null, res, rej, 1000, 61000);
    const view = leaders({ 't-0': 1 });
    expect(acc.ready(view, 1001).readyNodes.size).toBe(0);
    expect(acc.ready(view, 1001).nextReadyCheckDelayMs).toBe(4);
    expect([...acc.ready(view, 1005).readyNodes]).toEqual([1]);
    for (let i = 0; i < 20; i++) acc.append('t', 0, 1000, null, value(100), null, res, rej, 1001, 61000);
    expect([...acc.ready(view, 1001).readyNodes]).toEqual([1]);
  });

  it('reports topics whose leader is unknown', () => {
    const acc = new RecordAccumulator(config);
    const [res, rej] = handlers();
    acc.append('lost', 0, 1, null, value(1), null, res, rej, 1, 1000);
    expect([...acc.ready(leaders({}), 100).unknownLeaderTopics]).toEqual(['lost']);
  });

  it('drains one batch per partition per node, bounded by maxRequestSize, resuming round-robin', () => {
    const acc = new RecordAccumulator({ ...config, bufferMemory: 1 << 20 });
    const [res, rej] = handlers();
    for (const p of [0, 1, 2]) for (let i = 0; i < 12; i++) acc.append('t', p, 1, null, value(100), null, res, rej, 1, 1000);
    const view = leaders({ 't-0': 1, 't-1': 1, 't-2': 1 });
    const first = acc.drain(view, [1], 2500, 100, notMuted).get(1)!;
    expect(first.map((b) => b.partition)).toEqual([0, 1]);
    // partition 2's full batch first (the walk resumes after 1), then the small second batches of 0 and 1
    const second = acc.drain(view, [1], 2500, 100, notMuted).get(1)!;
    expect(second.map((b) => b.partition)).toEqual([2, 0, 1]);
    expect(second[1].recordCount).toBeLessThan(first[0].recordCount);
  });

  it('queues appends when memory is short, keeps their order, and serves them when memory returns', () => {
    const acc = new RecordAccumulator({ ...config, bufferMemory: 2048 });
    const [res, rej, out] = handlers();
    const view = leaders({ 't-0': 1 });
    for (let i = 0; i < 18; i++) acc.append('t', 0, 1, null, value(100), null, res, rej, 1, 60000);
    expect(acc.waitingForMemory).toBeGreaterThan(0);
    // a waiting append makes the partition sendable at once (Java's "exhausted")
    expect([...acc.ready(view, 1).readyNodes]).toEqual([1]);
    const batch = acc.drain(view, [1], 1 << 20, 1, notMuted).get(1)![0];
    batch.succeed(0n, -1);
    acc.completed(batch);
    expect(acc.waitingForMemory).toBe(0);
    expect(out.ok.map((m) => m.offset)).toEqual(Array.from({ length: out.ok.length }, (_, i) => BigInt(i)));
  });

  it('fails appends that wait for memory past their deadline with BufferExhaustedError', async () => {
    const acc = new RecordAccumulator({ ...config, bufferMemory: 1024 });
    const [res, rej, out] = handlers();
    for (let i = 0; i < 12; i++) acc.append('t', 0, 1, null, value(100), null, res, rej, Date.now(), Date.now() + 20);
    await new Promise((r) => setTimeout(r, 50));
    expect(out.errors.length).toBeGreaterThan(0);
    expect(out.errors[0].name).toBe('BufferExhaustedError');
    expect(acc.waitingForMemory).toBe(0);
  });

  it('bounds the sends waiting for memory too: beyond another bufferMemory of bytes they fail at once', () => {
    const acc = new RecordAccumulator({ ...config, bufferMemory: 2048 });
    const [res, rej, out] = handlers();
    for (let i = 0; i < 100; i++) acc.append('t', 0, 1, null, value(100), null, res, rej, 1, 60000);
    expect(acc.waitingForMemory).toBeGreaterThan(0);
    expect(acc.waitingForMemory).toBeLessThanOrEqual(Math.ceil(2048 / 100));
    expect(out.errors.length).toBeGreaterThan(0);
    expect(out.errors[0].message).toMatch(/outpacing the brokers/);
    acc.abortPending(new Error('closed'));
  });

  it('flush resolves only when the batches that existed at the call completed', async () => {
    const acc = new RecordAccumulator(config);
    const [res, rej] = handlers();
    acc.append('t', 0, 1, null, value(10), null, res, rej, 1, 1000);
    let flushed = false;
    const f = acc.flush().then(() => (flushed = true));
    expect(acc.isFlushing).toBe(true);
    acc.append('t', 1, 1, null, value(10), null, res, rej, 1, 1000);
    const batches = acc.drain(leaders({ 't-0': 1, 't-1': 1 }), [1], 1 << 20, 1, notMuted).get(1)!;
    const first = batches.find((b) => b.partition === 0)!;
    first.succeed(0n, -1);
    acc.completed(first);
    await f;
    expect(flushed).toBe(true);
  });

  it('splits a batch into smaller ones carrying the same records and handlers, in order', () => {
    const acc = new RecordAccumulator({ ...config, batchSize: 8192, bufferMemory: 1 << 20 });
    const [res, rej, out] = handlers();
    for (let i = 0; i < 40; i++) acc.append('t', 0, 1000 + i, Buffer.from(`k${i}`), value(100), null, res, rej, 1, 1000);
    const view = leaders({ 't-0': 1 });
    const [big] = acc.drain(view, [1], 1 << 20, 1, notMuted).get(1)!;
    const parts = acc.splitAndReenqueue(big);
    expect(parts).toBeGreaterThan(1);
    let offset = 0n;
    for (let i = 0; i < parts; i++) {
      const [b] = acc.drain(view, [1], 1 << 20, 1, notMuted).get(1)!;
      b.succeed(offset, -1);
      offset += BigInt(b.recordCount);
      acc.completed(b);
    }
    expect(out.ok).toHaveLength(40);
    expect(out.ok.map((m) => m.timestamp)).toEqual(Array.from({ length: 40 }, (_, i) => 1000 + i));
    expect(out.ok.map((m) => m.offset)).toEqual(Array.from({ length: 40 }, (_, i) => BigInt(i)));
    expect(acc.incompleteCount).toBe(0);
  });
});
