import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { CompressionFormatError } from './errors';
import { lz4Package } from './packages';
import { xxhash32 } from './xxhash32';

/**
 * Kafka's lz4: the LZ4 *frame* format (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md), as
 * Kafka's Lz4BlockOutputStream writes it:
 *
 *   magic 0x184D2204 (LE) | FLG 0x60 | BD 0x40 | HC | blocks... | 0x00000000 end mark
 *
 * FLG 0x60 = version 01, independent blocks, no block checksum, no content size, no content checksum; BD 0x40
 * = 64 KiB maximum block; HC = second byte of xxHash32(FLG, BD). Each block is a little-endian int32 size and
 * the bytes; the size's top bit marks a block stored uncompressed, which Kafka writes whenever compression
 * does not make a block smaller (and so do we).
 *
 * Levels follow Kafka's Lz4BlockOutputStream: the default level 9 uses LZ4's *fast* compressor (lz4-java's
 * fastCompressor, here `lz4-napi`: lz4_flex in native code); any other level uses the high-compression (HC)
 * compressor at that level (lz4-java's highCompressor(level), here a hash-chain compressor in TypeScript,
 * with LZ4HC's search depths for 1..9 and deeper searches above). The frame is written here in every case,
 * so its exact shape never depends on a package.
 */

export const LZ4_MIN_LEVEL = 1;
export const LZ4_MAX_LEVEL = 17;
export const LZ4_DEFAULT_LEVEL = 9;

const MAGIC = 0x184d2204;
const FLG = 0x60;
const BD = 0x40;
export const LZ4_BLOCK_SIZE = 64 * 1024;
const HEADER_SIZE = 7;
const END_MARK_SIZE = 4;
const UNCOMPRESSED_FLAG = 0x80000000;
/** The header checksum of our fixed descriptor. */
const HEADER_CHECKSUM = (xxhash32(Uint8Array.of(FLG, BD)) >>> 8) & 0xff;

// LZ4 block format constants (lz4_Block_format.md): a match is at least 4 bytes; the last 5 bytes of a block
// are always literals; the last match starts at least 12 bytes before the end.
const MIN_MATCH = 4;
const LAST_LITERALS = 5;
const MF_LIMIT = 12;
const MAX_DISTANCE = 65535;

/** Worst case of a compressed block (LZ4_compressBound). */
function blockBound(length: number): number {
  return length + Math.floor(length / 255) + 16;
}

function writeFrameHeader(out: Buffer, at: number): number {
  out.writeUInt32LE(MAGIC, at);
  out[at + 4] = FLG;
  out[at + 5] = BD;
  out[at + 6] = HEADER_CHECKSUM;
  return at + HEADER_SIZE;
}

/**
 * The compressed form of each 64 KiB block, or null where the block goes in uncompressed. `data` may be a
 * view into a larger buffer (a package's output with its size prefix).
 */
type BlockOutput = Buffer | null;

function assemble(input: Buffer, blocks: readonly BlockOutput[], headroom: number): Buffer {
  let size = headroom + HEADER_SIZE + END_MARK_SIZE;
  for (let i = 0; i < blocks.length; i++) {
    const block = blocks[i];
    size += 4 + (block === null ? Math.min(LZ4_BLOCK_SIZE, input.length - i * LZ4_BLOCK_SIZE) : block.length);
  }
  const out = Buffer.allocUnsafe(size);
  let at = writeFrameHeader(out, headroom);
  for (let i = 0; i < blocks.length; i++) {
    const block = blocks[i];
    if (block === null) {
      const start = i * LZ4_BLOCK_SIZE;
      const end = Math.min(start + LZ4_BLOCK_SIZE, input.length);
      out.writeUInt32LE((end - start + UNCOMPRESSED_FLAG) >>> 0, at);
      at += 4;
      at += input.copy(out, at, start, end);
    } else {
      out.writeUInt32LE(block.length, at);
      at += 4;
      at += block.copy(out, at);
    }
  }
  out.writeUInt32LE(0, at);
  return out;
}

function blockCount(length: number): number {
  return Math.ceil(length / LZ4_BLOCK_SIZE);
}

/** Keeps a compressed block only if it is smaller than the input block, as Kafka does. */
function keepIfSmaller(compressed: Buffer, rawLength: number): BlockOutput {
  return compressed.length < rawLength ? compressed : null;
}

/** lz4-napi's `compress` output: a 4-byte little-endian uncompressed size, then a standard LZ4 block. */
function withoutSizePrefix(prefixed: Buffer): Buffer {
  return prefixed.subarray(4);
}

/** An LZ4 frame of `input`, behind `headroom` bytes left for the caller (the batch header). */
export function lz4CompressSync(input: Buffer, level: number, headroom = 0): Buffer {
  const n = blockCount(input.length);
  const blocks: BlockOutput[] = new Array(n);
  if (level === LZ4_DEFAULT_LEVEL) {
    const lz4 = lz4Package();
    for (let i = 0; i < n; i++) {
      const block = input.subarray(i * LZ4_BLOCK_SIZE, Math.min((i + 1) * LZ4_BLOCK_SIZE, input.length));
      blocks[i] = keepIfSmaller(withoutSizePrefix(lz4.compressSync(block)), block.length);
    }
  } else {
    const hc = hcCompressor(level);
    for (let i = 0; i < n; i++) blocks[i] = hc.block(input, i * LZ4_BLOCK_SIZE, Math.min((i + 1) * LZ4_BLOCK_SIZE, input.length));
  }
  return assemble(input, blocks, headroom);
}

/**
 * Same bytes as lz4CompressSync. The fast level runs the blocks on libuv's thread pool (in parallel); the HC
 * levels run in JavaScript, one 64 KiB block per macrotask, so other work interleaves between blocks.
 * `input` must not change until the promise settles.
 */
export async function lz4Compress(input: Buffer, level: number, headroom = 0): Promise<Buffer> {
  const n = blockCount(input.length);
  if (level === LZ4_DEFAULT_LEVEL) {
    const lz4 = lz4Package();
    const pending: Array<Promise<BlockOutput>> = new Array(n);
    for (let i = 0; i < n; i++) {
      const block = input.subarray(i * LZ4_BLOCK_SIZE, Math.min((i + 1) * LZ4_BLOCK_SIZE, input.length));
      pending[i] = lz4.compress(block).then((out) => keepIfSmaller(withoutSizePrefix(out), block.length));
    }
    return assemble(input, await Promise.all(pending), headroom);
  }
  const hc = hcCompressor(level);
  const blocks: BlockOutput[] = new Array(n);
  for (let i = 0; i < n; i++) {
    if (i > 0) await nextMacrotask();
    blocks[i] = hc.block(input, i * LZ4_BLOCK_SIZE, Math.min((i + 1) * LZ4_BLOCK_SIZE, input.length));
  }
  return assemble(input, blocks, headroom);
}

// ---------------------------------------------------------------------------------------------------------
// HC compressor: greedy parsing over hash chains (as LZ4HC's "hashChain" strategy), with lazy matching from
// level 3 on (one step, two from level 6). Search depth per level as LZ4HC's table for 1..9; 10..12 use LZ4's optimal
// parser in C, approximated here by deeper chains; 13..17 are clamped to 12 by LZ4 itself.

const HASH_LOG = 15;

function searchDepth(level: number): number {
  if (level <= 2) return 2;
  if (level <= 9) return 1 << (level - 1);
  if (level === 10) return 512;
  if (level === 11) return 1024;
  return 4096;
}

function read32(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
}

function hash4(b: Uint8Array, i: number): number {
  return Math.imul(read32(b, i), 2654435761) >>> (32 - HASH_LOG);
}

// One compressor per level, reused: its tables (~400 KB) would otherwise be allocated and zeroed per batch.
// Sharing is safe because a block is compressed in one synchronous call and no state survives between blocks
// (the hash heads are reset per block), so async callers interleaving between blocks do not interfere.
const hcCompressors = new Map<number, HcCompressor>();

function hcCompressor(level: number): HcCompressor {
  let hc = hcCompressors.get(level);
  if (hc === undefined) {
    hc = new HcCompressor(level);
    hcCompressors.set(level, hc);
  }
  return hc;
}

class HcCompressor {
  private readonly head = new Int32Array(1 << HASH_LOG);
  private readonly chain = new Int32Array(LZ4_BLOCK_SIZE);
  private readonly scratch = Buffer.allocUnsafe(blockBound(LZ4_BLOCK_SIZE));
  private readonly depth: number;
  private readonly lazySteps: number;
  // result of the last find(): length and position of the best match
  private matchLength = 0;
  private matchPos = 0;

  constructor(level: number) {
    this.depth = searchDepth(level);
    this.lazySteps = level <= 2 ? 0 : level < 6 ? 1 : 2;
  }

  /** Compresses src[start, end) (at most 64 KiB) as one independent block; null when it does not shrink. */
  block(src: Buffer, start: number, end: number): BlockOutput {
    const length = end - start;
    const dst = this.scratch;
    let op = 0;
    let anchor = start;
    if (length > MF_LIMIT) {
      this.head.fill(-1);
      const mfLimit = end - MF_LIMIT;
      const matchLimit = end - LAST_LITERALS;
      let ip = start;
      let nextInsert = start;
      while (ip <= mfLimit) {
        nextInsert = this.insertUpTo(src, start, nextInsert, ip);
        this.find(src, start, ip, matchLimit);
        let len = this.matchLength;
        if (len < MIN_MATCH) {
          ip++;
          continue;
        }
        let pos = this.matchPos;
        // Lazy matching: while the next position starts a longer match, emit this byte as a literal instead.
        for (let step = 0; step < this.lazySteps && ip + 1 <= mfLimit && ip + len < matchLimit; step++) {
          nextInsert = this.insertUpTo(src, start, nextInsert, ip + 1);
          this.find(src, start, ip + 1, matchLimit);
          if (this.matchLength <= len) break;
          ip++;
          len = this.matchLength;
          pos = this.matchPos;
        }
        op = writeSequence(dst, op, src, anchor, ip, ip - pos, len);
        ip += len;
        anchor = ip;
      }
    }
    op = writeLastLiterals(dst, op, src, anchor, end);
    return op < length ? Buffer.from(dst.subarray(0, op)) : null;
  }

  /** Adds positions [from, to] to the hash chains; returns the next position to add. */
  private insertUpTo(src: Buffer, start: number, from: number, to: number): number {
    const head = this.head;
    const chain = this.chain;
    for (let p = from; p <= to; p++) {
      const h = hash4(src, p);
      chain[p - start] = head[h];
      head[h] = p;
    }
    return to + 1;
  }

  private find(src: Buffer, start: number, ip: number, matchLimit: number): void {
    const chain = this.chain;
    const first = read32(src, ip);
    let best = 0;
    let bestPos = 0;
    let attempts = this.depth;
    // The chain starts at ip itself (just inserted): step to the previous occurrence first.
    let c = chain[ip - start];
    while (c >= start && ip - c <= MAX_DISTANCE && attempts-- > 0) {
      // Cheap rejection: a candidate can only beat `best` if it also matches at offset `best`.
      if (src[c + best] === src[ip + best] && read32(src, c) === first) {
        let len = MIN_MATCH;
        while (ip + len < matchLimit && src[c + len] === src[ip + len]) len++;
        if (len > best) {
          best = len;
          bestPos = c;
          if (ip + len >= matchLimit) break;
        }
      }
      c = chain[c - start];
    }
    this.matchLength = best;
    this.matchPos = bestPos;
  }
}

function writeLength(dst: Buffer, op: number, rest: number): number {
  while (rest >= 255) {
    dst[op++] = 255;
    rest -= 255;
  }
  dst[op++] = rest;
  return op;
}

function copyBytes(dst: Buffer, op: number, src: Buffer, from: number, to: number): number {
  const n = to - from;
  if (n <= 16) {
    for (let i = 0; i < n; i++) dst[op + i] = src[from + i];
  } else {
    src.copy(dst, op, from, to);
  }
  return op + n;
}

function writeSequence(dst: Buffer, op: number, src: Buffer, anchor: number, ip: number, offset: number, matchLength: number): number {
  const literals = ip - anchor;
  const ml = matchLength - MIN_MATCH;
  const tokenAt = op++;
  let token = 0;
  if (literals >= 15) {
    token = 0xf0;
    op = writeLength(dst, op, literals - 15);
  } else {
    token = literals << 4;
  }
  op = copyBytes(dst, op, src, anchor, ip);
  dst[op++] = offset & 0xff;
  dst[op++] = offset >>> 8;
  if (ml >= 15) {
    token |= 0x0f;
    op = writeLength(dst, op, ml - 15);
  } else {
    token |= ml;
  }
  dst[tokenAt] = token;
  return op;
}

function writeLastLiterals(dst: Buffer, op: number, src: Buffer, anchor: number, end: number): number {
  const literals = end - anchor;
  if (literals >= 15) {
    dst[op++] = 0xf0;
    op = writeLength(dst, op, literals - 15);
  } else {
    dst[op++] = literals << 4;
  }
  return copyBytes(dst, op, src, anchor, end);
}

// ---------------------------------------------------------------------------------------------------------
// Decompression: any valid LZ4 frame (Kafka's, or one with content size, block or content checksums, linked
// blocks or larger block sizes), in TypeScript. Checksums other than the header's are skipped, as Kafka's
// Lz4BlockInputStream does.

function fail(message: string): never {
  throw new CompressionFormatError(`lz4: ${message}`);
}

interface FrameLayout {
  /** Offset of the first block size. */
  blocksAt: number;
  independent: boolean;
  blockChecksum: boolean;
  maxBlockSize: number;
  /** Upper bound of the decompressed size. */
  bound: number;
}

function readFrameLayout(input: Buffer): FrameLayout {
  if (input.length < HEADER_SIZE) fail(`${input.length} bytes is shorter than a frame header`);
  const magic = input.readUInt32LE(0);
  if (magic !== MAGIC) fail(`not an LZ4 frame (magic 0x${magic.toString(16).padStart(8, '0')})`);
  const flg = input[4];
  const bd = input[5];
  if (flg >>> 6 !== 1) fail(`unsupported frame version ${flg >>> 6}`);
  if ((flg & 0x02) !== 0 || (bd & 0x8f) !== 0) fail('reserved bits set in the frame descriptor');
  if ((flg & 0x01) !== 0) fail('frames with a dictionary id are not supported');
  const blockSizeId = (bd >>> 4) & 0x07;
  if (blockSizeId < 4) fail(`invalid block maximum size id ${blockSizeId}`);
  const maxBlockSize = 1 << (8 + 2 * blockSizeId);
  let at = 6;
  if ((flg & 0x08) !== 0) at += 8; // content size: not needed, the bound below is exact enough
  if (input.length < at + 1) fail('truncated frame descriptor');
  const checksum = (xxhash32(input, 4, at) >>> 8) & 0xff;
  if (input[at] !== checksum) fail(`frame descriptor checksum mismatch (stored ${input[at]}, computed ${checksum})`);
  at++;
  const blocksAt = at;
  const blockChecksum = (flg & 0x10) !== 0;
  // First pass over the block sizes: validates the framing and bounds the output, so decompression writes
  // into one buffer. A compressed block of n bytes decodes to at most ~255 n bytes (each length byte adds
  // at most 255), which keeps a hostile frame of tiny blocks from claiming 64 KiB each.
  let bound = 0;
  for (;;) {
    if (at + 4 > input.length) fail('truncated frame: missing end mark');
    const word = input.readUInt32LE(at);
    at += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    if (size > maxBlockSize) fail(`block of ${size} bytes exceeds the frame's maximum ${maxBlockSize}`);
    bound += (word & UNCOMPRESSED_FLAG) !== 0 ? size : Math.min(maxBlockSize, size * 255 + 32);
    at += size + (blockChecksum ? 4 : 0);
  }
  if ((flg & 0x04) !== 0) at += 4;
  if (at !== input.length) fail(at > input.length ? 'truncated frame' : `${input.length - at} bytes after the end of the frame`);
  return { blocksAt, independent: (flg & 0x20) !== 0, blockChecksum, maxBlockSize, bound };
}

export function lz4Decompress(input: Buffer): Buffer {
  const frame = readFrameLayout(input);
  const out = Buffer.allocUnsafe(frame.bound);
  let at = frame.blocksAt;
  let d = 0;
  for (;;) {
    const word = input.readUInt32LE(at);
    at += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    if ((word & UNCOMPRESSED_FLAG) !== 0) {
      d += input.copy(out, d, at, at + size);
    } else {
      const limit = Math.min(out.length, d + frame.maxBlockSize);
      d = decompressBlock(input, at, at + size, out, d, limit, frame.independent ? d : 0);
    }
    at += size + (frame.blockChecksum ? 4 : 0);
  }
  return out.subarray(0, d);
}

/**
 * Decodes one LZ4 block src[s, sEnd) into dst from d, never past dEnd; matches may reach back to
 * `windowStart` (the block's own start for independent blocks). Returns the end of the output.
 */
export function decompressBlock(src: Uint8Array, s: number, sEnd: number, dst: Uint8Array, d: number, dEnd: number, windowStart: number): number {
  for (;;) {
    if (s >= sEnd) fail('truncated block');
    const token = src[s++];
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (s >= sEnd) fail('truncated literal length');
        b = src[s++];
        literals += b;
      } while (b === 255);
    }
    if (s + literals > sEnd) fail('literals run past the end of the block');
    if (d + literals > dEnd) fail('literals overflow the block size');
    if (literals <= 16) {
      for (let i = 0; i < literals; i++) dst[d + i] = src[s + i];
    } else {
      dst.set(src.subarray(s, s + literals), d);
    }
    s += literals;
    d += literals;
    if (s === sEnd) return d; // the last sequence has literals only
    if (s + 2 > sEnd) fail('truncated match offset');
    const offset = src[s] | (src[s + 1] << 8);
    s += 2;
    if (offset === 0 || d - offset < windowStart) fail(`match offset ${offset} reaches before the window`);
    let length = token & 0x0f;
    if (length === 15) {
      let b: number;
      do {
        if (s >= sEnd) fail('truncated match length');
        b = src[s++];
        length += b;
      } while (b === 255);
    }
    length += MIN_MATCH;
    if (d + length > dEnd) fail('match overflows the block size');
    const m = d - offset;
    if (offset >= length && length > 32) {
      dst.copyWithin(d, m, m + length);
    } else {
      // overlapping (offset < length) repeats bytes just written: copy forward one byte at a time
      for (let i = 0; i < length; i++) dst[d + i] = dst[m + i];
    }
    d += length;
  }
}
