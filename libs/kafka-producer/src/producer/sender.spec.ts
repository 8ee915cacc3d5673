import { closeProducers, producerOn, ScriptedCluster, track, turns } from '../../test/support/scripted-cluster';
import { KafkaProtocolError } from '../errors';
import { ConnectionError, UnsupportedVersionError } from '../network/errors';
import { ProduceApi } from '../protocol/messages/produce.generated';
import * as compression from '../protocol/records/compression';
import type { RecordBatchBuilder } from '../protocol/records/record-batch-builder';
import { BatchCompressionError } from './errors';

jest.setTimeout(30_000);

afterEach(async () => {
  jest.restoreAllMocks();
  await closeProducers();
});

const values = (n: number, prefix = 'v'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('batches split after MESSAGE_TOO_LARGE', () => {
  it('flush() does not resolve before every part of the split batch is acknowledged', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster, { lingerMs: 60_000 });
    await producer.connect();
    cluster.scriptPartition('orders', 0, { errorCode: 10, message: 'batch too large on purpose' });
    const hold = cluster.hold({ api: 'Produce' });
    const sent = values(20).map((v) => `${v}:${'y'.repeat(400)}`);
    const sends = sent.map((value) => track(producer.send({ topic: 'orders', partition: 0, value })));
    const flushed = track(producer.flush());

    await hold.waitForHeld(1);
    expect(cluster.produceRequests()[0].partitions[0].records).toBe(20);
    hold.releaseNext();
    await hold.waitForHeld(1);
    // a flush that forgot the parts would resolve on the next turns; give it plenty of them
    await sleep(50);
    expect(flushed.state).toBe('pending');
    expect(sends.every((s) => s.state === 'pending')).toBe(true);

    hold.release();
    await cluster.waitUntil(() => flushed.state !== 'pending', 'flush() to resolve');

    expect(sends.map((s) => s.state)).toEqual(Array(20).fill('fulfilled'));
    const parts = cluster.produceRequests().slice(1);
    expect(parts.length).toBeGreaterThan(1);
    for (const r of parts) expect(r.partitions[0].records).toBeLessThan(20);
    expect(cluster.log('orders', 0)).toEqual(sent);
  });

  it('a single record still too large fails with MESSAGE_TOO_LARGE naming its size and the topic setting that limits it, and the partition takes the next record', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster);
    await producer.connect();
    cluster.scriptPartition('orders', 0, { errorCode: 10 });

    const refused = track(producer.send({ topic: 'orders', partition: 0, value: 'z'.repeat(20_000) }));
    await cluster.waitForSettled([refused]);

    expect(refused.error).toBeInstanceOf(KafkaProtocolError);
    expect((refused.error as KafkaProtocolError).code).toBe('MESSAGE_TOO_LARGE');
    expect(refused.error!.message).toMatch(/^MESSAGE_TOO_LARGE \(10\): orders-0: the batch of 1 record\(s\) is 2\d{4} bytes, more than the broker accepts for this topic \(its max\.message\.bytes/);
    expect(cluster.produceRequests()).toHaveLength(1);
    await producer.send({ topic: 'orders', partition: 0, value: 'small' });
    expect(cluster.log('orders', 0)).toEqual(['small']);
  });
});

describe('retries', () => {
  it('two in-flight requests of one partition that both fail with a retriable error are written again in send order', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    // the backoff outlasts the gap between the two answers: both batches are back in the queue before either is resent
    const producer = producerOn(cluster, { lingerMs: 0, retryBackoffMs: 50, maxInFlightRequestsPerConnection: 5 });
    await producer.send({ topic: 'orders', value: 'warm-up' });
    const hold = cluster.hold({ api: 'Produce' });
    cluster.scriptPartition('orders', 0, { errorCode: 7 }, { errorCode: 7 });

    const first = values(3, 'a').map((value) => track(producer.send({ topic: 'orders', value })));
    await hold.waitForHeld(1);
    const second = values(3, 'b').map((value) => track(producer.send({ topic: 'orders', value })));
    await hold.waitForHeld(2);
    hold.release();
    await cluster.waitForSettled([...first, ...second]);

    expect([...first, ...second].map((s) => s.state)).toEqual(Array(6).fill('fulfilled'));

    const [req1, req2] = cluster.produceRequests().slice(1, 3);
    expect([req1.partitions[0].values, req2.partitions[0].values]).toEqual([values(3, 'a'), values(3, 'b')]);
    expect([req1.partitions[0].errorCode, req2.partitions[0].errorCode]).toEqual([7, 7]);
    expect(cluster.log('orders', 0)).toEqual(['warm-up', ...values(3, 'a'), ...values(3, 'b')]);
  });

  it('with maxInFlightRequestsPerConnection 1 a partition is muted while its request is out, even when its leader moves to another broker', async () => {
    const cluster = new ScriptedCluster({ brokers: [1, 2], topics: { orders: { partitions: 1, leaders: [1] }, other: { partitions: 1, leaders: [2] } } });
    const producer = producerOn(cluster, { lingerMs: 0, retryBackoffMs: 10, maxInFlightRequestsPerConnection: 1 });
    await producer.send({ topic: 'orders', value: 'warm-up' });
    const hold = cluster.hold({ api: 'Produce', node: 1 });
    const a = track(producer.send({ topic: 'orders', value: 'a' }));
    await hold.waitForHeld(1);

    // the leader moves while 'a' is out; sending to a new topic makes the producer learn it
    cluster.moveLeader('orders', 0, 2, 1);
    await producer.send({ topic: 'other', value: 'learn the new leader' });
    const b = track(producer.send({ topic: 'orders', value: 'b' }));
    await sleep(50);
    const outstanding = cluster.produceRequests({ topic: 'orders' }).filter((r) => r.state === 'pending' || r.state === 'held');
    expect(outstanding).toHaveLength(1);
    expect(cluster.produceRequests({ node: 2, topic: 'orders' })).toHaveLength(0);

    // node 1 is no longer the leader: 'a' comes back NOT_LEADER_OR_FOLLOWER and is retried on node 2, before 'b'
    hold.release();
    await cluster.waitForSettled([a, b]);
    expect([a.state, b.state]).toEqual(['fulfilled', 'fulfilled']);
    expect(cluster.log('orders', 0)).toEqual(['warm-up', 'a', 'b']);
  });

  it('a partition with several ready batches has them in flight together, up to maxInFlightRequestsPerConnection, without waiting for responses', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster, { lingerMs: 60_000, batchSize: 1024, maxInFlightRequestsPerConnection: 3 });
    await producer.connect();
    const hold = cluster.hold({ api: 'Produce' });
    // about two records per batch: ten batches queued in one go
    const sends = values(20).map((v) => track(producer.send({ topic: 'orders', value: `${v}:${'z'.repeat(400)}` })));
    void producer.flush();

    await hold.waitForHeld(3, 2_000).catch(() => undefined);
    await sleep(50);
    const held = hold.held;
    hold.release();
    await cluster.waitForSettled(sends);

    expect(held).toBe(3);
    expect(sends.every((s) => s.state === 'fulfilled')).toBe(true);
  });
});

describe('the sender loop', () => {
  it('does not poll while the in-flight window is full: no ready() checks between events', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster, { lingerMs: 0, maxInFlightRequestsPerConnection: 1 });
    await producer.send({ topic: 'orders', value: 'warm-up' });
    const hold = cluster.hold({ api: 'Produce' });
    const sends = [track(producer.send({ topic: 'orders', value: 'v0' }))];
    await hold.waitForHeld(1);
    // the one request allowed per connection is out: these are ready but cannot be sent
    sends.push(track(producer.send({ topic: 'orders', value: 'queued-1' })), track(producer.send({ topic: 'orders', value: 'queued-2' })));
    await sleep(20);

    const before = cluster.readyCalls;
    await sleep(500);
    const checks = cluster.readyCalls - before;
    hold.release();
    await cluster.waitForSettled(sends);

    // a 50 ms poll would make ten or more; a pass per event makes none here
    expect(checks).toBeLessThanOrEqual(2);
    expect(sends.map((s) => s.state)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(cluster.log('orders', 0)).toEqual(['warm-up', 'v0', 'queued-1', 'queued-2']);
  });

  it('does not poll while the socket needs draining: it waits for one drain event, then sends', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster, { lingerMs: 0 });
    await producer.send({ topic: 'orders', value: 'warm-up' });
    cluster.setNeedsDrain(1, true);
    const sent = track(producer.send({ topic: 'orders', value: 'a' }));
    await sleep(20);

    const before = cluster.readyCalls;
    await sleep(500);
    expect(cluster.readyCalls - before).toBeLessThanOrEqual(2);
    expect(cluster.drainWaiters(1)).toBe(1);
    expect(cluster.produceRequests()).toHaveLength(1);

    cluster.setNeedsDrain(1, false);
    await cluster.waitUntil(() => sent.state !== 'pending', 'the send after the drain');
    expect(sent.state).toBe('fulfilled');
  });
});

describe('a codec that throws', () => {
  it('fails only the batch it was compressing, with COMPRESSION_FAILED; other batches are sent and no buffer memory leaks', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 2 } });
    const real = compression.compressBatch;
    const spy = jest.spyOn(compression, 'compressBatch').mockImplementation((builder: RecordBatchBuilder, ...rest) => {
      if (builder.uncompressedRecords().includes('poison')) throw new Error('codec bug');
      return real(builder, ...rest);
    });
    const producer = producerOn(cluster, { compressionType: 'gzip', lingerMs: 0 });
    await producer.connect();

    const poisoned = values(3, 'poison').map((value) => track(producer.send({ topic: 'orders', partition: 0, value })));
    const fine = values(3, 'fine').map((value) => track(producer.send({ topic: 'orders', partition: 1, value })));
    await producer.flush();
    const after = await producer.send({ topic: 'orders', partition: 0, value: 'after' });

    expect(spy).toHaveBeenCalled();
    for (const p of poisoned) {
      expect(p.error).toBeInstanceOf(BatchCompressionError);
      expect((p.error as BatchCompressionError).code).toBe('COMPRESSION_FAILED');
    }
    expect(fine.map((f) => f.state)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(after.partition).toBe(0);
    expect(cluster.logs('orders')).toEqual([['after'], values(3, 'fine')]);
    const health = producer.health();
    expect(health.bufferAvailableBytes).toBe(health.bufferTotalBytes);
  });
});

describe('an error between drain and request', () => {
  it('a non-retriable one (no common Produce version) fails the drained batches with it; later batches are sent', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster, { lingerMs: 0 });
    await producer.connect();
    const refusal = new UnsupportedVersionError('broker-1:9092', ProduceApi.apiKey, 'Produce', ProduceApi, null);
    cluster.failVersionFor(ProduceApi, refusal);

    const lost = values(3).map((value) => track(producer.send({ topic: 'orders', value })));
    await producer.flush();
    const after = await producer.send({ topic: 'orders', value: 'after' });

    for (const l of lost) expect(l.error).toBe(refusal);
    expect(after.offset).toBe(0n);
    expect(cluster.log('orders', 0)).toEqual(['after']);
  });

  it('a retriable one puts the drained batches back and sends them again, well before deliveryTimeoutMs', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster, { lingerMs: 0 });
    await producer.connect();
    cluster.failVersionFor(ProduceApi, new ConnectionError('broker-1:9092', 'NOT_CONNECTED', 'connection went away before the request'));

    const sends = values(3).map((value) => track(producer.send({ topic: 'orders', value })));
    const flushed = track(producer.flush());
    // deliveryTimeoutMs is 120 s: a batch nothing resends would still be pending here
    await cluster.waitUntil(() => flushed.state !== 'pending', 'flush() to resolve', 5_000);

    expect(sends.map((s) => s.state)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(cluster.log('orders', 0)).toEqual(values(3));
  });
});

describe('leader epochs', () => {
  it('a metadata answer with an older leader epoch than a Produce leader hint does not move the partition back', async () => {
    const cluster = new ScriptedCluster({ brokers: [1, 2], topics: { orders: { partitions: 1, leaders: [1], epochs: [4] }, other: 1 } });
    // node 2 leads at epoch 5, but the broker answering metadata still says node 1, epoch 4
    cluster.moveLeader('orders', 0, 2, 5, { announce: false });
    const producer = producerOn(cluster, { lingerMs: 0, retryBackoffMs: 10 });

    await producer.send({ topic: 'orders', value: 'a' });
    const [rejected] = cluster.produceRequests({ topic: 'orders' });
    expect(rejected).toMatchObject({ node: 1, partitions: [expect.objectContaining({ errorCode: 6 })] });

    // a fresh metadata answer (the stale view again) arrives after the hint was applied
    const answeredBefore = cluster.metadataRequests().filter((r) => r.state === 'answered').length;
    await producer.send({ topic: 'other', value: 'refresh metadata' });
    await cluster.waitUntil(() => cluster.metadataRequests().filter((r) => r.state === 'answered').length > answeredBefore, 'another metadata answer');
    await turns(2);

    await producer.send({ topic: 'orders', value: 'b' });
    // sent to node 1, 'b' would still arrive (after a NOT_LEADER_OR_FOLLOWER); it must never go there
    const carryingB = cluster.produceRequests({ topic: 'orders' }).filter((r) => r.partitions[0].values.includes('b'));
    expect(carryingB.map((r) => r.node)).toEqual([2]);
    expect(cluster.log('orders', 0)).toEqual(['a', 'b']);
  });
});

describe('delivery timeout', () => {
  it('records queued for a broker that stays down fail with DELIVERY_TIMEOUT once deliveryTimeoutMs passed since their batch was created, not before', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster, { lingerMs: 0, requestTimeoutMs: 200, deliveryTimeoutMs: 400 });
    await producer.send({ topic: 'orders', value: 'warm-up' });
    // reconnect backoff far beyond the timeout: only the sender's own expiry timer can end these records
    cluster.setDown(1, 60_000);
    const started = Date.now();
    const outcomes = values(5).map((value) =>
      producer.send({ topic: 'orders', value }).then(
        () => null,
        (e: Error & { code?: string }) => ({ code: e.code, at: Date.now() - started }),
      ),
    );
    const failures = await Promise.all(outcomes);
    for (const f of failures) {
      expect(f).not.toBeNull();
      expect(f!.code).toBe('DELIVERY_TIMEOUT');
      expect(f!.at).toBeGreaterThanOrEqual(395);
    }
    expect(cluster.log('orders', 0)).toEqual(['warm-up']);
  });

  it('a batch retried until its delivery timeout fails with DELIVERY_TIMEOUT carrying the broker error as cause', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster, { lingerMs: 0, retryBackoffMs: 20, retryBackoffMaxMs: 20, requestTimeoutMs: 200, deliveryTimeoutMs: 300 });
    await producer.send({ topic: 'orders', value: 'warm-up' });
    cluster.scriptPartition('orders', 0, ...Array.from({ length: 200 }, () => ({ errorCode: 7 })));
    const error = (await producer.send({ topic: 'orders', value: 'doomed' }).catch((e: Error) => e)) as Error & { code?: string; cause?: unknown };
    expect(error.code).toBe('DELIVERY_TIMEOUT');
    expect((error.cause as { code?: string } | undefined)?.code).toBe('REQUEST_TIMED_OUT');
    expect(cluster.produceRequests().length).toBeGreaterThan(2);
  });
});

describe('a batch that fails while its request is out', () => {
  it('keeps its buffer from the pool until the request settles: the bytes may still be on their way, and another batch built in them would go out under this partition', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster, { lingerMs: 0, retryBackoffMs: 150, retryBackoffMaxMs: 150, requestTimeoutMs: 300, deliveryTimeoutMs: 400 });
    await producer.send({ topic: 'orders', value: 'warm-up' });
    const total = producer.metrics()['buffer-total-bytes'];
    expect(producer.metrics()['buffer-available-bytes']).toBe(total);
    // the first attempt fails retriably; the retry (sent ~150 ms in) is held past the delivery timeout (400 ms)
    cluster.scriptPartition('orders', 0, { errorCode: 7 });
    const doomed = producer.send({ topic: 'orders', value: 'doomed' }).catch((e: Error & { code?: string }) => e.code);
    await cluster.waitUntil(() => cluster.produceRequests().length >= 2, () => 'the first attempt answered');
    const hold = cluster.hold({ api: 'Produce' });
    await hold.waitForHeld(1);
    await expect(doomed).resolves.toBe('DELIVERY_TIMEOUT');
    expect(producer.metrics()['buffer-available-bytes']).toBeLessThan(total);
    hold.release();
    await cluster.waitUntil(() => producer.metrics()['buffer-available-bytes'] === total, () => 'the buffer back in the pool once the request settled');
  });
});
