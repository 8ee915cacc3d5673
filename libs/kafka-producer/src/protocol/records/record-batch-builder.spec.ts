import { InvalidArgumentError, ProtocolEncodeError } from '../../errors';
import { crc32c } from '../primitives/crc32c';
import { GOLDEN_BATCHES } from '../../../test/fixtures/records/golden-batches';
import { goldenBatch, goldenInputs } from '../../../test/fixtures/records/test-helpers';
import {
  ATTRIBUTES_OFFSET,
  CRC_OFFSET,
  RECORD_BATCH_OVERHEAD,
  RECORDS_OFFSET,
  estimateBatchSizeUpperBound,
  sizeOfRecord,
} from './record-batch';
import { RecordBatchBuilder } from './record-batch-builder';
import { decodeRecordBatch } from './record-batch-decoder';

const T0 = 1_700_000_000_000;

describe('RecordBatchBuilder', () => {
  describe('writes the same bytes as the Java client (kafka-clients 4.3.1 MemoryRecordsBuilder)', () => {
    const uncompressed = GOLDEN_BATCHES.filter((g) => g.compression === 'none');

    it.each(uncompressed.map((g) => [g.name, g] as const))('%s', (_name, golden) => {
      const builder = new RecordBatchBuilder(Buffer.alloc(64 * 1024));
      goldenInputs(golden).forEach((r, i) => {
        expect(builder.append(r.timestamp, r.key, r.value, r.headers)).toBe(i);
      });
      const batch = builder.close({
        producerId: BigInt(golden.producerId),
        producerEpoch: golden.producerEpoch,
        baseSequence: golden.baseSequence,
        isTransactional: golden.isTransactional,
      });
      expect(batch.toString('hex')).toBe(golden.batch);
    });

    it('gives the same bytes with a number producerId as with a bigint one', () => {
      const golden = goldenBatch('idempotent', GOLDEN_BATCHES);
      const builder = new RecordBatchBuilder(Buffer.alloc(1024));
      for (const r of goldenInputs(golden)) builder.append(r.timestamp, r.key, r.value, r.headers);
      const batch = builder.close({ producerId: Number(golden.producerId), producerEpoch: 7, baseSequence: 42 });
      expect(batch.toString('hex')).toBe(golden.batch);
    });

    it('leaves producerId, epoch and sequence at -1 and the batch non-transactional by default', () => {
      const golden = goldenBatch('negativeTimestampDelta', GOLDEN_BATCHES);
      const builder = new RecordBatchBuilder(Buffer.alloc(1024));
      for (const r of goldenInputs(golden)) builder.append(r.timestamp, r.key, r.value, r.headers);
      expect(builder.close().toString('hex')).toBe(golden.batch);
    });
  });

  describe('layout', () => {
    it('reserves the 61 header bytes and writes the first record right after them', () => {
      const builder = new RecordBatchBuilder(Buffer.alloc(256));
      expect(builder.sizeInBytes).toBe(RECORD_BATCH_OVERHEAD);
      builder.append(T0, Buffer.from('k'), Buffer.from('v'), null);
      const records = builder.uncompressedRecords();
      // length 8 -> zigzag 0x10; attributes 0; tsDelta 0; offsetDelta 0; key len 1 -> 0x02 'k'; value 'v'; 0 headers
      expect(records.toString('hex')).toBe('10' + '00' + '00' + '00' + '02' + '6b' + '02' + '76' + '00');
      expect(builder.sizeInBytes).toBe(RECORDS_OFFSET + records.length);
    });

    it('returns a view of the given buffer, not a copy', () => {
      const buffer = Buffer.alloc(256);
      const builder = new RecordBatchBuilder(buffer);
      builder.append(T0, null, Buffer.from('v'), null);
      const batch = builder.close();
      expect(batch.buffer).toBe(buffer.buffer);
      expect(batch.byteOffset).toBe(buffer.byteOffset);
      expect(batch.length).toBe(builder.sizeInBytes);
    });

    it('checksums bytes [21, end) with CRC-32C into offset 17', () => {
      const builder = new RecordBatchBuilder(Buffer.alloc(256));
      builder.append(T0, Buffer.from('k'), Buffer.from('v'), [{ key: 'h', value: null }]);
      const batch = builder.close();
      expect(batch.readUInt32BE(CRC_OFFSET)).toBe(crc32c(batch, ATTRIBUTES_OFFSET));
    });

    it('writes an empty header array the same as no headers', () => {
      const a = new RecordBatchBuilder(Buffer.alloc(128));
      const b = new RecordBatchBuilder(Buffer.alloc(128));
      a.append(T0, null, Buffer.from('v'), []);
      b.append(T0, null, Buffer.from('v'), null);
      expect(a.close().equals(b.close())).toBe(true);
    });

    it('encodes header keys of every kind: short ASCII, long ASCII, non-ASCII, lone surrogate, empty', () => {
      const headers = [
        { key: 'traceparent', value: Buffer.from('00-abc') },
        { key: 'x'.repeat(200), value: null },
        { key: 'ключ ✓ 🎉', value: Buffer.alloc(0) },
        { key: 'bad \ud800 surrogate', value: Buffer.from([1, 2, 3]) },
        { key: '', value: Buffer.alloc(40, 7) },
      ];
      const builder = new RecordBatchBuilder(Buffer.alloc(1024));
      builder.append(T0, null, null, headers);
      const decoded = decodeRecordBatch(builder.close()).records[0].headers;
      // A lone surrogate has no UTF-8 form; like Buffer.from and Java, it becomes U+FFFD.
      expect(decoded).toEqual(headers.map((h) => ({ key: Buffer.from(h.key, 'utf8').toString('utf8'), value: h.value })));
      expect(decoded[3].key).toBe('bad \ufffd surrogate');
    });

    it('copies keys and values of every size, around the small-copy threshold too', () => {
      const builder = new RecordBatchBuilder(Buffer.alloc(4096));
      const sizes = [0, 1, 7, 8, 9, 31, 32, 33, 64, 127, 128, 1000];
      for (const size of sizes) {
        const bytes = Buffer.alloc(size);
        for (let i = 0; i < size; i++) bytes[i] = (i * 7 + size) & 0xff;
        builder.append(T0, bytes, bytes, null);
      }
      const records = decodeRecordBatch(builder.close()).records;
      expect(records.map((r) => r.value?.length)).toEqual(sizes);
      records.forEach((r, i) => {
        expect(r.key?.equals(r.value as Buffer)).toBe(true);
        expect(r.value?.[sizes[i] - 1]).toBe(sizes[i] === 0 ? undefined : ((sizes[i] - 1) * 7 + sizes[i]) & 0xff);
      });
    });
  });

  describe('bookkeeping', () => {
    it('returns each record’s offsetDelta and tracks count, base and max timestamps', () => {
      const builder = new RecordBatchBuilder(Buffer.alloc(1024));
      expect(builder.maxTimestamp).toBe(-1);
      expect(builder.append(T0 + 10, null, Buffer.from('a'), null)).toBe(0);
      expect(builder.append(T0, null, Buffer.from('b'), null)).toBe(1);
      expect(builder.append(T0 + 30, null, Buffer.from('c'), null)).toBe(2);
      expect(builder.append(T0 + 20, null, Buffer.from('d'), null)).toBe(3);
      expect(builder.recordCount).toBe(4);
      expect(builder.lastOffsetDelta).toBe(3);
      expect(builder.baseTimestamp).toBe(T0 + 10);
      expect(builder.maxTimestamp).toBe(T0 + 30);
      const decoded = decodeRecordBatch(builder.close());
      expect(decoded.baseTimestamp).toBe(BigInt(T0 + 10));
      expect(decoded.maxTimestamp).toBe(BigInt(T0 + 30));
      expect(decoded.lastOffsetDelta).toBe(3);
      expect(decoded.records.map((r) => r.timestampDelta)).toEqual([0, -10, 20, 10]);
    });

    it('keeps sizeInBytes exact: it equals the closed batch length', () => {
      const builder = new RecordBatchBuilder(Buffer.alloc(4096));
      for (let i = 0; i < 20; i++) builder.append(T0 + i * 1000, Buffer.from(`key-${i}`), Buffer.alloc(i * 10), null);
      const expected = builder.sizeInBytes;
      expect(builder.close().length).toBe(expected);
    });

    it('accepts -1 as "no timestamp" and rejects other negative or fractional timestamps', () => {
      const builder = new RecordBatchBuilder(Buffer.alloc(256));
      expect(builder.append(-1, null, null, null)).toBe(0);
      expect(() => builder.append(-2, null, null, null)).toThrow(InvalidArgumentError);
      expect(() => builder.append(1.5, null, null, null)).toThrow(InvalidArgumentError);
      expect(() => builder.append(Number.NaN, null, null, null)).toThrow(InvalidArgumentError);
      expect(builder.recordCount).toBe(1);
    });

    it('writes timestamps beyond 2^32 ms and deltas beyond int32 exactly', () => {
      const builder = new RecordBatchBuilder(Buffer.alloc(256));
      builder.append(T0, null, null, null);
      builder.append(T0 + 2 ** 33, null, null, null);
      builder.append(T0 - 2 ** 35, null, null, null);
      const decoded = decodeRecordBatch(builder.close());
      expect(decoded.records.map((r) => r.timestamp)).toEqual([BigInt(T0), BigInt(T0 + 2 ** 33), BigInt(T0 - 2 ** 35)]);
      expect(decoded.maxTimestamp).toBe(BigInt(T0 + 2 ** 33));
    });
  });

  describe('capacity', () => {
    it('tryAppend returns -1 and writes nothing once a record would overflow the buffer', () => {
      const value = Buffer.alloc(100, 1);
      const builder = new RecordBatchBuilder(Buffer.alloc(RECORD_BATCH_OVERHEAD + 3 * 110));
      let appended = 0;
      while (builder.tryAppend(T0, null, value, null) >= 0) appended++;
      expect(appended).toBe(3);
      const before = builder.sizeInBytes;
      expect(builder.tryAppend(T0, null, value, null)).toBe(-1);
      expect(builder.sizeInBytes).toBe(before);
      expect(builder.recordCount).toBe(3);
      expect(decodeRecordBatch(builder.close()).records).toHaveLength(3);
    });

    it('hasRoomFor agrees with tryAppend down to the last byte', () => {
      const value = Buffer.alloc(10);
      // one record here is 61 + 16 bytes; give room for exactly two, then one byte less
      const single = sizeOfRecord(0, 0, null, value, null);
      for (const spare of [0, -1]) {
        const builder = new RecordBatchBuilder(Buffer.alloc(RECORD_BATCH_OVERHEAD + 2 * single + spare));
        expect(builder.hasRoomFor(T0, null, value, null)).toBe(true);
        builder.append(T0, null, value, null);
        expect(builder.hasRoomFor(T0, null, value, null)).toBe(spare === 0);
        expect(builder.tryAppend(T0, null, value, null) >= 0).toBe(spare === 0);
      }
    });

    it('append throws a ProtocolEncodeError when the record does not fit', () => {
      const builder = new RecordBatchBuilder(Buffer.alloc(80));
      expect(() => builder.append(T0, null, Buffer.alloc(100), null)).toThrow(ProtocolEncodeError);
      expect(builder.recordCount).toBe(0);
    });

    it('estimateSize is the exact size of a batch holding just that record', () => {
      const key = Buffer.from('key');
      const value = Buffer.alloc(20_000, 3);
      const headers = [{ key: 'h', value: Buffer.from('x') }];
      const size = RecordBatchBuilder.estimateSize(key, value, headers);
      const builder = new RecordBatchBuilder(Buffer.alloc(size));
      expect(builder.hasRoomFor(T0, key, value, headers)).toBe(true);
      builder.append(T0, key, value, headers);
      expect(builder.remaining).toBe(0);
      expect(builder.isFull).toBe(true);
      expect(builder.close().length).toBe(size);
      expect(size).toBeLessThanOrEqual(estimateBatchSizeUpperBound(key, value, headers));
    });

    it('takes an oversized first record when the caller allocates max(batchSize, estimateSize)', () => {
      const batchSize = 16 * 1024;
      const value = Buffer.alloc(100 * 1024, 9);
      const oversize = RecordBatchBuilder.estimateSize(null, value, null);
      expect(new RecordBatchBuilder(Buffer.alloc(batchSize)).hasRoomFor(T0, null, value, null)).toBe(false);
      const builder = new RecordBatchBuilder(Buffer.alloc(Math.max(batchSize, oversize)));
      expect(builder.append(T0, null, value, null)).toBe(0);
      // nothing else fits after it: the batch is as large as its one record
      expect(builder.tryAppend(T0, null, Buffer.alloc(0), null)).toBe(-1);
      expect(decodeRecordBatch(builder.close()).records[0].value?.equals(value)).toBe(true);
    });

    it('refuses a buffer too small to hold a header and one record', () => {
      expect(() => new RecordBatchBuilder(Buffer.alloc(RECORD_BATCH_OVERHEAD))).toThrow(InvalidArgumentError);
    });
  });

  describe('close and reset', () => {
    it('refuses appends and a second close once closed, and hasRoomFor says no', () => {
      const builder = new RecordBatchBuilder(Buffer.alloc(256));
      builder.append(T0, null, null, null);
      builder.close();
      expect(builder.isClosed).toBe(true);
      expect(builder.hasRoomFor(T0, null, null, null)).toBe(false);
      expect(() => builder.append(T0, null, null, null)).toThrow(ProtocolEncodeError);
      expect(() => builder.close()).toThrow(ProtocolEncodeError);
    });

    it('closes an empty builder to an empty buffer, as Java builds MemoryRecords.EMPTY', () => {
      expect(new RecordBatchBuilder(Buffer.alloc(128)).close()).toHaveLength(0);
    });

    it('reset reuses the same buffer for a fresh, independent batch', () => {
      const buffer = Buffer.alloc(512);
      const builder = new RecordBatchBuilder(buffer);
      builder.append(T0, Buffer.from('first'), Buffer.from('batch'), [{ key: 'a', value: null }, { key: 'b', value: null }]);
      builder.close({ producerId: 5, producerEpoch: 1, baseSequence: 0 });

      builder.reset();
      expect(builder.recordCount).toBe(0);
      expect(builder.maxTimestamp).toBe(-1);
      builder.append(T0 + 99, null, Buffer.from('second'), [{ key: 'c', value: null }]);
      const second = decodeRecordBatch(builder.close());
      expect(second.producerId).toBe(-1n);
      expect(second.baseTimestamp).toBe(BigInt(T0 + 99));
      expect(second.records).toHaveLength(1);
      expect(second.records[0].headers).toEqual([{ key: 'c', value: null }]);
    });

    it('reset can move the builder to another buffer', () => {
      const builder = new RecordBatchBuilder(Buffer.alloc(128));
      const bigger = Buffer.alloc(4096);
      builder.reset(bigger);
      expect(builder.capacity).toBe(4096);
      builder.append(T0, null, Buffer.alloc(1000), null);
      expect(builder.close().buffer).toBe(bigger.buffer);
    });

    it('rejects producer state that does not fit the header fields', () => {
      const make = () => {
        const b = new RecordBatchBuilder(Buffer.alloc(128));
        b.append(T0, null, null, null);
        return b;
      };
      expect(() => make().close({ producerEpoch: 40_000 })).toThrow(InvalidArgumentError);
      expect(() => make().close({ baseSequence: 2 ** 31 })).toThrow(InvalidArgumentError);
      expect(() => make().close({ producerId: 2 ** 60 })).toThrow(ProtocolEncodeError);
      expect(() => make().close({ producerId: 2n ** 63n })).toThrow(ProtocolEncodeError);
    });
  });
});
