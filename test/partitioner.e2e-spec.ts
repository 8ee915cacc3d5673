import { KafkaProducer, murmur2, partitionForKey } from '@app/kafka-producer';
import { ensureKafkaJars, runJavaToolOrThrow, sharedCluster, type ConsumedRecord } from '@app/kafka-testing';
import { uniqueTopic } from './support/round-trip';

/**
 * Keyed partitioning must match the Java client exactly, or records of one key would land on
 * different partitions depending on which client wrote them (and break ordering and compaction).
 *
 * 1. Function level: thousands of random keys x several partition counts, our murmur2 and
 *    partitionForKey against the Java client's own Utils.murmur2 and BuiltInPartitioner.partitionForKey
 *    (libs/kafka-testing/java/kafkatesting/PartitionForKeys.java, compiled with the Kafka jars).
 * 2. Through the broker: the same keys produced by our KafkaProducer and by the Java producer to two
 *    7-partition topics; the Java consumer finds every key on the same partition in both.
 */

/** mulberry32, so a failing run replays from its seed (printed on failure). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.PARTITIONER_SEED ?? 0x5eed794);
const PARTITION_COUNTS = [1, 3, 7, 64, 1000];

/** Random bytes of length 0..64, and random UTF-8 strings (ASCII, Latin-1, other BMP, astral). */
function randomKeys(random: () => number, bytesKeys: number, stringKeys: number): Buffer[] {
  const int = (n: number): number => Math.floor(random() * n);
  const keys: Buffer[] = [];
  for (let i = 0; i < bytesKeys; i++) {
    const key = Buffer.alloc(int(65));
    for (let j = 0; j < key.length; j++) key[j] = int(256);
    keys.push(key);
  }
  for (let i = 0; i < stringKeys; i++) {
    let s = '';
    const length = 1 + int(40);
    for (let j = 0; j < length; j++) {
      const kind = int(4);
      const cp =
        kind === 0
          ? 0x20 + int(0x5f)
          : kind === 1
            ? 0xa0 + int(0x160)
            : kind === 2
              ? 0x800 + int(0xd800 - 0x800) // BMP below the surrogates (3-byte UTF-8)
              : 0x10000 + int(0x10ffff - 0x10000); // astral (4-byte UTF-8)
      s += String.fromCodePoint(cp);
    }
    keys.push(Buffer.from(s, 'utf8'));
  }
  return keys;
}

function byKeyHex(records: readonly ConsumedRecord[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of records) {
    if (r.key === null) throw new Error(`record at ${r.partition}/${r.offset} has a null key`);
    out.set(r.key.toString('hex'), r.partition);
  }
  return out;
}

describe('keyed partitioning is identical to the Java client', () => {
  const cluster = sharedCluster();

  it('murmur2 and partitionForKey equal Java for 5,000 random keys x partition counts 1, 3, 7, 64, 1000', async () => {
    const keys = randomKeys(prng(SEED), 4000, 1000);
    expect(keys).toHaveLength(5000);
    const jars = await ensureKafkaJars();
    const input = keys.map((k) => `${k.toString('hex')}\t${PARTITION_COUNTS.join(',')}\n`).join('');
    const result = await runJavaToolOrThrow(jars, 'kafkatesting.PartitionForKeys', [], { input, timeoutMs: 60_000 });
    const lines = result.stdout.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(keys.length);

    const mismatches: string[] = [];
    let compared = 0;
    keys.forEach((key, i) => {
      const [javaHash, javaPartitions] = lines[i].split('\t');
      if (murmur2(key) !== Number(javaHash)) mismatches.push(`murmur2(${key.toString('hex')}): ours ${murmur2(key)}, Java ${javaHash}`);
      const javaChoice = javaPartitions.split(',').map(Number);
      PARTITION_COUNTS.forEach((n, j) => {
        compared++;
        const ours = partitionForKey(key, n);
        if (ours !== javaChoice[j]) mismatches.push(`key ${key.toString('hex')} over ${n} partitions: ours ${ours}, Java ${javaChoice[j]}`);
      });
    });
    if (mismatches.length > 0) throw new Error(`seed ${SEED}: ${mismatches.length} mismatches of ${compared}:\n${mismatches.slice(0, 20).join('\n')}`);
    expect(compared).toBe(5000 * PARTITION_COUNTS.length);
  });

  it('through the broker: 1,000 keys produced by us and by the Java producer land on the same partitions of 7', async () => {
    const random = prng(SEED + 1);
    const unique = new Map<string, Buffer>();
    for (const k of randomKeys(random, 800, 400)) if (unique.size < 1000) unique.set(k.toString('hex'), k);
    const keys = [...unique.values()];
    expect(keys).toHaveLength(1000);
    const ours = uniqueTopic('partitioner-ours');
    const theirs = uniqueTopic('partitioner-java');
    await cluster.createTopics([
      { name: ours, partitions: 7, replicationFactor: 1 },
      { name: theirs, partitions: 7, replicationFactor: 1 },
    ]);

    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers });
    let reported: number[];
    try {
      reported = (await Promise.all(keys.map((key, i) => producer.send({ topic: ours, key, value: `v${i}` })))).map((m) => m.partition);
    } finally {
      await producer.close();
    }
    const javaReported = (await cluster.produceWithJava({ topic: theirs, records: keys.map((key, i) => ({ key, value: `v${i}` })) })).map((m) => m.partition);

    const [oursRead, theirsRead] = [byKeyHex(await cluster.consumeWithJava({ topic: ours, expectedCount: 1000 })), byKeyHex(await cluster.consumeWithJava({ topic: theirs, expectedCount: 1000 }))];
    expect(oursRead.size).toBe(1000);
    expect(theirsRead.size).toBe(1000);

    const mismatches: string[] = [];
    keys.forEach((key, i) => {
      const hex = key.toString('hex');
      const expected = partitionForKey(key, 7);
      const seen = [reported[i], oursRead.get(hex), javaReported[i], theirsRead.get(hex)];
      if (seen.some((p) => p !== expected)) mismatches.push(`key ${hex}: partitionForKey ${expected}, [ours reported, ours read, Java reported, Java read] ${JSON.stringify(seen)}`);
    });
    if (mismatches.length > 0) throw new Error(`seed ${SEED + 1}: ${mismatches.length} of 1000 keys differ:\n${mismatches.slice(0, 20).join('\n')}`);
    // the check means something only if keys spread over every partition
    expect(new Set(oursRead.values()).size).toBe(7);
  });

  it('partitionerIgnoreKeys: keyed records take the sticky path (one partition until batchSize bytes)', async () => {
    const topic = uniqueTopic('partitioner-ignore-keys');
    await cluster.createTopic({ name: topic, partitions: 7, replicationFactor: 1 });
    const keys = Array.from({ length: 200 }, (_, i) => `key-${i}`);
    // by key these would spread over the partitions; sticky sends ~4 KB, well under one batchSize
    expect(new Set(keys.map((k) => partitionForKey(Buffer.from(k), 7))).size).toBe(7);
    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, partitionerIgnoreKeys: true });
    let reported: number[];
    try {
      reported = (await Promise.all(keys.map((key) => producer.send({ topic, key, value: 'x' })))).map((m) => m.partition);
    } finally {
      await producer.close();
    }
    expect(new Set(reported).size).toBe(1);
    const read = await cluster.consumeWithJava({ topic, expectedCount: 200 });
    expect(new Set(read.map((r) => r.partition))).toEqual(new Set(reported));
    expect(read.map((r) => r.key?.toString())).toEqual(keys);
  });
});
