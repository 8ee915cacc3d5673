import { BuiltInPartitioner } from './built-in-partitioner';
import { RecordAccumulator, type AccumulatorConfig, type BatchCodec } from './record-accumulator';
import { ProducerTopics, type PartitionState } from './topic-state';
import type { RecordMetadata } from './types';
import type { ProducerBatch } from './producer-batch';

const config: AccumulatorConfig = { batchSize: 1024, bufferMemory: 4096, lingerMs: 5, retryBackoffMs: 100, retryBackoffMaxMs: 1000, deliveryTimeoutMs: 120000 };

/** Topics with the given leader per partition, and an accumulator over them. */
function setup(cfg: AccumulatorConfig, layout: Record<string, number[]>, codec: BatchCodec | null = null) {
  const topics = new ProducerTopics();
  for (const [name, leaders] of Object.entries(layout)) {
    topics.setInfo(topics.getOrCreate(name), { name, topicId: Buffer.alloc(16), partitions: leaders.map((leaderId, partition) => ({ partition, leaderId, leaderEpoch: 0 })) });
  }
  const progress = jest.fn();
  const acc = new RecordAccumulator(cfg, { topics, codec, onProgress: progress });
  const ps = (t: string, p: number): PartitionState => topics.getOrCreate(t).partition(p);
  return { acc, topics, ps, progress };
}

const notMuted = (): boolean => false;
function handlers(): [(m: RecordMetadata) => void, (e: Error) => void, { ok: RecordMetadata[]; errors: Error[] }] {
  const out = { ok: [] as RecordMetadata[], errors: [] as Error[] };
  return [(m) => out.ok.push(m), (e) => out.errors.push(e), out];
}
const value = (n: number, fill = 7): Buffer => Buffer.alloc(n, fill);

describe('RecordAccumulator', () => {
  it('is not ready before linger, ready after it, and ready at once for a full batch', () => {
    const { acc, ps } = setup(config, { t: [1] });
    const [res, rej] = handlers();
    acc.append(ps('t', 0), false, 1000, null, value(10), null, res, rej, 1000, 61000);
    expect(acc.ready(1001).readyNodes.size).toBe(0);
    expect(acc.ready(1001).nextReadyCheckDelayMs).toBe(4);
    expect([...acc.ready(1005).readyNodes]).toEqual([1]);
    for (let i = 0; i < 20; i++) acc.append(ps('t', 0), false, 1000, null, value(100), null, res, rej, 1001, 61000);
    expect([...acc.ready(1001).readyNodes]).toEqual([1]);
  });

  it('reports topics whose leader is unknown', () => {
    const { acc, ps } = setup(config, { lost: [-1] });
    const [res, rej] = handlers();
    acc.append(ps('lost', 0), false, 1, null, value(1), null, res, rej, 1, 1000);
    expect([...acc.ready(100).unknownLeaderTopics]).toEqual(['lost']);
  });

  it('drains one batch per partition per node, bounded by maxRequestSize, resuming round-robin', () => {
    const { acc, ps } = setup({ ...config, bufferMemory: 1 << 20 }, { t: [1, 1, 1] });
    const [res, rej] = handlers();
    for (const p of [0, 1, 2]) for (let i = 0; i < 12; i++) acc.append(ps('t', p), false, 1, null, value(100), null, res, rej, 1, 1000);
    const first = acc.drain([1], 2500, 100, notMuted).get(1)!;
    expect(first.map((b) => b.partition)).toEqual([0, 1]);
    // partition 2's full batch first (the walk resumes after 1), then the small second batches of 0 and 1
    const second = acc.drain([1], 2500, 100, notMuted).get(1)!;
    expect(second.map((b) => b.partition)).toEqual([2, 0, 1]);
    expect(second[1].recordCount).toBeLessThan(first[0].recordCount);
  });

  it('queues appends when memory is short, keeps their order, and serves them when memory returns', () => {
    const { acc, ps } = setup({ ...config, bufferMemory: 2048 }, { t: [1] });
    const [res, rej, out] = handlers();
    for (let i = 0; i < 18; i++) acc.append(ps('t', 0), false, 1, null, value(100), null, res, rej, 1, 60000);
    expect(acc.waitingForMemory).toBeGreaterThan(0);
    // a waiting append makes the partition sendable at once (Java's "exhausted")
    expect([...acc.ready(1).readyNodes]).toEqual([1]);
    const batch = acc.drain([1], 1 << 20, 1, notMuted).get(1)![0];
    acc.complete(batch, 0n, -1);
    expect(acc.waitingForMemory).toBe(0);
    expect(out.ok.map((m) => m.offset)).toEqual(Array.from({ length: out.ok.length }, (_, i) => BigInt(i)));
    acc.close();
  });

  it('fails appends that wait for memory past their deadline with BufferExhaustedError', async () => {
    const { acc, ps } = setup({ ...config, bufferMemory: 1024 }, { t: [1] });
    const [res, rej, out] = handlers();
    for (let i = 0; i < 12; i++) acc.append(ps('t', 0), false, 1, null, value(100), null, res, rej, Date.now(), Date.now() + 20);
    await new Promise((r) => setTimeout(r, 50));
    expect(out.errors.length).toBeGreaterThan(0);
    expect(out.errors[0].name).toBe('BufferExhaustedError');
    expect(acc.waitingForMemory).toBe(0);
  });

  it('bounds the sends waiting for memory too: beyond another bufferMemory of bytes they fail at once', () => {
    const { acc, ps } = setup({ ...config, bufferMemory: 2048 }, { t: [1] });
    const [res, rej, out] = handlers();
    for (let i = 0; i < 100; i++) acc.append(ps('t', 0), false, 1, null, value(100), null, res, rej, 1, 60000);
    expect(acc.waitingForMemory).toBeGreaterThan(0);
    expect(acc.waitingForMemory).toBeLessThanOrEqual(Math.ceil(2048 / 100));
    expect(out.errors.length).toBeGreaterThan(0);
    expect(out.errors[0].message).toMatch(/outpacing the brokers/);
    acc.abortUndrained(new Error('closed'));
    acc.close();
  });

  it('flush stays pending until the batches that existed at the call completed, and ignores later ones', async () => {
    const { acc, ps } = setup(config, { t: [1, 1] });
    const [res, rej] = handlers();
    acc.append(ps('t', 0), false, 1, null, value(10), null, res, rej, 1, 1000);
    let flushed = false;
    const f = acc.flush().then(() => (flushed = true));
    expect(acc.isFlushing).toBe(true);
    acc.append(ps('t', 1), false, 1, null, value(10), null, res, rej, 1, 1000);
    const batches = acc.drain([1], 1 << 20, 1, notMuted).get(1)!;
    await Promise.resolve();
    expect(flushed).toBe(false);
    acc.complete(batches.find((b) => b.partition === 0)!, 0n, -1);
    await f;
    expect(flushed).toBe(true);
    expect(acc.incompleteCount).toBe(1); // the later batch does not hold the flush up
  });

  it('flush also waits for the records waiting for memory at the call, and the batches they land in', async () => {
    const { acc, ps } = setup({ ...config, bufferMemory: 2048 }, { t: [1] });
    const [res, rej, out] = handlers();
    for (let i = 0; i < 25; i++) acc.append(ps('t', 0), false, 1, null, value(100), null, res, rej, 1, 60000);
    const waiting = acc.waitingForMemory;
    expect(waiting).toBeGreaterThan(0);
    let flushed = false;
    const f = acc.flush().then(() => (flushed = true));
    // complete batches one by one: the flush must not resolve while any of the 25 records is pending
    for (let round = 0; round < 10 && out.ok.length < 25; round++) {
      const drained = acc.drain([1], 1 << 20, 1, notMuted).get(1) ?? [];
      for (const b of drained) acc.complete(b, BigInt(out.ok.length), -1);
      await Promise.resolve();
      if (out.ok.length < 25) expect(flushed).toBe(false);
    }
    await f;
    expect(out.ok).toHaveLength(25);
    expect(out.errors).toHaveLength(0);
  });

  it('flush after a split waits for every part (the parts keep the batch creation id)', async () => {
    const { acc, ps } = setup({ ...config, batchSize: 8192, bufferMemory: 1 << 20 }, { t: [1], u: [1] });
    const [res, rej, out] = handlers();
    for (let i = 0; i < 40; i++) acc.append(ps('t', 0), false, 1, null, value(100), null, res, rej, 1, 1000);
    acc.append(ps('u', 0), false, 1, null, value(100), null, res, rej, 1, 1000);
    let flushed = false;
    const f = acc.flush().then(() => (flushed = true));
    const drained = acc.drain([1], 1 << 20, 1, notMuted).get(1)!;
    const big = drained.find((b) => b.topic === 't')!;
    expect(acc.splitAndReenqueue(big)).toBeGreaterThan(1);
    acc.complete(drained.find((b) => b.topic === 'u')!, 0n, -1);
    const [part] = acc.drain([1], 1 << 20, 1, notMuted).get(1)!;
    acc.complete(part, 0n, -1);
    await Promise.resolve();
    expect(flushed).toBe(false);
    while (out.ok.length < 41) for (const b of acc.drain([1], 1 << 20, 1, notMuted).get(1) ?? []) acc.complete(b, 0n, -1);
    await f;
    expect(flushed).toBe(true);
  });

  it('re-enqueues retried batches in creation order, ahead of newer batches', () => {
    const { acc, ps } = setup({ ...config, bufferMemory: 1 << 20 }, { t: [1] });
    const [res, rej] = handlers();
    const drained: ProducerBatch[] = [];
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 5; j++) acc.append(ps('t', 0), false, 1, null, value(100, i), null, res, rej, 1, 1000);
      drained.push(...acc.drain([1], 1 << 20, 1, notMuted).get(1)!);
    }
    acc.append(ps('t', 0), false, 1, null, value(100, 9), null, res, rej, 1, 1000);
    // responses in order: batch 0 fails, then batch 1 fails; both go back before the newest batch
    acc.reenqueue(drained[0], 2);
    acc.reenqueue(drained[1], 2);
    expect(ps('t', 0).queue.map((b) => b.id)).toEqual([drained[0].id, drained[1].id, drained[2].id + 1]);
  });

  it('splits a batch into smaller ones carrying the same records and handlers, in order', () => {
    const { acc, ps } = setup({ ...config, batchSize: 8192, bufferMemory: 1 << 20 }, { t: [1] });
    const [res, rej, out] = handlers();
    for (let i = 0; i < 40; i++) acc.append(ps('t', 0), false, 1000 + i, Buffer.from(`k${i}`), value(100), null, res, rej, 1, 1000);
    const [big] = acc.drain([1], 1 << 20, 1, notMuted).get(1)!;
    const parts = acc.splitAndReenqueue(big);
    expect(parts).toBeGreaterThan(1);
    let offset = 0n;
    for (let i = 0; i < parts; i++) {
      const [b] = acc.drain([1], 1 << 20, 1, notMuted).get(1)!;
      acc.complete(b, offset, -1);
      offset += BigInt(b.recordCount);
    }
    expect(out.ok).toHaveLength(40);
    expect(out.ok.map((m) => m.timestamp)).toEqual(Array.from({ length: 40 }, (_, i) => 1000 + i));
    expect(out.ok.map((m) => m.offset)).toEqual(Array.from({ length: 40 }, (_, i) => BigInt(i)));
    expect(acc.incompleteCount).toBe(0);
  });

  it('a codec that throws fails only the batch it was compressing, with a typed error, and frees its memory', () => {
    let calls = 0;
    const codec: BatchCodec = {
      name: 'test',
      compress: (b) => {
        if (calls++ === 0) throw new Error('codec exploded');
        return b.close();
      },
      compressAsync: async (b) => b.close(),
      asyncThreshold: Number.POSITIVE_INFINITY,
      decompress: (_c, input) => input,
    };
    const { acc, ps } = setup({ ...config, bufferMemory: 1 << 20 }, { t: [1, 1] }, codec);
    const [res, rej, out] = handlers();
    acc.append(ps('t', 0), false, 1, null, value(10), null, res, rej, 1, 1000);
    acc.append(ps('t', 1), false, 1, null, value(10), null, res, rej, 1, 1000);
    const drained = acc.drain([1], 1 << 20, 1, notMuted).get(1)!;
    expect(drained.map((b) => b.partition)).toEqual([1]);
    expect(out.errors).toHaveLength(1);
    expect(out.errors[0]).toMatchObject({ code: 'COMPRESSION_FAILED', retriable: false });
    acc.complete(drained[0], 0n, -1);
    expect(acc.pool.availableMemory).toBe(acc.pool.totalMemory);
    expect(acc.incompleteCount).toBe(0);
  });
});

describe('RecordAccumulator batch growth (batchMaxSize)', () => {
  const growing: AccumulatorConfig = { ...config, batchSize: 1024, batchMaxSize: 8192, bufferMemory: 1 << 20 };
  const capacities = (ps: PartitionState): number[] => ps.queue.map((b) => b.buffer.length);

  it('doubles each new batch while the partition still has an earlier batch waiting, up to batchMaxSize', () => {
    const { acc, ps } = setup(growing, { t: [1] });
    const [res, rej] = handlers();
    // nothing is drained: every new batch opens behind a waiting one
    for (let i = 0; i < 300; i++) acc.append(ps('t', 0), false, 1, null, value(100), null, res, rej, 1, 60000);
    const sizes = capacities(ps('t', 0));
    expect(sizes.slice(0, 4)).toEqual([1024, 2048, 4096, 8192]);
    expect(sizes.length).toBeGreaterThan(5);
    expect(sizes.slice(4).every((size) => size === 8192)).toBe(true);
    // every grown batch is filled before the next opens
    expect(ps('t', 0).queue.slice(0, -1).every((b) => b.isFull)).toBe(true);
  });

  it('keeps the size of a batch that left full, halves it after one that left on lingerMs, never below batchSize', () => {
    const { acc, ps } = setup(growing, { t: [1] });
    const [res, rej] = handlers();
    for (let i = 0; i < 40; i++) acc.append(ps('t', 0), false, 1, null, value(100), null, res, rej, 1, 60000);
    expect(capacities(ps('t', 0))).toEqual([1024, 2048, 4096]);
    const sendAll = (now: number): void => {
      while (ps('t', 0).queue.length > 0) acc.drain([1], 1 << 20, now, notMuted);
    };
    sendAll(100); // the 4096-byte batch leaves on lingerMs, not full
    acc.append(ps('t', 0), false, 101, null, value(100), null, res, rej, 101, 60000);
    expect(capacities(ps('t', 0))).toEqual([2048]);
    // this one fills up before it is sent: the next batch keeps its size
    for (let i = 0; i < 18; i++) acc.append(ps('t', 0), false, 101, null, value(100), null, res, rej, 101, 60000);
    expect(ps('t', 0).queue[0].isFull).toBe(true);
    acc.drain([1], 1 << 20, 101, notMuted);
    sendAll(200);
    acc.append(ps('t', 0), false, 201, null, value(100), null, res, rej, 201, 60000);
    expect(capacities(ps('t', 0))).toEqual([2048]);
    for (const now of [300, 400]) {
      sendAll(now);
      acc.append(ps('t', 0), false, now + 1, null, value(100), null, res, rej, now + 1, 60000);
    }
    expect(capacities(ps('t', 0))).toEqual([1024]);
  });

  it('keeps batches at batchSize when batchMaxSize is not above it (Java: no growth)', () => {
    const { acc, ps } = setup({ ...growing, batchMaxSize: 1024 }, { t: [1] });
    const [res, rej] = handlers();
    for (let i = 0; i < 60; i++) acc.append(ps('t', 0), false, 1, null, value(100), null, res, rej, 1, 60000);
    expect(new Set(capacities(ps('t', 0)))).toEqual(new Set([1024]));
  });

  it('opens a batch of batchSize instead of waiting when memory has room for that but not for the grown size', () => {
    // 8 KiB of memory: 1 + 2 + 4 KiB grown batches leave 1 KiB, too little for the 8 KiB the next would get
    const { acc, ps } = setup({ ...growing, bufferMemory: 8192 }, { t: [1] });
    const [res, rej, out] = handlers();
    for (let i = 0; i < 200 && ps('t', 0).queue.length < 4; i++) acc.append(ps('t', 0), false, 1, null, value(100), null, res, rej, 1, 60000);
    expect(capacities(ps('t', 0))).toEqual([1024, 2048, 4096, 1024]);
    expect(acc.pool.availableMemory).toBe(0);
    expect(out.errors).toEqual([]);
  });

  it('stops growing a partition below a grown batch the broker refused as too large (MESSAGE_TOO_LARGE, then split)', () => {
    const { acc, ps } = setup(growing, { t: [1] });
    const [res, rej] = handlers();
    for (let i = 0; i < 300; i++) acc.append(ps('t', 0), false, 1, null, value(100), null, res, rej, 1, 60000);
    let refused: ProducerBatch | undefined;
    while (refused === undefined) {
      const b = acc.drain([1], 1 << 20, 1, notMuted).get(1)![0];
      if (b.buffer.length === 8192) refused = b;
      else acc.complete(b, 0n, -1);
    }
    acc.splitAndReenqueue(refused);
    // a fresh backlog: growth now stops at 4 KiB
    while (ps('t', 0).queue.length > 0) for (const b of acc.drain([1], 1 << 20, 2, notMuted).get(1) ?? []) acc.complete(b, 0n, -1);
    for (let i = 0; i < 300; i++) acc.append(ps('t', 0), false, 3, null, value(100), null, res, rej, 3, 60000);
    const sizes = capacities(ps('t', 0));
    expect(Math.max(...sizes)).toBe(4096);
    expect(sizes.filter((s) => s === 4096).length).toBeGreaterThan(3);
  });

  it('still gives a record larger than the grown size a batch of its own size', () => {
    const { acc, ps } = setup(growing, { t: [1] });
    const [res, rej] = handlers();
    for (let i = 0; i < 12; i++) acc.append(ps('t', 0), false, 1, null, value(100), null, res, rej, 1, 60000);
    acc.append(ps('t', 0), false, 1, null, value(20_000), null, res, rej, 1, 60000);
    const sizes = capacities(ps('t', 0));
    expect(sizes[sizes.length - 1]).toBeGreaterThanOrEqual(20_000);
    expect(ps('t', 0).queue[ps('t', 0).queue.length - 1].recordCount).toBe(1);
  });
});

// Regression: when the sticky partitioner moved on at a batch boundary, the batch the record had not fit
// stayed open and waited for lingerMs before it was sent (Java closes it for appends: it is full).
describe('RecordAccumulator with the sticky partitioner', () => {
  it('makes a batch a record did not fit sendable at once, though the partitioner opened the next batch elsewhere', () => {
    const topics = new ProducerTopics();
    const t = topics.getOrCreate('t');
    topics.setInfo(t, { name: 't', topicId: Buffer.alloc(16), partitions: [0, 1].map((partition) => ({ partition, leaderId: partition + 1, leaderEpoch: 0 })) });
    let draw = 0;
    const partitioner = new BuiltInPartitioner({ batchSize: 1024, adaptive: false, random: () => draw++ });
    const acc = new RecordAccumulator({ ...config, lingerMs: 1000, bufferMemory: 1 << 20 }, { topics, partitioner, onProgress: () => undefined });
    const [res, rej] = handlers();
    const send = (): void => {
      acc.append(t.partition(partitioner.partition(t.info!)), true, 1, null, value(100), null, res, rej, 1, 60000);
    };
    const first = partitioner.partition(t.info!);
    const queue = t.partition(first).queue;
    // the stay on `first` spans two batches; the sender takes the first one meanwhile, as it would
    while (queue.length < 2) send();
    acc.drain([first + 1], 1 << 20, 2, notMuted);
    while (partitioner.partition(t.info!) === first) send();
    // the switch came when a record did not fit the second batch, now alone in its queue: sendable
    // now, not lingerMs (1000 ms) later
    expect(queue).toHaveLength(1);
    expect([...acc.ready(3).readyNodes]).toEqual([first + 1]);
  });
});
