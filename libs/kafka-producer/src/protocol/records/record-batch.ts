import { InvalidArgumentError, ProtocolEncodeError } from '../../errors';
import { crc32c } from '../primitives/crc32c';
import { sizeOfVarint, sizeOfVarlong } from '../primitives/varint';

/**
 * RecordBatch v2 (magic 2): layout constants, size arithmetic and the batch header, shared by the builder
 * (producer hot path) and the decoder. Byte offsets are those of the Java client's DefaultRecordBatch.
 */

export const MAGIC_V2 = 2;

export const BASE_OFFSET_OFFSET = 0;
export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const PRODUCER_EPOCH_OFFSET = 51;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORDS_COUNT_OFFSET = 57;
export const RECORDS_OFFSET = 61;

/** Header bytes in front of the records; also the whole size of a batch with no records. */
export const RECORD_BATCH_OVERHEAD = RECORDS_OFFSET;
/** baseOffset + batchLength: the bytes that batchLength itself does not count. */
export const LOG_OVERHEAD = 12;
/** The smallest legal batchLength: a header with no records. */
export const MIN_BATCH_LENGTH = RECORD_BATCH_OVERHEAD - LOG_OVERHEAD;

/**
 * Java's DefaultRecord.MAX_RECORD_OVERHEAD: the most a record can add beyond its key, value and headers
 * (length varint 5 + attributes 1 + timestampDelta varlong 10 + offsetDelta varint 5).
 */
export const MAX_RECORD_OVERHEAD = 21;

export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;
export const NO_TIMESTAMP = -1;

/** Codec ids in attribute bits 0-2. */
export const CompressionCodec = { None: 0, Gzip: 1, Snappy: 2, Lz4: 3, Zstd: 4 } as const;
export type CompressionCodec = (typeof CompressionCodec)[keyof typeof CompressionCodec];

const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** A readable codec name for messages; unknown ids stay visible as numbers. */
export function compressionCodecName(codec: number): string {
  return CODEC_NAMES[codec] ?? `unknown codec ${codec}`;
}

export const COMPRESSION_CODEC_MASK = 0x07;
export const TIMESTAMP_TYPE_FLAG = 0x08;
export const TRANSACTIONAL_FLAG = 0x10;
export const CONTROL_FLAG = 0x20;
export const DELETE_HORIZON_FLAG = 0x40;

/** A record header: keys are strings (written as UTF-8), values raw bytes or null. Keys may repeat. */
export interface RecordHeader {
  readonly key: string;
  readonly value: Buffer | null;
}

const TWO_POW_32 = 0x100000000;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Writes a signed 64-bit big-endian integer held in a double (a safe integer) as two 32-bit words, so the
 * per-batch timestamps never go through bigint. Returns the offset after it.
 */
export function writeInt64FromNumber(buf: Buffer, offset: number, value: number): number {
  const hi = Math.floor(value / TWO_POW_32);
  buf.writeInt32BE(hi, offset);
  buf.writeUInt32BE(value - hi * TWO_POW_32, offset + 4);
  return offset + 8;
}

/** Producer ids are int64 and may exceed 2^53, hence bigint is accepted too; a number must be exact. */
export function writeProducerId(buf: Buffer, offset: number, producerId: bigint | number): void {
  if (typeof producerId === 'bigint') {
    if (producerId < INT64_MIN || producerId > INT64_MAX) {
      throw new ProtocolEncodeError(`producerId ${producerId} does not fit in an int64`);
    }
    buf.writeBigInt64BE(producerId, offset);
    return;
  }
  if (!Number.isSafeInteger(producerId)) {
    throw new ProtocolEncodeError(`producerId ${producerId} is not a safe integer; pass a bigint`);
  }
  writeInt64FromNumber(buf, offset, producerId);
}

/** Bytes the headers section of a record takes: count varint, then each key and value with lengths. */
export function sizeOfHeaders(headers: ReadonlyArray<RecordHeader> | null): number {
  if (headers === null) return 1;
  let size = sizeOfVarint(headers.length);
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i];
    const keyLength = Buffer.byteLength(header.key, 'utf8');
    size += sizeOfVarint(keyLength) + keyLength;
    size += header.value === null ? 1 : sizeOfVarint(header.value.length) + header.value.length;
  }
  return size;
}

/**
 * Bytes of a record after its length varint. Mirrors Java's DefaultRecord.sizeOfBodyInBytes; the header
 * section size is passed in because callers that then write the record need the per-key byte lengths too.
 */
export function sizeOfRecordBody(
  offsetDelta: number,
  timestampDelta: number,
  key: Buffer | null,
  value: Buffer | null,
  headersSize: number,
): number {
  // Every int32 zigzags correctly with 32-bit arithmetic; only wider deltas need the double loop.
  const tsSize = timestampDelta === (timestampDelta | 0) ? sizeOfVarint(timestampDelta) : sizeOfVarlong(timestampDelta);
  return (
    1 +
    tsSize +
    sizeOfVarint(offsetDelta) +
    (key === null ? 1 : sizeOfVarint(key.length) + key.length) +
    (value === null ? 1 : sizeOfVarint(value.length) + value.length) +
    headersSize
  );
}

/** Whole size of one record in a batch, its length varint included. */
export function sizeOfRecord(
  offsetDelta: number,
  timestampDelta: number,
  key: Buffer | null,
  value: Buffer | null,
  headers: ReadonlyArray<RecordHeader> | null,
): number {
  const body = sizeOfRecordBody(offsetDelta, timestampDelta, key, value, sizeOfHeaders(headers));
  return sizeOfVarint(body) + body;
}

/**
 * Upper bound of a record's size wherever it lands in a batch (Java's DefaultRecord.recordSizeUpperBound):
 * the worst-case varints for length, timestamp and offset deltas, plus exact key, value and headers.
 */
export function estimateRecordSizeUpperBound(
  key: Buffer | null,
  value: Buffer | null,
  headers: ReadonlyArray<RecordHeader> | null,
): number {
  return (
    MAX_RECORD_OVERHEAD +
    (key === null ? 1 : sizeOfVarint(key.length) + key.length) +
    (value === null ? 1 : sizeOfVarint(value.length) + value.length) +
    sizeOfHeaders(headers)
  );
}

/**
 * Upper bound of a batch holding just this record (Java's AbstractRecords.estimateSizeInBytesUpperBound for
 * magic 2, uncompressed): what `max.request.size` / `buffer.memory` checks compare against before sending.
 */
export function estimateBatchSizeUpperBound(
  key: Buffer | null,
  value: Buffer | null,
  headers: ReadonlyArray<RecordHeader> | null,
): number {
  return RECORD_BATCH_OVERHEAD + estimateRecordSizeUpperBound(key, value, headers);
}

/** Everything the 61-byte header holds apart from the lengths and CRC, which follow from the bytes. */
export interface RecordBatchHeaderFields {
  readonly recordCount: number;
  /** recordCount - 1 for a batch a producer builds. */
  readonly lastOffsetDelta: number;
  readonly baseTimestamp: number;
  readonly maxTimestamp: number;
  readonly compression: CompressionCodec;
  readonly isTransactional: boolean;
  readonly producerId: bigint | number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly partitionLeaderEpoch?: number;
}

function checkProducerState(producerEpoch: number, baseSequence: number): void {
  if (!Number.isInteger(producerEpoch) || producerEpoch < -0x8000 || producerEpoch > 0x7fff) {
    throw new InvalidArgumentError(`producerEpoch ${producerEpoch} is not an int16`);
  }
  if (!Number.isInteger(baseSequence) || baseSequence < -0x80000000 || baseSequence > 0x7fffffff) {
    throw new InvalidArgumentError(`baseSequence ${baseSequence} is not an int32`);
  }
}

/**
 * Fills in the header of a batch whose records already sit at [61, batch.length), then its CRC.
 *
 * This is also the seam for compression: a codec writes the compressed records after 61 reserved bytes of
 * a new buffer and calls this with the builder's fields and its codec, so the CRC covers the compressed
 * bytes as the format requires, and the builder itself never knows about codecs.
 */
export function writeRecordBatchHeader(batch: Buffer, fields: RecordBatchHeaderFields): void {
  if (batch.length < RECORD_BATCH_OVERHEAD) {
    throw new ProtocolEncodeError(`a record batch needs at least ${RECORD_BATCH_OVERHEAD} bytes, got ${batch.length}`);
  }
  checkProducerState(fields.producerEpoch, fields.baseSequence);
  let attributes = fields.compression & COMPRESSION_CODEC_MASK;
  if (fields.isTransactional) attributes |= TRANSACTIONAL_FLAG;

  writeInt64FromNumber(batch, BASE_OFFSET_OFFSET, 0);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  batch.writeInt32BE(fields.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH, PARTITION_LEADER_EPOCH_OFFSET);
  batch[MAGIC_OFFSET] = MAGIC_V2;
  batch.writeInt16BE(attributes, ATTRIBUTES_OFFSET);
  batch.writeInt32BE(fields.lastOffsetDelta, LAST_OFFSET_DELTA_OFFSET);
  writeInt64FromNumber(batch, BASE_TIMESTAMP_OFFSET, fields.baseTimestamp);
  writeInt64FromNumber(batch, MAX_TIMESTAMP_OFFSET, fields.maxTimestamp);
  writeProducerId(batch, PRODUCER_ID_OFFSET, fields.producerId);
  batch.writeInt16BE(fields.producerEpoch, PRODUCER_EPOCH_OFFSET);
  batch.writeInt32BE(fields.baseSequence, BASE_SEQUENCE_OFFSET);
  batch.writeInt32BE(fields.recordCount, RECORDS_COUNT_OFFSET);
  updateRecordBatchCrc(batch);
}

/** Recomputes the CRC of a whole batch after any change to bytes [21, end). */
export function updateRecordBatchCrc(batch: Buffer): void {
  batch.writeUInt32BE(crc32c(batch, ATTRIBUTES_OFFSET, batch.length), CRC_OFFSET);
}

/**
 * Rewrites producerId, producerEpoch and baseSequence of a closed batch and its CRC, in place. An
 * idempotent producer needs this when a batch is retried under a new epoch or its sequences are
 * renumbered (Java's ProducerBatch.resetProducerState); the records themselves do not change.
 */
export function setProducerState(
  batch: Buffer,
  producerId: bigint | number,
  producerEpoch: number,
  baseSequence: number,
): void {
  if (batch.length < RECORD_BATCH_OVERHEAD || batch[MAGIC_OFFSET] !== MAGIC_V2) {
    throw new InvalidArgumentError('setProducerState needs a whole closed RecordBatch v2');
  }
  if (batch.readInt32BE(BATCH_LENGTH_OFFSET) !== batch.length - LOG_OVERHEAD) {
    throw new InvalidArgumentError(
      `setProducerState needs exactly one batch: batchLength ${batch.readInt32BE(BATCH_LENGTH_OFFSET)} but the buffer holds ${batch.length - LOG_OVERHEAD} bytes after it`,
    );
  }
  checkProducerState(producerEpoch, baseSequence);
  writeProducerId(batch, PRODUCER_ID_OFFSET, producerId);
  batch.writeInt16BE(producerEpoch, PRODUCER_EPOCH_OFFSET);
  batch.writeInt32BE(baseSequence, BASE_SEQUENCE_OFFSET);
  updateRecordBatchCrc(batch);
}
