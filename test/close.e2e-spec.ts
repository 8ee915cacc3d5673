import { KafkaProducer, ProducerClosedError, type RecordMetadata } from '@app/kafka-producer';
import { sharedCluster } from '@app/kafka-testing';
import { uniqueTopic } from './support/round-trip';

/**
 * The way scripts and serverless handlers use a producer: fire sends without awaiting them, then
 * `await producer.close()`. Java's close() completes every record it accepted, including those still
 * waiting for metadata or for buffer memory; so does ours. The Java consumer counts what arrived.
 */
describe('close() completes every record it accepted', () => {
  const cluster = sharedCluster();

  it('10 un-awaited sends on a fresh producer (no metadata yet), then close(): all 10 written', async () => {
    const topic = uniqueTopic('close-fresh');
    await cluster.createTopic({ name: topic, partitions: 1, replicationFactor: 1 });
    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers });
    const sends = Array.from({ length: 10 }, (_, i) => producer.send({ topic, value: `v${i}` }));
    await producer.close();
    const outcomes = await Promise.allSettled(sends);
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    const consumed = await cluster.consumeWithJava({ topic, expectedCount: 10 });
    expect(consumed.map((r) => r.value?.toString())).toEqual(Array.from({ length: 10 }, (_, i) => `v${i}`));
  });

  it('6,000 x 1 KB un-awaited sends with bufferMemory 4 MiB, then close(): every record acknowledged before close() resolves and read back', async () => {
    const topic = uniqueTopic('close-burst');
    await cluster.createTopic({ name: topic, partitions: 3, replicationFactor: 1 });
    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, bufferMemory: 4 * 1024 * 1024 });
    const acknowledged: RecordMetadata[] = [];
    const failed: Error[] = [];
    const count = 6000;
    for (let i = 0; i < count; i++) {
      const value = Buffer.alloc(1024, i % 251);
      value.writeUInt32BE(i, 0);
      producer.send({ topic, key: `k${i % 60}`, value }, (error, metadata) => (error !== null ? failed.push(error) : acknowledged.push(metadata!)));
    }
    // the sends outran the 4 MiB buffer: some of them are waiting for memory right now
    expect(producer.health().waitingRecords).toBeGreaterThan(0);
    await producer.close();
    expect(failed).toEqual([]);
    expect(acknowledged).toHaveLength(count);
    const consumed = await cluster.consumeWithJava({ topic, expectedCount: count });
    expect(consumed).toHaveLength(count);
    const ids = consumed.map((r) => r.value!.readUInt32BE(0)).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: count }, (_, i) => i));
    // per key (so per partition), the log order is the send order
    const byKey = new Map<string, number[]>();
    for (const r of consumed) {
      const key = r.key!.toString();
      byKey.set(key, [...(byKey.get(key) ?? []), r.value!.readUInt32BE(0)]);
    }
    for (const seq of byKey.values()) expect(seq).toEqual([...seq].sort((a, b) => a - b));
  });

  it('close({ timeoutMs: 0 }) is the explicit abort: pending records fail at once with ProducerClosedError', async () => {
    const topic = uniqueTopic('close-abort');
    await cluster.createTopic({ name: topic, partitions: 1, replicationFactor: 1 });
    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, lingerMs: 60_000, batchSize: 1 << 20 });
    const first = producer.send({ topic, value: 'metadata first' });
    await producer.flush();
    await first;
    const pending = Array.from({ length: 5 }, (_, i) => producer.send({ topic, value: `late-${i}` }));
    await producer.close({ timeoutMs: 0 });
    const outcomes = await Promise.allSettled(pending);
    expect(outcomes.every((o) => o.status === 'rejected' && o.reason instanceof ProducerClosedError)).toBe(true);
  });
});
