import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KafkaProducer, type ProducerConfig, type RecordMetadata } from '@app/kafka-producer';
import { compressBatch, compressBatchAsync, type CompressionName } from '@app/kafka-producer/protocol/records/compression';
import { goldenRecords, jsonishRecords, recordsDigest, type GoldenInput } from '../libs/kafka-producer/test/fixtures/compression/compression-test-helpers';
import { RecordBatchBuilder } from '@app/kafka-producer/protocol/records/record-batch-builder';
import { KafkaCluster, runJavaTool, sharedCluster } from '@app/kafka-testing';
import { uniqueTopic } from './support/round-trip';

/**
 * Compression end to end: batches compressed by us are accepted by the broker (which decompresses every
 * batch to validate it on append), stored with our codec, and read back byte for byte by the Java consumer;
 * and the Java client decodes our batches for every codec and level.
 */

type Case = { label: string; codec: CompressionName; config: Partial<ProducerConfig> };

const CASES: Case[] = [
  { label: 'gzip', codec: 'gzip', config: {} },
  { label: 'gzip level 1', codec: 'gzip', config: { compressionGzipLevel: 1 } },
  { label: 'snappy', codec: 'snappy', config: {} },
  { label: 'lz4', codec: 'lz4', config: {} },
  { label: 'lz4 level 3 (HC)', codec: 'lz4', config: { compressionLz4Level: 3 } },
  { label: 'zstd', codec: 'zstd', config: {} },
  { label: 'zstd level 19', codec: 'zstd', config: { compressionZstdLevel: 19 } },
];

const RECORDS = 2000;

interface Sent {
  key: Buffer | null;
  value: Buffer;
  headers: Array<[string, Buffer | null]>;
}

/** A mix of compressible JSON-ish text and random bytes, some null keys, some headers (one with a null value). */
function record(i: number): Sent {
  const text = Buffer.from(JSON.stringify({ id: i, user: `user-${(i * 7919) % 1009}`, event: ['click', 'view', 'purchase'][i % 3], note: 'lorem ipsum '.repeat(i % 11) }));
  const value = i % 3 === 0 ? Buffer.concat([text, randomBytes(50 + (i % 400))]) : text;
  const headers: Sent['headers'] = i % 4 === 0 ? [['trace', Buffer.from(`t-${i}`)], ['bin', Buffer.from([i & 0xff, 0, 0xff])], ['none', null]] : [];
  return { key: i % 5 === 0 ? null : Buffer.from(`key-${i % 97}`), value, headers };
}

describe('compressed produce, read back by the Java consumer', () => {
  const cluster = sharedCluster();

  it.each(CASES.map((c) => [c.label, c] as const))('%s: byte-identical records, and the broker stores our codec', async (_label, { codec, config }) => {
    const topic = uniqueTopic(`compression-${codec}`);
    await cluster.createTopic({ name: topic, partitions: 2, replicationFactor: 1 });
    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, compressionType: codec, lingerMs: 10, ...config });
    const sent = Array.from({ length: RECORDS }, (_, i) => record(i));
    let metadata: RecordMetadata[];
    try {
      metadata = await Promise.all(sent.map((r) => producer.send({ topic, key: r.key, value: r.value, headers: r.headers })));
      await producer.flush();
    } finally {
      await producer.close();
    }

    const consumed = await cluster.consumeWithJava({ topic, expectedCount: RECORDS, timeoutMs: 90_000 });
    expect(consumed).toHaveLength(RECORDS);
    const byPosition = new Map(consumed.map((r) => [`${r.partition}@${r.offset}`, r]));
    sent.forEach((r, i) => {
      const where = `record ${i} at ${metadata[i].partition}@${metadata[i].offset}`;
      const got = byPosition.get(`${metadata[i].partition}@${metadata[i].offset}`);
      expect({ where, found: got !== undefined }).toEqual({ where, found: true });
      expect({ where, key: got?.key ?? null }).toEqual({ where, key: r.key });
      expect({ where, value: got?.value?.equals(r.value) }).toEqual({ where, value: true });
      expect({ where, headers: got?.headers }).toEqual({ where, headers: r.headers });
    });

    if (!(cluster instanceof KafkaCluster)) return; // an external cluster gives no access to its log files
    let stored = 0;
    for (const partition of [0, 1]) {
      const batches = (await cluster.dumpLogSegments(topic, partition)).flatMap((s) => s.batches);
      for (const b of batches) {
        expect({ partition, baseOffset: b.baseOffset, compressCodec: b.compressCodec, isValid: b.isValid }).toEqual({ partition, baseOffset: b.baseOffset, compressCodec: codec, isValid: true });
        stored += b.count;
      }
    }
    expect(stored).toBe(RECORDS);
  });
});

describe('the Java client decodes our compressed batches at every level', () => {
  const cluster = sharedCluster();

  function batchOf(records: readonly GoldenInput[]): RecordBatchBuilder {
    const size = records.reduce((n, r) => n + RecordBatchBuilder.estimateSize(r.key, r.value, r.headers), 61);
    const builder = new RecordBatchBuilder(Buffer.alloc(size));
    for (const r of records) builder.append(r.timestamp, r.key, r.value, r.headers);
    return builder;
  }

  it('gzip 1..9, snappy, lz4 1..17, zstd -131072..22; small, multi-block and 1 MiB batches; sync and async', async () => {
    const levels: Array<[CompressionName, Array<number | undefined>]> = [
      ['gzip', [undefined, -1, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
      ['snappy', [undefined]],
      ['lz4', [undefined, ...Array.from({ length: 17 }, (_, i) => i + 1)]],
      ['zstd', [undefined, -131072, -1000, -5, -1, 0, 1, 3, 6, 9, 11, 12, 15, 19, 22]],
    ];
    const random: GoldenInput[] = Array.from({ length: 20 }, (_, i) => ({ timestamp: 1_700_000_000_000 + i, key: null, value: randomBytes(3000), headers: [] }));
    const sets: Array<[string, GoldenInput[]]> = [
      ['one', goldenRecords(1, 1)],
      ['multiBlock', goldenRecords(2, 500)],
      ['random', random],
      ['json1MiB', jsonishRecords(1024 * 1024)],
    ];
    const lines: string[] = [];
    const expected: string[] = [];
    for (const [setName, records] of sets) {
      const digest = recordsDigest(records);
      for (const [codec, codecLevels] of levels) {
        for (const level of codecLevels) {
          // zstd's top levels take ~1 s per MiB: the 1 MiB set stops at 12 (the first level on the WebAssembly path)
          if (setName === 'json1MiB' && codec === 'zstd' && level !== undefined && level > 12) continue;
          const name = `${setName}/${codec}/${level ?? 'default'}`;
          const bytes = setName === 'multiBlock' ? await compressBatchAsync(batchOf(records), codec, level) : compressBatch(batchOf(records), codec, level);
          lines.push(`${name} ${bytes.toString('hex')}`);
          expected.push(`${name} ${codec} ${records.length} ${digest}`);
        }
      }
    }

    const classes = fs.mkdtempSync(path.join(os.tmpdir(), 'java-reads-batches-'));
    try {
      const javac = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'javac') : 'javac';
      const source = path.join(__dirname, '../libs/kafka-producer/test/fixtures/compression/JavaReadsBatches.java');
      execFileSync(javac, ['--release', '11', '-nowarn', '-cp', cluster.jars.classpath, '-d', classes, source], { stdio: 'pipe' });
      const jars = { ...cluster.jars, classpath: [cluster.jars.classpath, classes].join(path.delimiter) };
      const result = await runJavaTool(jars, 'JavaReadsBatches', [], { input: lines.join('\n') + '\n', heap: '512m', timeoutMs: 120_000 });
      expect(result.code).toBe(0);
      const actual = result.stdout.trim().split('\n');
      expect(actual.filter((l) => l.includes(' ERROR '))).toEqual([]);
      expect(actual).toEqual(expected);
    } finally {
      fs.rmSync(classes, { recursive: true, force: true });
    }
  });
});
