import { closeProducers, producerOn, ScriptedCluster, track } from '../../test/support/scripted-cluster';
import { KafkaTimeoutError } from './errors';

jest.setTimeout(30_000);

afterEach(async () => {
  await closeProducers();
});

const values = (n: number, prefix = 'v'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** (epoch, baseSequence, values) of every Produce request for the partition, in arrival order. */
function sent(cluster: ScriptedCluster, topic = 'orders', partition = 0): Array<{ epoch: number; seq: number; values: Array<string | null>; errorCode?: number }> {
  return cluster.produceRequests({ topic, partition }).map((r) => {
    const i = r.partitions.findIndex((p) => p.topic === topic && p.partition === partition);
    const b = r.batches!.find((x) => x.topic === topic && x.partition === partition)!;
    return { epoch: b.producerEpoch, seq: b.baseSequence, values: r.partitions[i].values, errorCode: r.partitions[i].errorCode };
  });
}

describe('the idempotent producer (on by default)', () => {
  it('gets a producer id before its first batch and stamps every batch with the id, epoch 0 and per-partition sequences', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 2 } });
    const producer = producerOn(cluster, { lingerMs: 0 });
    await producer.send({ topic: 'orders', partition: 0, value: 'a' });
    await Promise.all(values(3, 'b').map((value) => producer.send({ topic: 'orders', partition: 0, value })));
    await producer.send({ topic: 'orders', partition: 1, value: 'c' });

    const init = cluster.requestsOf('InitProducerId');
    expect(init).toHaveLength(1);
    expect(init[0].seq).toBeLessThan(cluster.produceRequests()[0].seq);
    expect((init[0].body as { transactionalId: string | null }).transactionalId).toBeNull();
    const batches = cluster.produceRequests().flatMap((r) => r.batches!);
    expect(new Set(batches.map((b) => b.producerId))).toEqual(new Set([1000n]));
    expect(batches.every((b) => b.producerEpoch === 0 && !b.isTransactional)).toBe(true);
    // partition 0: 'a' is sequence 0, then each batch starts where the one before it ended
    const p0 = sent(cluster);
    expect(p0[0]).toMatchObject({ seq: 0, values: ['a'] });
    for (let i = 1; i < p0.length; i++) expect(p0[i].seq).toBe(p0[i - 1].seq + p0[i - 1].values.length);
    expect(p0.flatMap((x) => x.values)).toEqual(['a', 'b0', 'b1', 'b2']);
    // partition 1 has its own sequences
    expect(sent(cluster, 'orders', 1).map((s) => s.seq)).toEqual([0]);
    expect(producer.health().producerId).toEqual({ producerId: '1000', producerEpoch: 0 });
  });

  it('does not ask for a producer id when idempotence is off (acks 1 turns it off unless asked for)', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster, { lingerMs: 0, acks: 1 });
    await producer.send({ topic: 'orders', value: 'a' });
    expect(cluster.requestsOf('InitProducerId')).toHaveLength(0);
    expect(cluster.produceRequests()[0].batches![0]).toMatchObject({ producerId: -1n, producerEpoch: -1, baseSequence: -1 });
    expect(producer.health().producerId).toBeNull();
  });

  it('retries InitProducerId after an error, and sends nothing until it has an id', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    cluster.scriptApi('InitProducerId', 15, 15); // COORDINATOR_NOT_AVAILABLE twice
    const producer = producerOn(cluster, { lingerMs: 0, retryBackoffMs: 5 });
    await producer.send({ topic: 'orders', value: 'a' });
    const init = cluster.requestsOf('InitProducerId');
    expect(init).toHaveLength(3);
    expect(cluster.produceRequests()[0].seq).toBeGreaterThan(init[2].seq);
  });

  it('retries InitProducerId even when its backoff ends early by the wall clock (timers run on a cached clock; the clock may step back)', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    cluster.scriptApi('InitProducerId', 14); // COORDINATOR_LOAD_IN_PROGRESS, as a fresh cluster answers
    const hold = cluster.hold({ api: 'InitProducerId' });
    const realNow = Date.now.bind(Date);
    let behindMs = 0;
    jest.spyOn(Date, 'now').mockImplementation(() => realNow() - behindMs);
    try {
      const producer = producerOn(cluster, { lingerMs: 0, retryBackoffMs: 30, requestTimeoutMs: 2000, deliveryTimeoutMs: 5000 });
      const sent = producer.send({ topic: 'orders', value: 'a' });
      await hold.waitForHeld(1);
      hold.release();
      await new Promise((resolve) => setImmediate(resolve));
      // the failure was handled and its backoff measured; now the wall clock steps back by more than the
      // backoff, so whatever wakes up after 30 ms finds the backoff not yet over by Date.now()
      behindMs = 200;
      await sent;
      expect(cluster.requestsOf('InitProducerId')).toHaveLength(2);
    } finally {
      jest.restoreAllMocks();
    }
  });

  it('a batch written by the broker whose answer was lost is retried with the same sequence and is in the log once', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster, { lingerMs: 0, retryBackoffMs: 5 });
    await producer.send({ topic: 'orders', value: 'warm-up' });
    cluster.scriptRequests({ api: 'Produce' }, 'written-then-disconnect');
    const md = await producer.send({ topic: 'orders', value: 'x' });

    const attempts = sent(cluster).slice(1);
    expect(attempts.map((a) => [a.epoch, a.seq])).toEqual([
      [0, 1],
      [0, 1],
    ]);
    expect(cluster.log('orders', 0)).toEqual(['warm-up', 'x']);
    // the broker answers the duplicate with the offset it wrote the first time
    expect(md.offset).toBe(1n);
  });

  it('keeps per-partition order with 5 requests in flight when the first of them fails: the retry goes out before anything newer', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster, { lingerMs: 0, retryBackoffMs: 20, maxInFlightRequestsPerConnection: 5 });
    await producer.send({ topic: 'orders', value: 'warm-up' });
    const hold = cluster.hold({ api: 'Produce' });
    // the first request fails retriably; the broker rejects the later ones as out of order, as a real one does
    cluster.scriptPartition('orders', 0, { errorCode: 7 });
    const all: Array<ReturnType<typeof track>> = [];
    for (let i = 0; i < 4; i++) {
      all.push(...values(2, `r${i}-`).map((value) => track(producer.send({ topic: 'orders', value }))));
      await hold.waitForHeld(i + 1);
    }
    hold.release();
    await cluster.waitForSettled(all);
    expect(all.every((s) => s.state === 'fulfilled')).toBe(true);
    expect(cluster.log('orders', 0)).toEqual(['warm-up', ...[0, 1, 2, 3].flatMap((i) => values(2, `r${i}-`))]);
    // every batch kept its sequence across its retries
    const bySeq = new Map<number, string>();
    for (const a of sent(cluster)) {
      const key = a.values.join(',');
      if (bySeq.has(a.seq)) expect(bySeq.get(a.seq)).toBe(key);
      bySeq.set(a.seq, key);
    }
  });

  it('DUPLICATE_SEQUENCE_NUMBER completes the batch as a success (offset unknown)', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster, { lingerMs: 0 });
    cluster.scriptPartition('orders', 0, { errorCode: 46 });
    const md = await producer.send({ topic: 'orders', value: 'x' });
    expect(md.offset).toBe(-1n);
    expect(producer.health().lastError).toBeNull();
  });

  it('UNKNOWN_PRODUCER_ID: the partition restarts at sequence 0 under the next epoch, and the batch is written once', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster, { lingerMs: 0, retryBackoffMs: 5 });
    await producer.send({ topic: 'orders', value: 'a' });
    await producer.send({ topic: 'orders', value: 'b' });
    cluster.forgetProducers('orders', 0);
    cluster.scriptPartition('orders', 0, { errorCode: 59 });
    await producer.send({ topic: 'orders', value: 'c' });
    await producer.send({ topic: 'orders', value: 'd' });
    expect(sent(cluster).map((a) => [a.epoch, a.seq, a.values[0]])).toEqual([
      [0, 0, 'a'],
      [0, 1, 'b'],
      [0, 2, 'c'],
      [1, 0, 'c'],
      [1, 1, 'd'],
    ]);
    expect(cluster.log('orders', 0)).toEqual(['a', 'b', 'c', 'd']);
    expect(producer.health().producerId).toEqual({ producerId: '1000', producerEpoch: 1 });
  });

  it('OUT_OF_ORDER_SEQUENCE_NUMBER for the next expected batch bumps the epoch; for a later batch it retries with the same sequence', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster, { lingerMs: 0, retryBackoffMs: 5 });
    await producer.send({ topic: 'orders', value: 'a' });
    // the broker lost our state (unclean election): the next batch is out of order although we sent it right
    cluster.forgetProducers('orders', 0);
    cluster.scriptPartition('orders', 0, { errorCode: 45 });
    await producer.send({ topic: 'orders', value: 'b' });
    expect(sent(cluster).map((a) => [a.epoch, a.seq])).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
    ]);
    expect(cluster.log('orders', 0)).toEqual(['a', 'b']);
  });

  it('a batch that failed for good leaves a gap: later batches are renumbered under a new epoch, none is lost and order holds', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster, { lingerMs: 0, retryBackoffMs: 5 });
    await producer.send({ topic: 'orders', value: 'warm-up' });
    const hold = cluster.hold({ api: 'Produce' });
    // the first batch is rejected for good (INVALID_RECORD); the broker then sees the second one out of order
    cluster.scriptPartition('orders', 0, { errorCode: 87, message: 'bad record on purpose' });
    const bad = track(producer.send({ topic: 'orders', value: 'bad' }));
    await hold.waitForHeld(1);
    const later = values(3, 'ok').map((value) => track(producer.send({ topic: 'orders', value })));
    await hold.waitForHeld(2);
    hold.release();
    await cluster.waitForSettled([bad, ...later]);

    expect(bad.state).toBe('rejected');
    expect(later.map((s) => s.state)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(cluster.log('orders', 0)).toEqual(['warm-up', ...values(3, 'ok')]);
    const last = sent(cluster).at(-1)!;
    expect([last.epoch, last.seq]).toEqual([1, 0]);
  });

  it('a batch without an answer fails at its delivery timeout saying it may have been written; the partition is resolved before more is sent', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster, { lingerMs: 0, requestTimeoutMs: 200, deliveryTimeoutMs: 300, retryBackoffMs: 5 });
    await producer.send({ topic: 'orders', value: 'warm-up' });
    cluster.scriptRequests({ api: 'Produce' }, 'never', 'never', 'never');
    const lost = producer.send({ topic: 'orders', value: 'maybe' });
    const error = await lost.then(
      () => null,
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(KafkaTimeoutError);
    expect(error!.message).toMatch(/may have been written/);
    // how many attempts fitted in the delivery timeout depends on the machine's load; the rest are not for 'next'
    cluster.clearRequestScripts();
    await sleep(20);
    await producer.send({ topic: 'orders', value: 'next' });
    const last = sent(cluster).at(-1)!;
    // the sequence of the unknown batch was never acknowledged: the partition restarts under a new epoch
    expect([last.epoch, last.seq, last.values]).toEqual([1, 0, ['next']]);
  });

  it('compressed and split batches keep consistent sequences (the parts take over the big batch range)', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster, { lingerMs: 50 });
    await producer.send({ topic: 'orders', value: 'warm-up' });
    cluster.scriptPartition('orders', 0, { errorCode: 10 });
    const big = values(20).map((v) => `${v}:${'y'.repeat(400)}`);
    await Promise.all(big.map((value) => producer.send({ topic: 'orders', value })));
    await producer.send({ topic: 'orders', value: 'after' });
    expect(cluster.log('orders', 0)).toEqual(['warm-up', ...big, 'after']);
    const attempts = sent(cluster);
    expect(attempts.filter((a) => a.errorCode === 0).every((a) => a.epoch === 0)).toBe(true);
  });
});
