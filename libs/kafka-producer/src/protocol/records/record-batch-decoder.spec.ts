import * as zlib from 'zlib';
import { ProtocolDecodeError } from '../../errors';
import { writeVarint } from '../primitives/varint';
import { GOLDEN_BATCHES, GoldenBatch } from '../../../test/fixtures/records/golden-batches';
import { goldenBatch, goldenInputs } from '../../../test/fixtures/records/test-helpers';
import {
  BATCH_LENGTH_OFFSET,
  CompressionCodec,
  MAGIC_OFFSET,
  RECORDS_COUNT_OFFSET,
  RECORDS_OFFSET,
  updateRecordBatchCrc,
  writeRecordBatchHeader,
} from './record-batch';
import { RecordBatchBuilder } from './record-batch-builder';
import { decodeRecordBatch, decodeRecordBatches, Decompress } from './record-batch-decoder';

const T0 = 1_700_000_000_000;
const gunzip: Decompress = (_codec, bytes) => zlib.gunzipSync(bytes);

function goldenBytes(name: string): Buffer {
  return Buffer.from(goldenBatch(name, GOLDEN_BATCHES).batch, 'hex');
}

/** Edits a valid batch and then repairs its CRC, so the decoder's structural checks are what fires. */
function tampered(batch: Buffer, edit: (b: Buffer) => void): Buffer {
  const copy = Buffer.from(batch);
  edit(copy);
  updateRecordBatchCrc(copy);
  return copy;
}

/** A batch with one record whose key is `key`, built by us, plus the offset of that record's key length. */
function oneRecord(key: Buffer | null = Buffer.from('abc'), value: Buffer | null = Buffer.from('xyz')): Buffer {
  const builder = new RecordBatchBuilder(Buffer.alloc(256));
  builder.append(T0, key, value, [{ key: 'h', value: Buffer.from('hv') }]);
  return Buffer.from(builder.close());
}
// Record layout of oneRecord(): [61] length, [62] attributes, [63] tsDelta, [64] offsetDelta, [65] key length,
// [66..68] key, [69] value length, [70..72] value, [73] header count, [74] header key length, [75] 'h',
// [76] header value length, [77..78] value.
const RECORD_LENGTH_AT = 61;
const KEY_LENGTH_AT = 65;
const VALUE_LENGTH_AT = 69;
const HEADER_COUNT_AT = 73;
const HEADER_KEY_LENGTH_AT = 74;
const HEADER_VALUE_LENGTH_AT = 76;

function expectDecodeError(batch: Buffer, message: RegExp, decompress?: Decompress): void {
  let caught: unknown;
  try {
    decodeRecordBatches(batch, decompress);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ProtocolDecodeError);
  expect((caught as Error).message).toMatch(message);
}

describe('decodeRecordBatches', () => {
  describe('reads the Java client’s bytes back', () => {
    it.each(GOLDEN_BATCHES.map((g) => [g.name, g] as const))('%s', (_name, golden: GoldenBatch) => {
      const [batch, ...rest] = decodeRecordBatches(Buffer.from(golden.batch, 'hex'), gunzip);
      expect(rest).toHaveLength(0);
      const inputs = goldenInputs(golden);

      expect(batch.baseOffset).toBe(0n);
      expect(batch.batchLength).toBe(golden.batch.length / 2 - 12);
      expect(batch.partitionLeaderEpoch).toBe(-1);
      expect(batch.magic).toBe(2);
      expect(batch.attributes).toEqual({
        compression: golden.compression === 'gzip' ? CompressionCodec.Gzip : CompressionCodec.None,
        timestampType: 'CreateTime',
        isTransactional: golden.isTransactional,
        isControl: false,
        hasDeleteHorizon: false,
      });
      expect(batch.lastOffsetDelta).toBe(inputs.length - 1);
      expect(batch.baseTimestamp).toBe(BigInt(inputs[0].timestamp));
      expect(batch.maxTimestamp).toBe(BigInt(Math.max(...inputs.map((r) => r.timestamp))));
      expect(batch.producerId).toBe(BigInt(golden.producerId));
      expect(batch.producerEpoch).toBe(golden.producerEpoch);
      expect(batch.baseSequence).toBe(golden.baseSequence);

      expect(batch.records).toHaveLength(inputs.length);
      batch.records.forEach((record, i) => {
        expect(record.offsetDelta).toBe(i);
        expect(record.offset).toBe(BigInt(i));
        expect(record.attributes).toBe(0);
        expect(record.timestamp).toBe(BigInt(inputs[i].timestamp));
        expect(record.timestampDelta).toBe(inputs[i].timestamp - inputs[0].timestamp);
        expect(record.key).toEqual(inputs[i].key);
        expect(record.value).toEqual(inputs[i].value);
        expect(record.headers).toEqual(inputs[i].headers);
      });
    });

    it('decodes several concatenated batches, with offsets following each batch’s baseOffset', () => {
      const a = goldenBytes('negativeTimestampDelta');
      const b = Buffer.from(goldenBytes('idempotent'));
      b.writeBigInt64BE(100n, 0); // baseOffset is outside the CRC, as the broker assigns it
      const batches = decodeRecordBatches(Buffer.concat([a, b]));
      expect(batches.map((x) => x.records.length)).toEqual([3, 3]);
      expect(batches[1].records.map((r) => r.offset)).toEqual([100n, 101n, 102n]);
    });

    it('decodes a batch emptied by compaction: no records, lastOffsetDelta kept', () => {
      const header = Buffer.alloc(RECORDS_OFFSET);
      writeRecordBatchHeader(header, {
        recordCount: 0,
        lastOffsetDelta: 5,
        baseTimestamp: T0,
        maxTimestamp: T0,
        compression: CompressionCodec.None,
        isTransactional: false,
        producerId: 1,
        producerEpoch: 0,
        baseSequence: 0,
      });
      const [batch] = decodeRecordBatches(header);
      expect(batch.batchLength).toBe(49);
      expect(batch.lastOffsetDelta).toBe(5);
      expect(batch.records).toEqual([]);
    });

    it('returns nothing for no bytes', () => {
      expect(decodeRecordBatches(Buffer.alloc(0))).toEqual([]);
    });

    it('reports LogAppendTime records at the batch maxTimestamp, as Java does', () => {
      const batch = tampered(goldenBytes('negativeTimestampDelta'), (b) => {
        b.writeInt16BE(b.readInt16BE(21) | 0x08, 21);
        b.writeBigInt64BE(BigInt(T0 + 77), 35);
      });
      const decoded = decodeRecordBatch(batch);
      expect(decoded.attributes.timestampType).toBe('LogAppendTime');
      expect(decoded.records.map((r) => r.timestamp)).toEqual([BigInt(T0 + 77), BigInt(T0 + 77), BigInt(T0 + 77)]);
    });

    it('decodes a batch that starts at an offset inside a larger buffer', () => {
      const batch = goldenBytes('singleRecord');
      const framed = Buffer.concat([Buffer.alloc(5, 0xee), batch]);
      expect(decodeRecordBatch(framed, 5).records[0].key?.toString()).toBe('key-1');
    });
  });

  describe('compressed batches', () => {
    it('refuses a compressed batch without a decompressor, naming the codec', () => {
      expectDecodeError(goldenBytes('gzip'), /^compressed batch \(codec gzip\) needs a decompressor$/);
    });

    it('hands the codec and exactly the bytes after the header to the decompressor', () => {
      const batch = goldenBytes('gzip');
      const seen: Array<[number, number]> = [];
      decodeRecordBatch(batch, 0, (codec, bytes) => {
        seen.push([codec, bytes.length]);
        return zlib.gunzipSync(bytes);
      });
      expect(seen).toEqual([[CompressionCodec.Gzip, batch.length - RECORDS_OFFSET]]);
    });

    it('wraps a failing decompressor in a ProtocolDecodeError that keeps the cause', () => {
      const boom = new Error('bad gzip');
      try {
        decodeRecordBatch(goldenBytes('gzip'), 0, () => {
          throw boom;
        });
        throw new Error('expected a throw');
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolDecodeError);
        expect((err as Error).message).toMatch(/could not decompress the gzip batch.*bad gzip/);
        expect((err as Error).cause).toBe(boom);
      }
    });

    it('checks decompressed records like plain ones (count and lengths)', () => {
      expectDecodeError(goldenBytes('gzip'), /record count mismatch/, () => Buffer.alloc(0));
    });

    it('rejects codec ids beyond zstd', () => {
      const batch = tampered(goldenBytes('singleRecord'), (b) => b.writeInt16BE(7, 21));
      expectDecodeError(batch, /unknown compression codec 7/, gunzip);
    });
  });

  describe('rejects malformed input with a ProtocolDecodeError', () => {
    it.each(['singleRecord', 'headers', 'largeValue'])('%s truncated at every prefix length', (name) => {
      const batch = goldenBytes(name);
      for (let length = 1; length < batch.length; length++) {
        expectDecodeError(batch.subarray(0, length), /^truncated record batch/);
      }
    });

    it('a second batch cut short after a complete first one', () => {
      const batch = goldenBytes('singleRecord');
      expectDecodeError(Buffer.concat([batch, batch.subarray(0, 30)]), /truncated record batch at offset 80/);
    });

    it('any single flipped bit in the CRC-covered bytes [21, end) as a CRC mismatch', () => {
      const batch = goldenBytes('headers');
      const stored = batch.readUInt32BE(17).toString(16).padStart(8, '0');
      for (let i = 21; i < batch.length; i++) {
        for (const bit of [0x01, 0x80]) {
          const bad = Buffer.from(batch);
          bad[i] ^= bit;
          expectDecodeError(bad, new RegExp(`^CRC mismatch in record batch at offset 0: computed 0x[0-9a-f]{8}, stored 0x${stored}$`));
        }
      }
    });

    it('a corrupted stored CRC', () => {
      const bad = Buffer.from(goldenBytes('singleRecord'));
      bad[18] ^= 0xff;
      expectDecodeError(bad, /CRC mismatch/);
    });

    it.each([
      ['negative', -1, /batchLength -1, below the minimum 49/],
      ['below the header size', 48, /batchLength 48, below the minimum 49/],
      ['past the end of the input', 10_000, /batchLength 10000 but only 68 bytes follow/],
      ['int32 max', 0x7fffffff, /batchLength 2147483647 but only 68 bytes follow/],
    ])('an absurd batchLength: %s', (_what, length, message) => {
      const bad = Buffer.from(goldenBytes('singleRecord'));
      bad.writeInt32BE(length as number, BATCH_LENGTH_OFFSET);
      expectDecodeError(bad, message as RegExp);
    });

    it('a batchLength shorter than the records it holds (the decoder stops at the batch end)', () => {
      // Cut five bytes off the last record and shrink batchLength to match, with a valid CRC over what is left.
      const batch = goldenBytes('negativeTimestampDelta');
      const cut = Buffer.from(batch.subarray(0, batch.length - 5));
      cut.writeInt32BE(cut.length - 12, BATCH_LENGTH_OFFSET);
      updateRecordBatchCrc(cut);
      expectDecodeError(cut, /record 2 at offset \d+ has length 13, but 8 bytes are left in the batch/);
    });

    it.each([0, 1, 3, -1])('magic %d', (magic) => {
      const bad = Buffer.from(goldenBytes('singleRecord'));
      bad.writeInt8(magic, MAGIC_OFFSET);
      expectDecodeError(bad, new RegExp(`unsupported record batch magic ${magic} at offset 0`));
    });

    it('a record length beyond the batch', () => {
      const bad = tampered(oneRecord(), (b) => writeVarint(b, RECORD_LENGTH_AT, 60));
      expectDecodeError(bad, /record 0 at offset 61 has length 60, but 17 bytes are left in the batch/);
    });

    it('an absurd record length (int32 max)', () => {
      // five-byte varint cannot fit in place, so build the record area by hand
      const good = oneRecord();
      const body = good.subarray(RECORDS_OFFSET + 1);
      const lengthBytes = Buffer.alloc(5);
      writeVarint(lengthBytes, 0, 0x7fffffff);
      const bad = Buffer.concat([good.subarray(0, RECORDS_OFFSET), lengthBytes, body]);
      bad.writeInt32BE(bad.length - 12, BATCH_LENGTH_OFFSET);
      updateRecordBatchCrc(bad);
      expectDecodeError(bad, /record 0 at offset 61 has length 2147483647/);
    });

    it('a negative record length', () => {
      const bad = tampered(oneRecord(), (b) => writeVarint(b, RECORD_LENGTH_AT, -3));
      expectDecodeError(bad, /record 0 at offset 61 has length -3/);
    });

    it('a record length shorter than its fields', () => {
      // The record-bounded reader refuses to let the header value run into the bytes after the record.
      const bad = tampered(oneRecord(), (b) => writeVarint(b, RECORD_LENGTH_AT, b[RECORD_LENGTH_AT] / 2 - 2));
      expectDecodeError(bad, /record 0 has header 0 value length 2, with 0 bytes left in the record/);
    });

    it.each([
      ['key', KEY_LENGTH_AT, -2, /record 0 has key length -2/],
      ['key', KEY_LENGTH_AT, 40, /record 0 has key length 40, with 13 bytes left in the record/],
      ['value', VALUE_LENGTH_AT, -5, /record 0 has value length -5/],
      ['value', VALUE_LENGTH_AT, 30, /record 0 has value length 30, with 9 bytes left in the record/],
      ['header count', HEADER_COUNT_AT, -1, /record 0 declares -1 headers/],
      ['header count', HEADER_COUNT_AT, 3, /record 0 declares 3 headers, impossible in the 5 bytes left/],
      ['header key', HEADER_KEY_LENGTH_AT, -1, /record 0 header 0 has key length -1/],
      ['header key', HEADER_KEY_LENGTH_AT, 9, /record 0 header 0 has key length 9, with 4 bytes left/],
      ['header value', HEADER_VALUE_LENGTH_AT, -2, /record 0 has header 0 value length -2/],
      ['header value', HEADER_VALUE_LENGTH_AT, 3, /record 0 has header 0 value length 3, with 2 bytes left/],
    ])('a bad %s length (%d := %d)', (_what, at, length, message) => {
      const bad = tampered(oneRecord(), (b) => writeVarint(b, at as number, length as number));
      expectDecodeError(bad, message as RegExp);
    });

    it('bytes left inside a record after its headers', () => {
      const bad = tampered(oneRecord(), (b) => writeVarint(b, HEADER_COUNT_AT, 0));
      expectDecodeError(bad, /record 0 has 5 bytes after its last header/);
    });

    it('a record count larger than the records present', () => {
      const bad = tampered(goldenBytes('negativeTimestampDelta'), (b) => b.writeInt32BE(4, RECORDS_COUNT_OFFSET));
      expectDecodeError(bad, /record count mismatch in batch at offset 0: header says 4 records, the bytes hold 3/);
    });

    it('a record count smaller than the records present', () => {
      const bad = tampered(goldenBytes('negativeTimestampDelta'), (b) => b.writeInt32BE(2, RECORDS_COUNT_OFFSET));
      expectDecodeError(bad, /record count mismatch .* bytes left after the 2 records the header declares/);
    });

    it('an absurd record count, before allocating or looping by it', () => {
      const bad = tampered(goldenBytes('singleRecord'), (b) => b.writeInt32BE(0x7fffffff, RECORDS_COUNT_OFFSET));
      expectDecodeError(bad, /header says 2147483647 records but only 19 bytes of records follow/);
      const negative = tampered(goldenBytes('singleRecord'), (b) => b.writeInt32BE(-1, RECORDS_COUNT_OFFSET));
      expectDecodeError(negative, /negative record count -1/);
    });

    it('garbage after the last batch', () => {
      expectDecodeError(Buffer.concat([goldenBytes('singleRecord'), Buffer.alloc(3)]), /truncated record batch at offset 80: 3 bytes/);
    });
  });
});
