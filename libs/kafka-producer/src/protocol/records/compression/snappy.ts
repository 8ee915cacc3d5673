import { CompressionFormatError } from './errors';
import { snappyPackage } from './packages';

/**
 * Kafka's snappy: the framing of xerial snappy-java's SnappyOutputStream, which is what the Java producer
 * writes (SnappyCompression.wrapForOutput):
 *
 *   82 'S' 'N' 'A' 'P' 'P' 'Y' 00 | int32 version 1 | int32 compatible version 1 | blocks...
 *
 * and each block is a big-endian int32 length followed by one raw snappy block of up to 32 KiB of input
 * (SnappyOutputStream's default block size). This is neither Google's snappy "framing format" nor a bare
 * raw block, though the reader (xerial's SnappyInputStream, used by the broker and the Java consumer)
 * also accepts a whole stream that is one raw block without the header; our decoder reads both too.
 * The raw blocks come from `snappy` (napi-rs over the Rust snap crate).
 */

export const SNAPPY_BLOCK_SIZE = 32 * 1024;
const MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const VERSION = 1;
const MIN_COMPATIBLE_VERSION = 1;
const HEADER_SIZE = MAGIC.length + 8;

function assemble(blocks: readonly Buffer[], headroom: number): Buffer {
  let size = headroom + HEADER_SIZE;
  for (const block of blocks) size += 4 + block.length;
  const out = Buffer.allocUnsafe(size);
  let at = headroom + MAGIC.copy(out, headroom);
  out.writeInt32BE(VERSION, at);
  out.writeInt32BE(MIN_COMPATIBLE_VERSION, at + 4);
  at += 8;
  for (const block of blocks) {
    out.writeInt32BE(block.length, at);
    at += 4 + block.copy(out, at + 4);
  }
  return out;
}

function blockOf(input: Buffer, i: number): Buffer {
  return input.subarray(i * SNAPPY_BLOCK_SIZE, Math.min((i + 1) * SNAPPY_BLOCK_SIZE, input.length));
}

export function snappyCompressSync(input: Buffer, headroom = 0): Buffer {
  const snappy = snappyPackage();
  const n = Math.ceil(input.length / SNAPPY_BLOCK_SIZE);
  const blocks: Buffer[] = new Array(n);
  for (let i = 0; i < n; i++) blocks[i] = snappy.compressSync(blockOf(input, i));
  return assemble(blocks, headroom);
}

/** Same bytes as snappyCompressSync; the blocks are compressed on libuv's thread pool, in parallel. */
export async function snappyCompress(input: Buffer, headroom = 0): Promise<Buffer> {
  const snappy = snappyPackage();
  const n = Math.ceil(input.length / SNAPPY_BLOCK_SIZE);
  const pending: Array<Promise<Buffer>> = new Array(n);
  for (let i = 0; i < n; i++) pending[i] = snappy.compress(blockOf(input, i));
  return assemble(await Promise.all(pending), headroom);
}

function isXerial(input: Buffer): boolean {
  return input.length >= MAGIC.length && input.compare(MAGIC, 0, MAGIC.length, 0, MAGIC.length) === 0;
}

/**
 * A raw block starts with its uncompressed length (a varint) and snap allocates that much before reading
 * on, so a six-byte block can claim 4 GiB. No snappy element expands more than 64/3 (a 3-byte copy of 64
 * bytes), so a claim beyond that ratio of the block is refused before the native call.
 */
function checkDeclaredLength(block: Buffer): void {
  let declared = 0;
  for (let i = 0, shift = 1; i < Math.min(block.length, 5); i++, shift *= 128) {
    declared += (block[i] & 0x7f) * shift;
    if ((block[i] & 0x80) === 0) break;
  }
  if (declared > Math.ceil((block.length * 64) / 3)) {
    throw new CompressionFormatError(`snappy: block of ${block.length} bytes claims ${declared} uncompressed bytes`);
  }
}

function uncompressBlock(block: Buffer): Buffer {
  checkDeclaredLength(block);
  const out = snappyPackage().uncompressSync(block, { asBuffer: true });
  return typeof out === 'string' ? Buffer.from(out) : out;
}

/** Reads xerial framing (one or more concatenated streams) or, without the magic, one raw snappy block. */
export function snappyDecompress(input: Buffer): Buffer {
  if (input.length === 0) return Buffer.alloc(0);
  if (!isXerial(input)) return uncompressBlock(input);
  const parts: Buffer[] = [];
  let at = 0;
  while (at < input.length) {
    // A header may start any block position (xerial reads concatenated streams the same way).
    if (input.length - at >= MAGIC.length && input.compare(MAGIC, 0, MAGIC.length, at, at + MAGIC.length) === 0) {
      if (input.length - at < HEADER_SIZE) throw new CompressionFormatError('snappy: truncated xerial header');
      const compatible = input.readInt32BE(at + MAGIC.length + 4);
      if (compatible > VERSION) {
        throw new CompressionFormatError(`snappy: xerial stream needs version ${compatible}, this reader has ${VERSION}`);
      }
      at += HEADER_SIZE;
      continue;
    }
    if (input.length - at < 4) throw new CompressionFormatError('snappy: truncated block length');
    const length = input.readInt32BE(at);
    at += 4;
    if (length < 0 || length > input.length - at) {
      throw new CompressionFormatError(`snappy: block of ${length} bytes but ${input.length - at} bytes are left`);
    }
    parts.push(uncompressBlock(input.subarray(at, at + length)));
    at += length;
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}
