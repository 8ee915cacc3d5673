import * as crypto from 'node:crypto';
import { CompressionCodec, RECORD_BATCH_OVERHEAD } from '../record-batch';
import { RecordBatchBuilder } from '../record-batch-builder';
import { decodeRecordBatch, decodeRecordBatches, DecodedRecordBatch } from '../record-batch-decoder';
import { GOLDEN_COMPRESSED_BATCHES } from '../../../../test/fixtures/compression/golden-compressed-batches';
import { goldenRecords, GoldenInput, jsonishRecords, T0 } from '../../../../test/fixtures/compression/compression-test-helpers';
import { COMPRESSION_CODEC_BY_NAME, compressBatch, compressBatchAsync, CompressionName, decompressRecords } from './index';

const CODECS: CompressionName[] = ['gzip', 'snappy', 'lz4', 'zstd'];

function builderWith(records: readonly GoldenInput[], capacity?: number): RecordBatchBuilder {
  const size = capacity ?? records.reduce((n, r) => n + RecordBatchBuilder.estimateSize(r.key, r.value, r.headers), RECORD_BATCH_OVERHEAD);
  const builder = new RecordBatchBuilder(Buffer.alloc(size));
  for (const r of records) builder.append(r.timestamp, r.key, r.value, r.headers);
  return builder;
}

function expectRecords(batch: DecodedRecordBatch, records: readonly GoldenInput[]): void {
  expect(batch.records).toHaveLength(records.length);
  batch.records.forEach((decoded, i) => {
    const r = records[i];
    expect(decoded.offsetDelta).toBe(i);
    expect(decoded.timestamp).toBe(BigInt(r.timestamp));
    expect(decoded.key === null ? null : decoded.key.toString('hex')).toBe(r.key === null ? null : r.key.toString('hex'));
    expect(decoded.value?.toString('hex')).toBe(r.value.toString('hex'));
    expect(decoded.headers.map((h) => [h.key, h.value?.toString('hex') ?? null])).toEqual(r.headers.map((h) => [h.key, h.value?.toString('hex') ?? null]));
  });
}

const SETS: Array<[string, GoldenInput[]]> = [
  ['one record', goldenRecords(1, 1)],
  ['500 mixed records across block edges', goldenRecords(2, 500)],
  ['1 MiB of JSON-like records', jsonishRecords(1024 * 1024)],
];

describe.each(CODECS)('compressBatch with %s', (codec) => {
  const id = COMPRESSION_CODEC_BY_NAME[codec];

  it.each(SETS)('%s: our decoder reads back the same records, sync and async', async (_name, records) => {
    const sync = compressBatch(builderWith(records), codec);
    const viaAsync = await compressBatchAsync(builderWith(records), codec);
    expect(viaAsync.equals(sync)).toBe(true);
    const batch = decodeRecordBatch(sync, 0, decompressRecords);
    expect(batch.attributes.compression).toBe(id);
    expect(batch.batchLength).toBe(sync.length - 12);
    expect(batch.lastOffsetDelta).toBe(records.length - 1);
    expect(batch.baseTimestamp).toBe(BigInt(records[0].timestamp));
    expect(batch.maxTimestamp).toBe(BigInt(Math.max(...records.map((r) => r.timestamp))));
    expect(batch.producerId).toBe(-1n);
    expectRecords(batch, records);
  });

  it('compresses what it can: the batch is smaller than the plain one for compressible records', () => {
    const records = jsonishRecords(64 * 1024);
    const plain = builderWith(records).close();
    expect(compressBatch(builderWith(records), codec).length).toBeLessThan(plain.length / 2);
  });

  it('writes the configured codec even when compression makes the batch bigger (as Java does)', () => {
    const records: GoldenInput[] = Array.from({ length: 5 }, (_, i) => ({ timestamp: T0 + i, key: null, value: crypto.randomBytes(2000), headers: [] }));
    const plain = builderWith(records).close();
    const compressed = compressBatch(builderWith(records), codec);
    expect(compressed.length).toBeGreaterThan(plain.length);
    const batch = decodeRecordBatch(compressed, 0, decompressRecords);
    expect(batch.attributes.compression).toBe(id);
    expectRecords(batch, records);
  });

  it('carries the producer state and flags, at a non-default level too', async () => {
    const options = { producerId: 9_007_199_254_740_993n, producerEpoch: 3, baseSequence: 1000, isTransactional: true, partitionLeaderEpoch: 7 };
    const level = codec === 'gzip' ? 9 : codec === 'lz4' ? 3 : codec === 'zstd' ? 19 : undefined;
    for (const bytes of [compressBatch(builderWith(goldenRecords(3, 50)), codec, level, options), await compressBatchAsync(builderWith(goldenRecords(3, 50)), codec, level, options)]) {
      const batch = decodeRecordBatch(bytes, 0, decompressRecords);
      expect(batch).toMatchObject({ producerId: 9_007_199_254_740_993n, producerEpoch: 3, baseSequence: 1000, partitionLeaderEpoch: 7 });
      expect(batch.attributes).toMatchObject({ compression: id, isTransactional: true, timestampType: 'CreateTime' });
      expectRecords(batch, goldenRecords(3, 50));
    }
  });

  it('leaves the builder and its buffer untouched, and gives nothing for an empty builder', async () => {
    const builder = builderWith(goldenRecords(4, 20), 8192);
    const before = Buffer.from(builder.uncompressedRecords());
    compressBatch(builder, codec);
    expect(builder.uncompressedRecords().equals(before)).toBe(true);
    expect(builder.isClosed).toBe(false);
    const empty = new RecordBatchBuilder(Buffer.alloc(100));
    expect(compressBatch(empty, codec).length).toBe(0);
    expect((await compressBatchAsync(empty, codec)).length).toBe(0);
  });
});

describe('compressBatch with none', () => {
  it('is the builder closing itself', async () => {
    const records = goldenRecords(5, 30);
    const expected = Buffer.from(builderWith(records).close({ producerId: 5, producerEpoch: 1, baseSequence: 2 }));
    expect(compressBatch(builderWith(records), 'none', undefined, { producerId: 5, producerEpoch: 1, baseSequence: 2 }).equals(expected)).toBe(true);
    expect((await compressBatchAsync(builderWith(records), CompressionCodec.None, undefined, { producerId: 5, producerEpoch: 1, baseSequence: 2 })).equals(expected)).toBe(true);
  });
});

describe('batches compressed by the Java client (kafka-clients 4.3.1 MemoryRecordsBuilder)', () => {
  it('cover every codec, with and without a level', () => {
    expect(new Set(GOLDEN_COMPRESSED_BATCHES.map((g) => g.codec))).toEqual(new Set(CODECS));
  });

  it.each(GOLDEN_COMPRESSED_BATCHES.map((g) => [g.name, g] as const))('%s: our decoder reads Java\'s bytes into the records Java was given', (_name, golden) => {
    const bytes = Buffer.from(golden.batch, 'hex');
    const [batch, ...rest] = decodeRecordBatches(bytes, decompressRecords);
    expect(rest).toHaveLength(0);
    expect(batch.attributes.compression).toBe(COMPRESSION_CODEC_BY_NAME[golden.codec]);
    expect(batch.producerId).toBe(BigInt(golden.producerId));
    expect(batch.producerEpoch).toBe(golden.producerEpoch);
    expect(batch.baseSequence).toBe(golden.baseSequence);
    expect(batch.attributes.isTransactional).toBe(golden.isTransactional);
    expectRecords(batch, goldenRecords(golden.seed, golden.count));
  });

  it('Java and we agree on what the records section is (same plain bytes after decompression)', () => {
    for (const golden of GOLDEN_COMPRESSED_BATCHES) {
      const javaBatch = Buffer.from(golden.batch, 'hex');
      const javaPlain = decompressRecords(COMPRESSION_CODEC_BY_NAME[golden.codec], javaBatch.subarray(RECORD_BATCH_OVERHEAD));
      const ours = builderWith(goldenRecords(golden.seed, golden.count));
      expect(ours.uncompressedRecords().equals(javaPlain)).toBe(true);
    }
  });
});
