import { KafkaProducer, InvalidRecordError, ProducerClosedError } from '@app/kafka-producer';
import { KafkaCluster, sharedCluster } from '@app/kafka-testing';
import { roundTrip, uniqueTopic } from './support/round-trip';

/**
 * The foundation's promise on one broker: whatever shape a record has, the official Java consumer reads
 * back the same key, value, header and timestamp bytes at the partition and offset we reported, and the
 * broker's own log dump tool finds our batches valid.
 */
describe('producing to a 1-node cluster, verified by the Java consumer', () => {
  const cluster = sharedCluster();

  it('round-trips every record shape byte for byte, at the offsets we reported', async () => {
    const topic = uniqueTopic('round-trip');
    await cluster.createTopic({ name: topic, partitions: 3, replicationFactor: 1 });
    const { sent, consumed } = await roundTrip(cluster, topic, 3);
    expect(consumed).toHaveLength(sent.length);
    // offsets per partition are dense and start at 0: nothing lost, nothing duplicated
    for (const p of [0, 1, 2]) {
      const offsets = consumed.filter((r) => r.partition === p).map((r) => Number(r.offset)).sort((a, b) => a - b);
      expect(offsets).toEqual(offsets.map((_, i) => i));
    }
  });

  it('writes batches that the broker log dump tool reads as valid, CRC included', async () => {
    if (!(cluster instanceof KafkaCluster)) return; // an external cluster gives no access to its log files
    const topic = uniqueTopic('dump');
    await cluster.createTopic({ name: topic, partitions: 1, replicationFactor: 1 });
    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, lingerMs: 20 });
    await Promise.all(Array.from({ length: 200 }, (_, i) => producer.send({ topic, key: `k${i}`, value: `v${i}`, headers: [['h', 'x']] })));
    await producer.close();
    const segments = await cluster.dumpLogSegments(topic, 0);
    const batches = segments.flatMap((s) => s.batches);
    expect(batches.length).toBeGreaterThan(0);
    for (const b of batches) {
      expect(b.isValid).toBe(true);
      expect(b.magic).toBe(2);
      expect(b.compressCodec).toBe('none');
      // idempotence is on by default: one producer id, sequences contiguous from 0 across the batches
      expect(b.producerId).toBe(batches[0].producerId);
      expect(b.isTransactional).toBe(false);
    }
    expect(batches[0].producerId >= 0n).toBe(true);
    let expectedSequence = 0;
    for (const b of batches) {
      expect([b.baseSequence, b.lastSequence]).toEqual([expectedSequence, expectedSequence + b.count - 1]);
      expectedSequence += b.count;
    }
    expect(batches.reduce((n, b) => n + b.count, 0)).toBe(200);
    const records = batches.flatMap((b) => b.records);
    expect(records.map((r) => r.key)).toEqual(Array.from({ length: 200 }, (_, i) => `k${i}`));
    expect(records[0].headerKeys).toEqual(['h']);
  });

  it('creates a missing topic on first use (broker auto-creation) and reports its partition and offset', async () => {
    const topic = uniqueTopic('auto-created');
    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers });
    try {
      const m = await producer.send({ topic, value: 'first' });
      expect(m).toMatchObject({ topic, offset: 0n });
    } finally {
      await producer.close();
    }
  });

  it('fails fast with a typed error for an invalid topic name or a partition that does not exist', async () => {
    const topic = uniqueTopic('bad-partition');
    await cluster.createTopic({ name: topic, partitions: 2, replicationFactor: 1 });
    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, maxBlockMs: 2000 });
    try {
      await expect(producer.send({ topic: 'no spaces allowed', value: 'x' })).rejects.toThrow(InvalidRecordError);
      await expect(producer.send({ topic, value: 'x', partition: 5 })).rejects.toThrow(/partition 5 of topic .* does not exist: the topic has 2 partitions/);
      await expect(producer.send({ topic, value: 'x', partition: -1 })).rejects.toThrow(/partition must be a non-negative integer/);
      await expect(producer.send({ topic, value: { not: 'bytes' } as never })).rejects.toThrow(/cannot serialize the value/);
    } finally {
      await producer.close();
    }
    await expect(producer.send({ topic, value: 'late' })).rejects.toThrow(ProducerClosedError);
  });

  it('flush() resolves once every earlier record is acknowledged, even with a long linger', async () => {
    const topic = uniqueTopic('flush');
    await cluster.createTopic({ name: topic, partitions: 1, replicationFactor: 1 });
    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, lingerMs: 60_000 });
    try {
      // the first sends still wait for metadata when flush() is called: flush owes them too
      const settled: boolean[] = [];
      const sends = Array.from({ length: 50 }, (_, i) => producer.send({ topic, value: `v${i}` }).then(() => (settled[i] = true)));
      await producer.flush();
      expect(settled.filter(Boolean)).toHaveLength(50);
      await Promise.all(sends);
      // and once metadata is known, records linger in the accumulator until flush() sends them
      const later = Array.from({ length: 20 }, (_, i) => producer.send({ topic, value: `w${i}` }).then(() => (settled[100 + i] = true)));
      await producer.flush();
      expect(settled.filter(Boolean)).toHaveLength(70);
      await Promise.all(later);
    } finally {
      await producer.close();
    }
  }, 30_000);
});
