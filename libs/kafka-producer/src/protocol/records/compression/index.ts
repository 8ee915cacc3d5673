import { InvalidArgumentError } from '../../../errors';
import { CompressionCodec, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE, RECORD_BATCH_OVERHEAD, writeRecordBatchHeader } from '../record-batch';
import type { RecordBatchBuilder, RecordBatchCloseOptions } from '../record-batch-builder';
import { GZIP_DEFAULT_LEVEL, GZIP_MAX_LEVEL, GZIP_MIN_LEVEL, gzipCompress, gzipCompressSync, gzipDecompress } from './gzip';
import { LZ4_DEFAULT_LEVEL, LZ4_MAX_LEVEL, LZ4_MIN_LEVEL, lz4Compress, lz4CompressSync, lz4Decompress } from './lz4';
import { snappyCompress, snappyCompressSync, snappyDecompress } from './snappy';
import { ZSTD_DEFAULT_LEVEL, ZSTD_MAX_LEVEL, ZSTD_MIN_LEVEL, zstdCompress, zstdCompressSync, zstdDecompress } from './zstd';

/**
 * Record compression for RecordBatch v2: the five codecs of Kafka's `compression.type`, in the byte formats
 * the Java producer writes (see each codec's module), with Kafka 4.x's levels.
 *
 * Codec packages (snappy, lz4, zstd) are loaded on first use; gzip is node:zlib. A package that cannot be
 * loaded fails that codec with CompressionCodecUnavailableError naming the package.
 */

export { CompressionCodec } from '../record-batch';
export { CompressionCodecUnavailableError, CompressionFormatError } from './errors';
export { CompressionRatioEstimator, COMPRESSION_RATE_ESTIMATION_FACTOR } from './ratio-estimator';

export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export const COMPRESSION_NAMES: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** `compression.type` name → codec id in attribute bits 0-2. */
export const COMPRESSION_CODEC_BY_NAME: Readonly<Record<CompressionName, CompressionCodec>> = {
  none: CompressionCodec.None,
  gzip: CompressionCodec.Gzip,
  snappy: CompressionCodec.Snappy,
  lz4: CompressionCodec.Lz4,
  zstd: CompressionCodec.Zstd,
};

/** A codec by name or by id. */
export type CompressionCodecLike = CompressionName | CompressionCodec;

export function toCompressionCodec(codec: CompressionCodecLike): CompressionCodec {
  if (typeof codec === 'number') {
    if (Number.isInteger(codec) && codec >= CompressionCodec.None && codec <= CompressionCodec.Zstd) return codec;
  } else if (Object.prototype.hasOwnProperty.call(COMPRESSION_CODEC_BY_NAME, codec)) {
    return COMPRESSION_CODEC_BY_NAME[codec];
  }
  throw new InvalidArgumentError(`unknown compression codec ${JSON.stringify(codec)}; expected one of ${COMPRESSION_NAMES.join(', ')}`);
}

export function toCompressionName(codec: CompressionCodecLike): CompressionName {
  return COMPRESSION_NAMES[toCompressionCodec(codec)];
}

export interface CompressionLevelRange {
  readonly min: number;
  readonly max: number;
  readonly default: number;
}

/**
 * Kafka 4.x levels (`compression.gzip.level`, `compression.lz4.level`, `compression.zstd.level`). gzip also
 * takes -1, its default, meaning zlib's default (6). none and snappy have no level.
 */
export const COMPRESSION_LEVELS: Readonly<Partial<Record<CompressionName, CompressionLevelRange>>> = {
  gzip: { min: GZIP_MIN_LEVEL, max: GZIP_MAX_LEVEL, default: GZIP_DEFAULT_LEVEL },
  lz4: { min: LZ4_MIN_LEVEL, max: LZ4_MAX_LEVEL, default: LZ4_DEFAULT_LEVEL },
  zstd: { min: ZSTD_MIN_LEVEL, max: ZSTD_MAX_LEVEL, default: ZSTD_DEFAULT_LEVEL },
};

/**
 * The level to use: the codec's default when `level` is undefined, else `level` after checking it against
 * Kafka's range. none and snappy ignore any level (0 is returned), so a producer may pass its configured
 * level whatever the codec.
 */
export function resolveCompressionLevel(codec: CompressionCodecLike, level?: number): number {
  const name = toCompressionName(codec);
  const range = COMPRESSION_LEVELS[name];
  if (range === undefined) return 0;
  if (level === undefined) return range.default;
  const ok = Number.isInteger(level) && ((level >= range.min && level <= range.max) || (name === 'gzip' && level === GZIP_DEFAULT_LEVEL));
  if (!ok) {
    const extra = name === 'gzip' ? ` or ${GZIP_DEFAULT_LEVEL} (default)` : '';
    throw new InvalidArgumentError(`${name} compression level must be an integer in ${range.min}..${range.max}${extra}, got ${level}`);
  }
  return level;
}

/**
 * Inputs from this size on are compressed off the event loop by `compressRecords` / `compressBatchAsync`;
 * smaller ones are compressed synchronously. A thread-pool round trip (dispatch, wake-up, promise) costs
 * tens of microseconds, which for a small input is as much as the compression itself: measured on 16 KiB of
 * JSON-like records, the pool path ran at 0.3x (lz4), 0.5x (gzip 1), 0.7x (zstd 3) and 1x (gzip 6, snappy)
 * the speed of the synchronous call (compression.bench.ts). Each threshold is about the input that the codec
 * compresses in 0.2-0.5 ms on the event loop at its default level (gzip ~80-100 MB/s, zstd ~300 MB/s, snappy
 * ~250-400 MB/s, lz4 ~400-800 MB/s there): from that size a stall would be several times the round trip.
 * lz4 levels other than the default and zstd levels from 12 run in JavaScript / WebAssembly on the loop
 * whichever path is taken (the async lz4 HC path yields between 64 KiB blocks).
 */
export const ASYNC_COMPRESSION_THRESHOLD: Readonly<Record<Exclude<CompressionName, 'none'>, number>> = {
  gzip: 16 * 1024,
  snappy: 128 * 1024,
  lz4: 128 * 1024,
  zstd: 64 * 1024,
};

/**
 * Compresses plain records (a batch's bytes after its 61-byte header) with `codec`. The result starts with
 * `headroom` bytes left unwritten, for a caller that puts a header in front without another copy.
 */
export function compressRecordsSync(codec: CompressionCodecLike, input: Buffer, level?: number, headroom = 0): Buffer {
  const id = toCompressionCodec(codec);
  const lvl = resolveCompressionLevel(id, level);
  switch (id) {
    case CompressionCodec.None:
      if (headroom === 0) return input;
      return copyWithHeadroom(input, headroom);
    case CompressionCodec.Gzip:
      return gzipCompressSync(input, lvl, headroom);
    case CompressionCodec.Snappy:
      return snappyCompressSync(input, headroom);
    case CompressionCodec.Lz4:
      return lz4CompressSync(input, lvl, headroom);
    case CompressionCodec.Zstd:
      return zstdCompressSync(input, lvl, headroom);
  }
}

/**
 * Same bytes as compressRecordsSync. Inputs of ASYNC_COMPRESSION_THRESHOLD bytes or more are compressed on
 * libuv's thread pool; `input` must then stay unchanged until the promise settles. Errors (bad level,
 * missing package) reject the promise rather than throw.
 */
export async function compressRecords(codec: CompressionCodecLike, input: Buffer, level?: number, headroom = 0): Promise<Buffer> {
  const id = toCompressionCodec(codec);
  const lvl = resolveCompressionLevel(id, level);
  if (id === CompressionCodec.None || input.length < ASYNC_COMPRESSION_THRESHOLD[COMPRESSION_NAMES[id] as Exclude<CompressionName, 'none'>]) {
    return compressRecordsSync(id, input, lvl, headroom);
  }
  switch (id) {
    case CompressionCodec.Gzip:
      return gzipCompress(input, lvl, headroom);
    case CompressionCodec.Snappy:
      return snappyCompress(input, headroom);
    case CompressionCodec.Lz4:
      return lz4Compress(input, lvl, headroom);
    case CompressionCodec.Zstd:
      return zstdCompress(input, lvl, headroom);
  }
}

/**
 * Decompresses a compressed record stream: the `decompress` parameter of decodeRecordBatch(es) and of the
 * accumulator's split. Reads what Java writes and what we write, plus the variants Java's readers accept
 * (raw snappy without xerial framing, LZ4 frames with checksums or content size, concatenated frames).
 */
export function decompressRecords(codec: CompressionCodec, input: Buffer): Buffer {
  switch (toCompressionCodec(codec)) {
    case CompressionCodec.None:
      return input;
    case CompressionCodec.Gzip:
      return gzipDecompress(input);
    case CompressionCodec.Snappy:
      return snappyDecompress(input);
    case CompressionCodec.Lz4:
      return lz4Decompress(input);
    case CompressionCodec.Zstd:
      return zstdDecompress(input);
  }
}

function copyWithHeadroom(input: Buffer, headroom: number): Buffer {
  const out = Buffer.allocUnsafe(headroom + input.length);
  input.copy(out, headroom);
  return out;
}

/**
 * Closes a batch with compression: compresses the builder's plain records into a new buffer behind 61
 * reserved bytes and writes the header there (codec id in the attributes, the builder's counts and
 * timestamps, CRC over the compressed bytes). The codec is written even when compression did not make the
 * records smaller, as the Java producer does. With codec none this is the builder's own close().
 *
 * The builder is left as it is (not closed, its buffer untouched): the caller stops appending to it (a
 * ProducerBatch does so by its state) and may reuse or release its buffer as soon as this returns. An empty
 * builder gives an empty buffer, as close() does.
 */
export function compressBatch(
  builder: RecordBatchBuilder,
  codec: CompressionCodecLike,
  level?: number,
  options: RecordBatchCloseOptions = {},
): Buffer {
  const id = toCompressionCodec(codec);
  if (id === CompressionCodec.None) return builder.close(options);
  if (builder.recordCount === 0) return Buffer.alloc(0);
  const batch = compressRecordsSync(id, builder.uncompressedRecords(), level, RECORD_BATCH_OVERHEAD);
  writeHeader(batch, builder, id, options);
  return batch;
}

/**
 * compressBatch with the compression off the event loop for big batches (see compressRecords). The builder's
 * buffer must not be reused or released until the promise settles; the builder's counts are read when this
 * is called.
 */
export async function compressBatchAsync(
  builder: RecordBatchBuilder,
  codec: CompressionCodecLike,
  level?: number,
  options: RecordBatchCloseOptions = {},
): Promise<Buffer> {
  const id = toCompressionCodec(codec);
  if (id === CompressionCodec.None) return builder.close(options);
  if (builder.recordCount === 0) return Buffer.alloc(0);
  const fields = headerFields(builder, id, options);
  const batch = await compressRecords(id, builder.uncompressedRecords(), level, RECORD_BATCH_OVERHEAD);
  writeRecordBatchHeader(batch, fields);
  return batch;
}

function headerFields(builder: RecordBatchBuilder, codec: CompressionCodec, options: RecordBatchCloseOptions) {
  return {
    recordCount: builder.recordCount,
    lastOffsetDelta: builder.lastOffsetDelta,
    baseTimestamp: builder.baseTimestamp,
    maxTimestamp: builder.maxTimestamp,
    compression: codec,
    isTransactional: options.isTransactional ?? false,
    producerId: options.producerId ?? NO_PRODUCER_ID,
    producerEpoch: options.producerEpoch ?? NO_PRODUCER_EPOCH,
    baseSequence: options.baseSequence ?? NO_SEQUENCE,
    partitionLeaderEpoch: options.partitionLeaderEpoch,
  };
}

function writeHeader(batch: Buffer, builder: RecordBatchBuilder, codec: CompressionCodec, options: RecordBatchCloseOptions): void {
  writeRecordBatchHeader(batch, headerFields(builder, codec, options));
}
