import { InvalidArgumentError, ProtocolEncodeError } from '../../errors';
import { sizeOfVarint, writeVarint, writeVarlong } from '../primitives/varint';
import {
  CompressionCodec,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  NO_TIMESTAMP,
  RECORD_BATCH_OVERHEAD,
  RECORDS_OFFSET,
  RecordHeader,
  sizeOfRecord,
  sizeOfRecordBody,
  writeRecordBatchHeader,
} from './record-batch';

/** Producer state and flags that go into the header when a batch is closed. */
export interface RecordBatchCloseOptions {
  /** int64; -1 when the producer is not idempotent. A bigint is needed only above 2^53. */
  readonly producerId?: bigint | number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  readonly isTransactional?: boolean;
  /** Producers leave this at -1; the broker stamps its own. */
  readonly partitionLeaderEpoch?: number;
}

// Byte loops beat Buffer#set only for a handful of bytes: set is a V8 builtin (memcpy) with a fixed cost of
// ~15-25 ns, a JS loop costs ~1.5-3 ns a byte.
const SMALL_COPY = 8;
// Buffer#write (UTF-8 encoder, a native call) costs ~60-80 ns even for a short key; a charCodeAt loop wins
// up to a few dozen ASCII characters.
const SMALL_ASCII_KEY = 32;

/**
 * Writes records straight into one caller-owned buffer, as Java's MemoryRecordsBuilder does for magic 2:
 * 61 header bytes are reserved up front, each append writes the record once at its final place (no temp
 * buffers, no per-record objects), and close() fills the header in front and checksums.
 *
 * Capacity is the buffer's length. The first record is not special-cased here: a caller whose first
 * record is bigger than its usual batch size asks `estimateSize` and hands over a buffer that large, as
 * Java's RecordAccumulator allocates max(batch.size, estimate) for a new batch.
 *
 * Compression is deliberately outside: the builder only ever writes plain records, so its sizes are exact.
 * A codec takes `uncompressedRecords()`, writes its output after 61 reserved bytes of another buffer and
 * calls `writeRecordBatchHeader` with this builder's counts and timestamps and its codec id.
 */
export class RecordBatchBuilder {
  private buf: Buffer;
  private position = RECORDS_OFFSET;
  private count = 0;
  private baseTs = 0;
  private maxTs = NO_TIMESTAMP;
  private closed = false;
  // UTF-8 lengths of the current record's header keys: measured for the size, reused by the write, and kept
  // across appends so the array is allocated once per builder rather than once per record.
  private readonly headerKeyLengths: number[] = [];

  constructor(buffer: Buffer) {
    this.buf = RecordBatchBuilder.checkBuffer(buffer);
  }

  private static checkBuffer(buffer: Buffer): Buffer {
    if (buffer.length <= RECORD_BATCH_OVERHEAD) {
      throw new InvalidArgumentError(
        `a batch buffer must be larger than the ${RECORD_BATCH_OVERHEAD}-byte header, got ${buffer.length} bytes`,
      );
    }
    return buffer;
  }

  /**
   * Exact size of a batch holding only this record: what a caller must allocate at least to start a batch
   * with it (both deltas are 0 for a first record, so nothing has to be guessed).
   */
  static estimateSize(key: Buffer | null, value: Buffer | null, headers: ReadonlyArray<RecordHeader> | null): number {
    return RECORD_BATCH_OVERHEAD + sizeOfRecord(0, 0, key, value, headers);
  }

  /** Starts a new batch over `buffer` (or the same one again, once its previous batch is no longer in use). */
  reset(buffer: Buffer = this.buf): void {
    this.buf = RecordBatchBuilder.checkBuffer(buffer);
    this.position = RECORDS_OFFSET;
    this.count = 0;
    this.baseTs = 0;
    this.maxTs = NO_TIMESTAMP;
    this.closed = false;
  }

  get recordCount(): number {
    return this.count;
  }

  /** Timestamp of the first record appended; deltas are relative to it. Meaningless while empty. */
  get baseTimestamp(): number {
    return this.baseTs;
  }

  /** Largest timestamp appended, -1 while empty (as in Java). */
  get maxTimestamp(): number {
    return this.maxTs;
  }

  get lastOffsetDelta(): number {
    return this.count - 1;
  }

  /** Bytes the batch takes so far, header included: exact, not an estimate. */
  get sizeInBytes(): number {
    return this.position;
  }

  get capacity(): number {
    return this.buf.length;
  }

  get remaining(): number {
    return this.buf.length - this.position;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** True once closed or once not a byte is left, so the accumulator can mark the batch ready. */
  get isFull(): boolean {
    return this.closed || this.position >= this.buf.length;
  }

  /** The plain records written so far, [61, end): the input of a compressor. A view, not a copy. */
  uncompressedRecords(): Buffer {
    return this.buf.subarray(RECORDS_OFFSET, this.position);
  }

  /** Whether the record fits in what is left of the buffer; computes the same exact size as the append. */
  hasRoomFor(
    timestamp: number,
    key: Buffer | null,
    value: Buffer | null,
    headers: ReadonlyArray<RecordHeader> | null,
  ): boolean {
    if (this.closed) return false;
    const timestampDelta = this.count === 0 ? 0 : timestamp - this.baseTs;
    return sizeOfRecord(this.count, timestampDelta, key, value, headers) <= this.buf.length - this.position;
  }

  /**
   * Appends a record and returns its offsetDelta (its index in the batch), or throws when it does not fit.
   * Prefer `tryAppend` on the hot path: it makes the room check and the write one size computation.
   */
  append(
    timestamp: number,
    key: Buffer | null,
    value: Buffer | null,
    headers: ReadonlyArray<RecordHeader> | null,
  ): number {
    const offsetDelta = this.tryAppend(timestamp, key, value, headers);
    if (offsetDelta < 0) {
      throw new ProtocolEncodeError(
        `record does not fit: ${this.buf.length - this.position} of ${this.buf.length} bytes left in the batch buffer`,
      );
    }
    return offsetDelta;
  }

  /**
   * Appends a record if it fits and returns its offsetDelta; returns -1 and writes nothing when it does
   * not. `timestamp` is milliseconds since the epoch (or -1 for none), as a number: no bigint per record.
   */
  tryAppend(
    timestamp: number,
    key: Buffer | null,
    value: Buffer | null,
    headers: ReadonlyArray<RecordHeader> | null,
  ): number {
    if (this.closed) throw new ProtocolEncodeError('cannot append to a closed record batch');
    // Same rule as Java's MemoryRecordsBuilder: -1 means "no timestamp", any other negative is a bug.
    if (!Number.isSafeInteger(timestamp) || timestamp < NO_TIMESTAMP) {
      throw new InvalidArgumentError(`invalid record timestamp ${timestamp}`);
    }
    const offsetDelta = this.count;
    const timestampDelta = offsetDelta === 0 ? 0 : timestamp - this.baseTs;
    const headersSize = headers === null || headers.length === 0 ? 1 : this.measureHeaders(headers);
    const bodySize = sizeOfRecordBody(offsetDelta, timestampDelta, key, value, headersSize);
    const buf = this.buf;
    let pos = this.position;
    if (pos + sizeOfVarint(bodySize) + bodySize > buf.length) return -1;

    pos = writeVarint(buf, pos, bodySize);
    buf[pos++] = 0; // record attributes: unused in v2
    pos = writeVarlong(buf, pos, timestampDelta);
    pos = writeVarint(buf, pos, offsetDelta);
    pos = writeNullableBytes(buf, pos, key);
    pos = writeNullableBytes(buf, pos, value);
    if (headers === null || headers.length === 0) buf[pos++] = 0;
    else pos = this.writeHeaders(buf, pos, headers);

    this.position = pos;
    if (offsetDelta === 0) this.baseTs = timestamp;
    if (timestamp > this.maxTs) this.maxTs = timestamp;
    this.count = offsetDelta + 1;
    return offsetDelta;
  }

  /**
   * Fills in the header and returns the whole batch as a view of the buffer (no copy). After this the
   * builder accepts no more records until `reset`. An empty builder yields an empty buffer, as Java's
   * builder yields MemoryRecords.EMPTY: there is no such thing as a batch of zero records to send.
   */
  close(options: RecordBatchCloseOptions = {}): Buffer {
    if (this.closed) throw new ProtocolEncodeError('record batch is already closed');
    this.closed = true;
    if (this.count === 0) return this.buf.subarray(0, 0);
    const batch = this.buf.subarray(0, this.position);
    writeRecordBatchHeader(batch, {
      recordCount: this.count,
      lastOffsetDelta: this.count - 1,
      baseTimestamp: this.baseTs,
      maxTimestamp: this.maxTs,
      compression: CompressionCodec.None,
      isTransactional: options.isTransactional ?? false,
      producerId: options.producerId ?? NO_PRODUCER_ID,
      producerEpoch: options.producerEpoch ?? NO_PRODUCER_EPOCH,
      baseSequence: options.baseSequence ?? NO_SEQUENCE,
      partitionLeaderEpoch: options.partitionLeaderEpoch,
    });
    return batch;
  }

  private measureHeaders(headers: ReadonlyArray<RecordHeader>): number {
    const keyLengths = this.headerKeyLengths;
    let size = sizeOfVarint(headers.length);
    for (let i = 0; i < headers.length; i++) {
      const header = headers[i];
      const keyLength = Buffer.byteLength(header.key, 'utf8');
      keyLengths[i] = keyLength;
      size += sizeOfVarint(keyLength) + keyLength;
      const value = header.value;
      size += value === null ? 1 : sizeOfVarint(value.length) + value.length;
    }
    return size;
  }

  private writeHeaders(buf: Buffer, pos: number, headers: ReadonlyArray<RecordHeader>): number {
    const keyLengths = this.headerKeyLengths;
    pos = writeVarint(buf, pos, headers.length);
    for (let i = 0; i < headers.length; i++) {
      const header = headers[i];
      const key = header.key;
      const keyLength = keyLengths[i];
      pos = writeVarint(buf, pos, keyLength);
      // As many UTF-8 bytes as UTF-16 units means every unit is ASCII, which can be stored byte by byte
      // without the string encoder's native call (header keys are short names like "traceparent").
      if (keyLength === key.length && keyLength <= SMALL_ASCII_KEY) {
        for (let j = 0; j < keyLength; j++) buf[pos + j] = key.charCodeAt(j);
        pos += keyLength;
      } else {
        pos += buf.write(key, pos, keyLength, 'utf8');
      }
      pos = writeNullableBytes(buf, pos, header.value);
    }
    return pos;
  }
}

function writeNullableBytes(buf: Buffer, pos: number, bytes: Buffer | null): number {
  if (bytes === null) {
    buf[pos] = 1; // zigzag(-1)
    return pos + 1;
  }
  const length = bytes.length;
  pos = writeVarint(buf, pos, length);
  if (length <= SMALL_COPY) {
    for (let i = 0; i < length; i++) buf[pos + i] = bytes[i];
  } else {
    buf.set(bytes, pos);
  }
  return pos + length;
}
