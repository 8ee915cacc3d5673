import { performance } from 'node:perf_hooks';
import { BufferExhaustedError, KafkaProducer, type RecordMetadata } from '@app/kafka-producer';
import { KafkaCluster } from '@app/kafka-testing';
import { uniqueTopic } from './support/round-trip';

/**
 * Faults on a 3-node cluster: a leader restarted mid-stream, a frozen broker (SIGSTOP), and memory
 * pressure while a broker does not answer. Outcomes are checked with the Java consumer.
 */
describe('producer under broker faults (3 nodes)', () => {
  let cluster: KafkaCluster;

  beforeAll(async () => {
    cluster = await KafkaCluster.start({ nodes: 3 });
  }, 240_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  async function leaderOf(topic: string, partition: number): Promise<number> {
    const meta = await cluster.metadata([topic]);
    return meta.topics[0].partitions.find((p) => p.partitionIndex === partition)!.leaderId;
  }

  it('survives a leader restarted mid-stream: no error reaches the caller and nothing is lost', async () => {
    const topic = uniqueTopic('leader-restart');
    await cluster.createTopic({ name: topic, partitions: 3, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
    const leader = await leaderOf(topic, 0);
    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, lingerMs: 5, requestTimeoutMs: 10_000, deliveryTimeoutMs: 120_000 });
    const total = 6000;
    const sends: Array<Promise<RecordMetadata>> = [];
    let restart: Promise<void> | null = null;
    for (let i = 0; i < total; i++) {
      sends.push(producer.send({ topic, key: `k${i % 100}`, value: `v${i}` }));
      if (i === 1500) restart = cluster.kill(leader).then(() => cluster.restart(leader));
      if (i % 100 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    const results = await Promise.allSettled(sends);
    await restart;
    await producer.close();
    const failures = results.filter((r) => r.status === 'rejected');
    expect(failures.map((f) => String((f as PromiseRejectedResult).reason))).toEqual([]);

    const consumed = await cluster.consumeWithJava({ topic, timeoutMs: 60_000 });
    const seen = new Set(consumed.map((r) => r.value!.toString()));
    const missing = Array.from({ length: total }, (_, i) => `v${i}`).filter((v) => !seen.has(v));
    expect(missing).toEqual([]);
    // without idempotence a retried batch may be written twice; everything we reported must be there
    for (const r of results as Array<PromiseFulfilledResult<RecordMetadata>>) {
      expect(r.value.offset).toBeGreaterThanOrEqual(0n);
    }
  }, 240_000);

  it('keeps per-partition order through a leader restart with maxInFlightRequestsPerConnection = 1', async () => {
    const topic = uniqueTopic('ordered');
    await cluster.createTopic({ name: topic, partitions: 2, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
    const leader = await leaderOf(topic, 0);
    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, maxInFlightRequestsPerConnection: 1, lingerMs: 2, requestTimeoutMs: 10_000 });
    const total = 4000;
    const sends: Array<Promise<RecordMetadata>> = [];
    let restart: Promise<void> | null = null;
    for (let i = 0; i < total; i++) {
      sends.push(producer.send({ topic, partition: i % 2, value: String(i) }));
      if (i === 1000) restart = cluster.kill(leader).then(() => cluster.restart(leader));
      if (i % 100 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(sends);
    await restart;
    await producer.close();
    const consumed = await cluster.consumeWithJava({ topic, timeoutMs: 60_000 });
    for (const p of [0, 1]) {
      const values = consumed.filter((r) => r.partition === p).map((r) => Number(r.value!.toString()));
      // a retry may repeat a batch whose response was lost, but never reorders: the first time each
      // record appears, it comes after every record sent before it
      const seen = new Set<number>();
      const firstOccurrences = values.filter((v) => !seen.has(v) && seen.add(v) !== undefined);
      expect(firstOccurrences).toEqual([...firstOccurrences].sort((a, b) => a - b));
      expect(new Set(values).size).toBe(total / 2);
    }
  }, 240_000);

  it('fails records with a delivery-timeout error, never before deliveryTimeoutMs, while their only broker is frozen', async () => {
    const topic = uniqueTopic('frozen');
    // replicas only on node 3, so freezing it leaves the partition without a leader to move to
    await cluster.runJavaTool('org.apache.kafka.tools.TopicCommand', ['--bootstrap-server', cluster.bootstrap, '--create', '--topic', topic, '--replica-assignment', '3']);
    await cluster.waitForTopic(topic, 1);
    const deliveryTimeoutMs = 6000;
    const requestTimeoutMs = 2000;
    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, deliveryTimeoutMs, requestTimeoutMs, lingerMs: 0 });
    await producer.send({ topic, value: 'before' });
    cluster.pause(3);
    try {
      // Timed from the first send: no batch of these records can exist before it, and a batch's deadline
      // runs from its creation, so a record appended to a batch an earlier send opened may fail a little
      // sooner than deliveryTimeoutMs after its own send.
      const started = performance.now();
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          producer.send({ topic, value: `frozen-${i}` }).then(
            () => ({ failed: false, reason: undefined as unknown, afterMs: performance.now() - started }),
            (reason: unknown) => ({ failed: true, reason, afterMs: performance.now() - started }),
          ),
        ),
      );
      for (const o of outcomes) {
        expect(o.failed).toBe(true);
        expect(o.reason).toMatchObject({ code: 'DELIVERY_TIMEOUT', retriable: true });
        // not before the deadline (timer rounding aside): the request timeouts on the way are retried,
        // not reported
        expect(o.afterMs).toBeGreaterThanOrEqual(deliveryTimeoutMs - 50);
        // and not indefinitely after it: a batch in flight at its deadline may wait for its request to
        // time out; the 15 s is room for a 2-core machine running three JVMs, not a latency claim
        expect(o.afterMs).toBeLessThan(deliveryTimeoutMs + requestTimeoutMs + 15_000);
      }
    } finally {
      cluster.resume(3);
      await producer.close({ timeoutMs: 5000 });
    }
  }, 120_000);

  it('bounds memory with bufferMemory: sends wait, then fail with a buffer-exhausted error; accepted records are not dropped silently', async () => {
    const topic = uniqueTopic('exhausted');
    await cluster.runJavaTool('org.apache.kafka.tools.TopicCommand', ['--bootstrap-server', cluster.bootstrap, '--create', '--topic', topic, '--replica-assignment', '2']);
    await cluster.waitForTopic(topic, 1);
    const producer = new KafkaProducer({
      bootstrapServers: cluster.bootstrapServers,
      bufferMemory: 64 * 1024,
      batchSize: 16 * 1024,
      maxBlockMs: 1000,
      deliveryTimeoutMs: 8000,
      requestTimeoutMs: 3000,
      lingerMs: 0,
    });
    await producer.send({ topic, value: 'before' });
    cluster.pause(2);
    try {
      const value = Buffer.alloc(1000, 1);
      const outcomes = await Promise.allSettled(Array.from({ length: 200 }, () => producer.send({ topic, value })));
      const reasons = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason as Error);
      // every record settled: those that found memory time out, the rest could not get memory
      expect(reasons).toHaveLength(200);
      const exhausted = reasons.filter((r) => r instanceof BufferExhaustedError);
      const timedOut = reasons.filter((r) => (r as { code?: string }).code === 'DELIVERY_TIMEOUT');
      expect(exhausted.length).toBeGreaterThan(0);
      expect(timedOut.length).toBeGreaterThan(0);
      expect(exhausted.length + timedOut.length).toBe(200);
      // some waited maxBlockMs for memory; beyond another bufferMemory of waiting sends, the rest failed at once
      expect(exhausted.some((e) => /within the configured max blocking time/.test(e.message))).toBe(true);
      expect(exhausted.some((e) => /outpacing the brokers/.test(e.message))).toBe(true);
      expect(producer.health().queuedBytes).toBe(0);
    } finally {
      cluster.resume(2);
    }
    // memory came back: the producer works again
    await expect(producer.send({ topic, value: 'after' })).resolves.toMatchObject({ topic });
    await producer.close();
  }, 120_000);
});
