import * as zlib from 'zlib';
import { InvalidArgumentError } from '../../errors';
import { crc32c } from '../primitives/crc32c';
import { GOLDEN_BATCHES } from '../../../test/fixtures/records/golden-batches';
import { goldenBatch, goldenInputs, prng } from '../../../test/fixtures/records/test-helpers';
import {
  ATTRIBUTES_OFFSET,
  CompressionCodec,
  CRC_OFFSET,
  estimateBatchSizeUpperBound,
  estimateRecordSizeUpperBound,
  MAX_RECORD_OVERHEAD,
  RECORD_BATCH_OVERHEAD,
  RECORDS_OFFSET,
  RecordHeader,
  setProducerState,
  sizeOfHeaders,
  sizeOfRecord,
  writeInt64FromNumber,
  writeRecordBatchHeader,
} from './record-batch';
import { RecordBatchBuilder } from './record-batch-builder';
import { decodeRecordBatch } from './record-batch-decoder';

const T0 = 1_700_000_000_000;

function closedBatch(): Buffer {
  const golden = goldenBatch('idempotent', GOLDEN_BATCHES);
  return Buffer.from(golden.batch, 'hex');
}

describe('RecordBatch v2 format', () => {
  describe('writeInt64FromNumber', () => {
    it.each([0, 1, -1, T0, -T0, 2 ** 32, 2 ** 32 - 1, -(2 ** 32), 2 ** 31, -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER])(
      'writes %d as the same 8 bytes as writeBigInt64BE',
      (value) => {
        const ours = Buffer.alloc(8);
        const reference = Buffer.alloc(8);
        writeInt64FromNumber(ours, 0, value);
        reference.writeBigInt64BE(BigInt(value));
        expect(ours.toString('hex')).toBe(reference.toString('hex'));
      },
    );
  });

  describe('record sizes', () => {
    it('sizeOfRecord is the exact number of bytes the builder writes, for random records', () => {
      const rand = prng(7);
      for (let round = 0; round < 200; round++) {
        const builder = new RecordBatchBuilder(Buffer.alloc(64 * 1024));
        // A base far from 0 leaves room for negative deltas up to 2^44 without a negative timestamp.
        const base = 2 ** 46;
        builder.append(base, null, null, null);
        const offsetDelta = 1;
        const timestampDelta = Math.floor((rand() - 0.5) * 2 ** (rand() * 45));
        const key = rand() < 0.2 ? null : Buffer.alloc(Math.floor(rand() * 300));
        const value = rand() < 0.2 ? null : Buffer.alloc(Math.floor(rand() * 20_000));
        const headers: RecordHeader[] | null =
          rand() < 0.3 ? null : Array.from({ length: Math.floor(rand() * 4) }, (_, i) => ({ key: `h${i}é`, value: rand() < 0.3 ? null : Buffer.alloc(i * 50) }));
        const before = builder.sizeInBytes;
        builder.append(base + timestampDelta, key, value, headers);
        expect(builder.sizeInBytes - before).toBe(sizeOfRecord(offsetDelta, timestampDelta, key, value, headers));
        expect(sizeOfRecord(offsetDelta, timestampDelta, key, value, headers)).toBeLessThanOrEqual(
          estimateRecordSizeUpperBound(key, value, headers),
        );
      }
    });

    it('the upper bound is Java’s: 21 + key + value + headers sections', () => {
      const key = Buffer.alloc(10);
      const value = Buffer.alloc(300);
      const headers = [{ key: 'abc', value: Buffer.alloc(2) }];
      // key: varint(10)=1 + 10; value: varint(300)=2 + 300; headers: count 1 + (1 + 3) + (1 + 2)
      expect(sizeOfHeaders(headers)).toBe(8);
      expect(estimateRecordSizeUpperBound(key, value, headers)).toBe(MAX_RECORD_OVERHEAD + 11 + 302 + 8);
      expect(estimateBatchSizeUpperBound(null, null, null)).toBe(RECORD_BATCH_OVERHEAD + MAX_RECORD_OVERHEAD + 3);
    });

    it('counts header keys in UTF-8 bytes, not UTF-16 units', () => {
      expect(sizeOfHeaders([{ key: '✓', value: null }])).toBe(1 + 1 + 3 + 1);
    });
  });

  describe('setProducerState', () => {
    it('rewrites producerId, epoch and baseSequence and leaves a valid CRC', () => {
      const batch = closedBatch();
      setProducerState(batch, 99n, 3, 1000);
      expect(batch.readUInt32BE(CRC_OFFSET)).toBe(crc32c(batch, ATTRIBUTES_OFFSET));
      const decoded = decodeRecordBatch(batch);
      expect(decoded.producerId).toBe(99n);
      expect(decoded.producerEpoch).toBe(3);
      expect(decoded.baseSequence).toBe(1000);
    });

    it('changes nothing else: records, timestamps and flags stay as built', () => {
      const golden = goldenBatch('transactional', GOLDEN_BATCHES);
      const batch = Buffer.from(golden.batch, 'hex');
      const before = decodeRecordBatch(Buffer.from(batch));
      setProducerState(batch, 2n ** 62n, 0, 0);
      const after = decodeRecordBatch(batch);
      expect({ ...after, producerId: 0, producerEpoch: 0, baseSequence: 0, crc: 0 }).toEqual({
        ...before,
        producerId: 0,
        producerEpoch: 0,
        baseSequence: 0,
        crc: 0,
      });
      expect(after.attributes.isTransactional).toBe(true);
      // bytes outside the producer fields and the CRC are untouched
      expect(batch.subarray(RECORDS_OFFSET).equals(Buffer.from(golden.batch, 'hex').subarray(RECORDS_OFFSET))).toBe(true);
    });

    it('setting the state the Java client wrote reproduces its bytes exactly', () => {
      const golden = goldenBatch('idempotent', GOLDEN_BATCHES);
      const builder = new RecordBatchBuilder(Buffer.alloc(1024));
      for (const r of goldenInputs(golden)) builder.append(r.timestamp, r.key, r.value, r.headers);
      const batch = builder.close();
      setProducerState(batch, BigInt(golden.producerId), golden.producerEpoch, golden.baseSequence);
      expect(batch.toString('hex')).toBe(golden.batch);
    });

    it('refuses anything but exactly one v2 batch, and out-of-range fields', () => {
      const batch = closedBatch();
      expect(() => setProducerState(batch.subarray(0, 60), 1n, 0, 0)).toThrow(InvalidArgumentError);
      expect(() => setProducerState(Buffer.concat([batch, batch]), 1n, 0, 0)).toThrow(InvalidArgumentError);
      const v1 = Buffer.from(batch);
      v1[16] = 1;
      expect(() => setProducerState(v1, 1n, 0, 0)).toThrow(InvalidArgumentError);
      expect(() => setProducerState(batch, 1n, 0x8000, 0)).toThrow(InvalidArgumentError);
      expect(() => setProducerState(batch, 1n, 0, -(2 ** 31) - 1)).toThrow(InvalidArgumentError);
    });
  });

  describe('compression seam (codecs come later)', () => {
    it('a compressor can wrap the builder’s records and header fields into a valid compressed batch', () => {
      const builder = new RecordBatchBuilder(Buffer.alloc(4096));
      for (let i = 0; i < 10; i++) builder.append(T0 + i, null, Buffer.from(`value value value ${i}`), null);
      const compressed = zlib.gzipSync(builder.uncompressedRecords());
      const batch = Buffer.alloc(RECORDS_OFFSET + compressed.length);
      compressed.copy(batch, RECORDS_OFFSET);
      writeRecordBatchHeader(batch, {
        recordCount: builder.recordCount,
        lastOffsetDelta: builder.lastOffsetDelta,
        baseTimestamp: builder.baseTimestamp,
        maxTimestamp: builder.maxTimestamp,
        compression: CompressionCodec.Gzip,
        isTransactional: false,
        producerId: -1,
        producerEpoch: -1,
        baseSequence: -1,
      });
      const decoded = decodeRecordBatch(batch, 0, (codec, bytes) => {
        expect(codec).toBe(CompressionCodec.Gzip);
        return zlib.gunzipSync(bytes);
      });
      expect(decoded.attributes.compression).toBe(CompressionCodec.Gzip);
      expect(decoded.records.map((r) => r.value?.toString())).toEqual(Array.from({ length: 10 }, (_, i) => `value value value ${i}`));
    });
  });
});
