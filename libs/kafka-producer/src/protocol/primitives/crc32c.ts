/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of RecordBatch v2.
 *
 * Table-driven "slicing": table T[k] holds the CRC of one byte followed by k zero bytes, so a step can
 * fold many input bytes with independent lookups instead of a chain of dependent ones. Sixteen tables
 * (16 KiB of Int32Array, built once at load) and 32-bit word loads measured ~1.5x the throughput of
 * slicing-by-8 with byte loads on Node 20 (bench/record-batch.bench.ts); the CRC runs once per batch
 * over every byte, so it is the largest per-byte cost of encoding. Where the optional `@node-rs/crc32`
 * is installed, large ranges go to its hardware CRC instead (see NATIVE_MIN).
 */

const POLY = 0x82f63b78;

function makeTables(count: number): Int32Array[] {
  const t0 = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[n] = c;
  }
  const tables = [t0];
  for (let k = 1; k < count; k++) {
    const prev = tables[k - 1];
    const t = new Int32Array(256);
    // one more zero byte than T[k-1]: shift the register by a byte and fold the byte that fell out
    for (let n = 0; n < 256; n++) t[n] = (prev[n] >>> 8) ^ t0[prev[n] & 0xff];
    tables.push(t);
  }
  return tables;
}

// Sixteen module constants rather than one flat table: V8 then sees fixed typed arrays in the loop and
// needs no index arithmetic beyond the byte itself.
const [T0, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15] = makeTables(16);

// Word loads read the host's byte order; CRC-32C is defined over bytes in little-endian order, so a
// big-endian host takes the byte-load path throughout.
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// Below this, setting up the word view costs more than it saves.
const WORD_PATH_MIN = 64;

/**
 * `@node-rs/crc32` (napi-rs, prebuilt per platform, SSE4.2 / ARMv8 CRC instructions) is an optional
 * dependency: where it is installed, ranges from this size on go to it. It measured 7-13x the table
 * loop on batches of 16 KiB to 1 MiB (0.6 vs 1.3 us at 1 KiB, where the call's overhead starts to pay),
 * and a batch's CRC runs over every byte once, so with 1 MiB batches it was the largest per-byte cost of
 * encoding. Looked up on the first large checksum, so a process that never encodes never loads it.
 */
const NATIVE_MIN = 1024;

type NativeCrc32c = (input: Buffer, initialState?: number) => number;

/** undefined: not looked up yet; null: not installed (or not the expected API), the JS loop serves. */
let native: NativeCrc32c | null | undefined;

function nativeCrc32c(): NativeCrc32c | null {
  if (native === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const pkg = require('@node-rs/crc32') as { crc32c?: unknown };
      native = typeof pkg.crc32c === 'function' ? (pkg.crc32c as NativeCrc32c) : null;
    } catch {
      native = null;
    }
  }
  return native;
}

/** Test seam: forget the lookup (`false` pretends the package is missing). */
export function resetNativeCrc32c(available = true): void {
  native = available ? undefined : null;
}

/** Whether large checksums go to the native package in this process. */
export function nativeCrc32cLoaded(): boolean {
  return nativeCrc32c() !== null;
}

/**
 * CRC-32C of `buf[start, end)`, as an unsigned 32-bit number.
 *
 * `initial` is the CRC of the bytes before this range (0 for none), so a checksum can be extended piece by
 * piece: `crc32c(b, 0, b.length, crc32c(a)) === crc32c(concat(a, b))`. This is the same convention as
 * `@node-rs/crc32`'s `crc32c(buf, initial)` and Java's `Crc32C`.
 */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length, initial = 0): number {
  if (start < 0 || end > buf.length || start > end) {
    throw new RangeError(`crc32c range [${start}, ${end}) outside a buffer of ${buf.length} bytes`);
  }
  if (end - start >= NATIVE_MIN) {
    const native = nativeCrc32c();
    if (native !== null) {
      // a view, never a copy (the package takes Buffers; every caller of ours passes one)
      const view = Buffer.isBuffer(buf) ? buf.subarray(start, end) : Buffer.from(buf.buffer, buf.byteOffset + start, end - start);
      return native(view, initial) >>> 0;
    }
  }
  return crc32cJs(buf, start, end, initial);
}

/** The table-driven CRC alone (no native path), for tests that compare the two. */
export function crc32cJs(buf: Uint8Array, start = 0, end = buf.length, initial = 0): number {
  const crc = ~initial;
  const folded =
    LITTLE_ENDIAN && end - start >= WORD_PATH_MIN ? foldWords(buf, start, end, crc) : foldBytes(buf, start, end, crc);
  return ~folded >>> 0;
}

/** Slicing-by-16 reading single bytes: any alignment, any byte order. Works on the inverted register. */
function foldBytes(buf: Uint8Array, i: number, end: number, crc: number): number {
  const last16 = end - 16;
  while (i <= last16) {
    // Only the first four bytes meet the 32-bit register; the other twelve go straight to shifted tables.
    const a = crc ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24));
    crc =
      T15[a & 0xff] ^
      T14[(a >>> 8) & 0xff] ^
      T13[(a >>> 16) & 0xff] ^
      T12[a >>> 24] ^
      T11[buf[i + 4]] ^
      T10[buf[i + 5]] ^
      T9[buf[i + 6]] ^
      T8[buf[i + 7]] ^
      T7[buf[i + 8]] ^
      T6[buf[i + 9]] ^
      T5[buf[i + 10]] ^
      T4[buf[i + 11]] ^
      T3[buf[i + 12]] ^
      T2[buf[i + 13]] ^
      T1[buf[i + 14]] ^
      T0[buf[i + 15]];
    i += 16;
  }
  while (i < end) {
    crc = (crc >>> 8) ^ T0[(crc ^ buf[i]) & 0xff];
    i++;
  }
  return crc;
}

/**
 * Slicing-by-16 reading 32-bit little-endian words through an Int32Array view: one load instead of four
 * loads and three shifts per word. The view needs 4-byte alignment, so bytes up to the first aligned
 * address, and the tail after the last whole 16-byte step, go through the byte loop.
 */
function foldWords(buf: Uint8Array, i: number, end: number, crc: number): number {
  while (((buf.byteOffset + i) & 3) !== 0) {
    crc = (crc >>> 8) ^ T0[(crc ^ buf[i]) & 0xff];
    i++;
  }
  const words = new Int32Array(buf.buffer, buf.byteOffset + i, (end - i) >>> 2);
  const steps = words.length & ~3;
  for (let w = 0; w < steps; w += 4) {
    const a = crc ^ words[w];
    const b = words[w + 1];
    const c = words[w + 2];
    const d = words[w + 3];
    crc =
      T15[a & 0xff] ^
      T14[(a >>> 8) & 0xff] ^
      T13[(a >>> 16) & 0xff] ^
      T12[a >>> 24] ^
      T11[b & 0xff] ^
      T10[(b >>> 8) & 0xff] ^
      T9[(b >>> 16) & 0xff] ^
      T8[b >>> 24] ^
      T7[c & 0xff] ^
      T6[(c >>> 8) & 0xff] ^
      T5[(c >>> 16) & 0xff] ^
      T4[c >>> 24] ^
      T3[d & 0xff] ^
      T2[(d >>> 8) & 0xff] ^
      T1[(d >>> 16) & 0xff] ^
      T0[d >>> 24];
  }
  return foldBytes(buf, i + steps * 4, end, crc);
}
