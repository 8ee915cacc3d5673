import { ProtocolDecodeError } from '../../errors';
import { crc32c } from '../primitives/crc32c';
import { Reader } from '../primitives/reader';
import {
  ATTRIBUTES_OFFSET,
  BATCH_LENGTH_OFFSET,
  COMPRESSION_CODEC_MASK,
  CompressionCodec,
  compressionCodecName,
  CONTROL_FLAG,
  CRC_OFFSET,
  DELETE_HORIZON_FLAG,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAGIC_V2,
  MIN_BATCH_LENGTH,
  RECORD_BATCH_OVERHEAD,
  RECORDS_OFFSET,
  RecordHeader,
  TIMESTAMP_TYPE_FLAG,
  TRANSACTIONAL_FLAG,
} from './record-batch';

/**
 * Reads RecordBatch v2 bytes (a Produce request's `records`, a fetch response, a log segment) back into
 * objects. Not on the producer's hot path: it exists for tests, tools and a consumer, so it favours
 * checking every length against the bytes actually present over speed. Keys, values and header values
 * are views into the input (or into the decompressed bytes), not copies.
 */

export type TimestampType = 'CreateTime' | 'LogAppendTime';

export interface RecordBatchAttributes {
  /** Codec id from bits 0-2 (see CompressionCodec). */
  readonly compression: number;
  readonly timestampType: TimestampType;
  readonly isTransactional: boolean;
  /** Transaction markers and other broker-written control records. */
  readonly isControl: boolean;
  /** Set by log compaction: baseTimestamp then holds the delete horizon. */
  readonly hasDeleteHorizon: boolean;
}

export interface DecodedRecord {
  readonly attributes: number;
  readonly timestampDelta: number;
  /** baseTimestamp + timestampDelta, or the batch's maxTimestamp under LogAppendTime (as Java reports it). */
  readonly timestamp: bigint;
  readonly offsetDelta: number;
  /** baseOffset + offsetDelta. */
  readonly offset: bigint;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: RecordHeader[];
}

export interface DecodedRecordBatch {
  readonly baseOffset: bigint;
  readonly batchLength: number;
  readonly partitionLeaderEpoch: number;
  readonly magic: number;
  /** Stored CRC-32C, unsigned; already verified against the bytes. */
  readonly crc: number;
  readonly attributes: RecordBatchAttributes;
  readonly lastOffsetDelta: number;
  readonly baseTimestamp: bigint;
  readonly maxTimestamp: bigint;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly records: DecodedRecord[];
}

/** Turns a compressed record stream (everything after the 61-byte header) back into plain records. */
export type Decompress = (codec: CompressionCodec, compressed: Buffer) => Buffer;

/** The smallest record: length, attributes, timestampDelta, offsetDelta, key -1, value -1, 0 headers. */
const MIN_RECORD_SIZE = 7;

/** Decodes every batch in `buf`; the bytes must end exactly where the last batch ends. */
export function decodeRecordBatches(buf: Buffer, decompress?: Decompress): DecodedRecordBatch[] {
  const batches: DecodedRecordBatch[] = [];
  let offset = 0;
  while (offset < buf.length) {
    const batch = decodeRecordBatch(buf, offset, decompress);
    batches.push(batch);
    offset += LOG_OVERHEAD + batch.batchLength;
  }
  return batches;
}

/** Decodes the one batch that starts at `offset`; it occupies LOG_OVERHEAD + batchLength bytes. */
export function decodeRecordBatch(buf: Buffer, offset = 0, decompress?: Decompress): DecodedRecordBatch {
  const available = buf.length - offset;
  if (available < RECORD_BATCH_OVERHEAD) {
    throw new ProtocolDecodeError(
      `truncated record batch at offset ${offset}: ${available} bytes, the header alone is ${RECORD_BATCH_OVERHEAD}`,
    );
  }
  const batchLength = buf.readInt32BE(offset + BATCH_LENGTH_OFFSET);
  if (batchLength < MIN_BATCH_LENGTH) {
    throw new ProtocolDecodeError(`record batch at offset ${offset} has batchLength ${batchLength}, below the minimum ${MIN_BATCH_LENGTH}`);
  }
  if (batchLength > available - LOG_OVERHEAD) {
    throw new ProtocolDecodeError(
      `truncated record batch at offset ${offset}: batchLength ${batchLength} but only ${available - LOG_OVERHEAD} bytes follow it`,
    );
  }
  const end = offset + LOG_OVERHEAD + batchLength;
  // Magic first: before v2 the bytes at 17.. are not a CRC-32C at all, so a CRC error would mislead.
  const magic = buf.readInt8(offset + MAGIC_OFFSET);
  if (magic !== MAGIC_V2) {
    throw new ProtocolDecodeError(`unsupported record batch magic ${magic} at offset ${offset} (only magic 2 is supported)`);
  }
  const storedCrc = buf.readUInt32BE(offset + CRC_OFFSET);
  const computedCrc = crc32c(buf, offset + ATTRIBUTES_OFFSET, end);
  if (storedCrc !== computedCrc) {
    throw new ProtocolDecodeError(
      `CRC mismatch in record batch at offset ${offset}: computed ${hex32(computedCrc)}, stored ${hex32(storedCrc)}`,
    );
  }

  // The reader is bounded to this batch, so nothing below can read into the next one.
  const header = new Reader(buf, offset, end);
  const baseOffset = header.int64();
  header.int32(); // batchLength, checked above
  const partitionLeaderEpoch = header.int32();
  header.int8(); // magic, checked above
  header.uint32(); // crc, checked above
  const rawAttributes = header.int16();
  const lastOffsetDelta = header.int32();
  const baseTimestamp = header.int64();
  const maxTimestamp = header.int64();
  const producerId = header.int64();
  const producerEpoch = header.int16();
  const baseSequence = header.int32();
  const recordsCount = header.int32();

  const attributes: RecordBatchAttributes = {
    compression: rawAttributes & COMPRESSION_CODEC_MASK,
    timestampType: rawAttributes & TIMESTAMP_TYPE_FLAG ? 'LogAppendTime' : 'CreateTime',
    isTransactional: (rawAttributes & TRANSACTIONAL_FLAG) !== 0,
    isControl: (rawAttributes & CONTROL_FLAG) !== 0,
    hasDeleteHorizon: (rawAttributes & DELETE_HORIZON_FLAG) !== 0,
  };
  if (recordsCount < 0) {
    throw new ProtocolDecodeError(`record batch at offset ${offset} has a negative record count ${recordsCount}`);
  }

  let records: Reader;
  const codec = attributes.compression;
  if (codec === CompressionCodec.None) {
    records = new Reader(buf, offset + RECORDS_OFFSET, end);
  } else {
    records = new Reader(decompressRecords(codec, buf.subarray(offset + RECORDS_OFFSET, end), decompress, offset));
  }
  // Every record takes at least MIN_RECORD_SIZE bytes, so a count beyond that is a lie; checking it here
  // also keeps a hostile count from driving a long loop.
  if (recordsCount > Math.floor(records.remaining / MIN_RECORD_SIZE)) {
    throw new ProtocolDecodeError(
      `record count mismatch in batch at offset ${offset}: header says ${recordsCount} records but only ${records.remaining} bytes of records follow`,
    );
  }

  const logAppendTime = attributes.timestampType === 'LogAppendTime' ? maxTimestamp : null;
  const decoded: DecodedRecord[] = [];
  for (let i = 0; i < recordsCount; i++) {
    if (records.remaining === 0) {
      throw new ProtocolDecodeError(
        `record count mismatch in batch at offset ${offset}: header says ${recordsCount} records, the bytes hold ${i}`,
      );
    }
    decoded.push(decodeRecord(records, i, baseOffset, baseTimestamp, logAppendTime));
  }
  if (records.remaining !== 0) {
    throw new ProtocolDecodeError(
      `record count mismatch in batch at offset ${offset}: ${records.remaining} bytes left after the ${recordsCount} records the header declares`,
    );
  }

  return {
    baseOffset,
    batchLength,
    partitionLeaderEpoch,
    magic,
    crc: storedCrc,
    attributes,
    lastOffsetDelta,
    baseTimestamp,
    maxTimestamp,
    producerId,
    producerEpoch,
    baseSequence,
    records: decoded,
  };
}

function decompressRecords(codec: number, compressed: Buffer, decompress: Decompress | undefined, offset: number): Buffer {
  if (codec > CompressionCodec.Zstd) {
    throw new ProtocolDecodeError(`record batch at offset ${offset} uses unknown compression codec ${codec}`);
  }
  if (decompress === undefined) {
    throw new ProtocolDecodeError(`compressed batch (codec ${compressionCodecName(codec)}) needs a decompressor`);
  }
  try {
    return decompress(codec as CompressionCodec, compressed);
  } catch (err) {
    throw new ProtocolDecodeError(
      `could not decompress the ${compressionCodecName(codec)} batch at offset ${offset}: ${err instanceof Error ? err.message : String(err)}`,
      err,
    );
  }
}

function decodeRecord(
  records: Reader,
  index: number,
  baseOffset: bigint,
  baseTimestamp: bigint,
  logAppendTime: bigint | null,
): DecodedRecord {
  const at = records.offset;
  const length = records.varint();
  if (length < MIN_RECORD_SIZE - 1 || length > records.remaining) {
    throw new ProtocolDecodeError(
      `record ${index} at offset ${at} has length ${length}, but ${records.remaining} bytes are left in the batch`,
    );
  }
  // A reader bounded to this record: a length field inside it cannot reach into the next record.
  const r = new Reader(records.buf, records.offset, records.offset + length);
  records.skip(length);

  const attributes = r.int8();
  const timestampDelta = r.varlong();
  if (!Number.isSafeInteger(timestampDelta)) {
    throw new ProtocolDecodeError(`record ${index} at offset ${at} has a timestampDelta beyond 2^53`);
  }
  const offsetDelta = r.varint();
  const key = nullableBytes(r, index, 'key');
  const value = nullableBytes(r, index, 'value');
  const headerCount = r.varint();
  // A header is at least two bytes (key length 0, value length -1).
  if (headerCount < 0 || headerCount * 2 > r.remaining) {
    throw new ProtocolDecodeError(
      `record ${index} declares ${headerCount} headers, impossible in the ${r.remaining} bytes left in the record`,
    );
  }
  const headers: RecordHeader[] = [];
  for (let h = 0; h < headerCount; h++) {
    const keyLength = r.varint();
    if (keyLength < 0 || keyLength > r.remaining) {
      throw new ProtocolDecodeError(
        `record ${index} header ${h} has key length ${keyLength}, with ${r.remaining} bytes left in the record`,
      );
    }
    const headerKey = r.buf.toString('utf8', r.offset, r.offset + keyLength);
    r.skip(keyLength);
    headers.push({ key: headerKey, value: nullableBytes(r, index, `header ${h} value`) });
  }
  if (r.remaining !== 0) {
    throw new ProtocolDecodeError(`record ${index} has ${r.remaining} bytes after its last header, within its length ${length}`);
  }

  return {
    attributes,
    timestampDelta,
    timestamp: logAppendTime ?? baseTimestamp + BigInt(timestampDelta),
    offsetDelta,
    offset: baseOffset + BigInt(offsetDelta),
    key,
    value,
    headers,
  };
}

function nullableBytes(r: Reader, index: number, what: string): Buffer | null {
  const length = r.varint();
  if (length === -1) return null;
  if (length < -1 || length > r.remaining) {
    throw new ProtocolDecodeError(`record ${index} has ${what} length ${length}, with ${r.remaining} bytes left in the record`);
  }
  return r.rawBytes(length, what);
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
