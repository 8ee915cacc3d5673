import { zstdPackage, ZstdDecoder, ZstdEncoder, ZstdPackage, zstdWasmPackage } from './packages';

/**
 * Kafka's zstd: standard zstd frames (RFC 8878), as zstd-jni's ZstdOutputStream writes them; levels
 * -131072..22 (Kafka's compression.zstd.level), default 3.
 *
 * Two builds of libzstd, chosen by level:
 * - up to level 11: `@toondepauw/node-zstd` (napi-rs over libzstd 1.5.7, prebuilt per platform), with a
 *   synchronous call and an asynchronous one on libuv's thread pool; about twice the speed of WebAssembly.
 * - level 12 and above: `@bokuweb/zstd-wasm` (libzstd in WebAssembly, synchronous only). node-zstd streams
 *   its input without telling zstd the size, so zstd sizes its tables for an unbounded input: from level 12
 *   on that means tens of MB of tables allocated and cleared per call (150 ms to 2 s for a 16 KiB batch,
 *   measured). ZSTD_compress, which the WebAssembly build calls, knows the size and scales them down.
 * Both load lazily, each on its first use. Decompression is always node-zstd.
 */

export const ZSTD_MIN_LEVEL = -131072;
export const ZSTD_MAX_LEVEL = 22;
export const ZSTD_DEFAULT_LEVEL = 3;
/** From this level on compression goes through WebAssembly (see above). */
export const ZSTD_WASM_FROM_LEVEL = 12;

// An Encoder holds only its level (each call makes its own zstd context), so one per level can be shared by
// any number of concurrent calls.
const encoders = new Map<number, ZstdEncoder>();
let decoder: ZstdDecoder | null = null;
// The package the cached objects came from (a test may swap the loader).
let cachedFrom: ZstdPackage | null = null;

function zstd(): ZstdPackage {
  const pkg = zstdPackage();
  if (pkg !== cachedFrom) {
    encoders.clear();
    decoder = null;
    cachedFrom = pkg;
  }
  return pkg;
}

function encoder(level: number): ZstdEncoder {
  const pkg = zstd();
  let e = encoders.get(level);
  if (e === undefined) {
    e = new pkg.Encoder(level);
    encoders.set(level, e);
  }
  return e;
}

function withHeadroom(compressed: Uint8Array, headroom: number): Buffer {
  if (headroom === 0) {
    return Buffer.isBuffer(compressed) ? compressed : Buffer.from(compressed.buffer, compressed.byteOffset, compressed.byteLength);
  }
  const out = Buffer.allocUnsafe(headroom + compressed.length);
  out.set(compressed, headroom);
  return out;
}

export function zstdCompressSync(input: Buffer, level: number, headroom = 0): Buffer {
  if (level >= ZSTD_WASM_FROM_LEVEL) return withHeadroom(zstdWasmPackage().compress(input, level), headroom);
  return withHeadroom(encoder(level).encodeSync(input), headroom);
}

/** On the thread pool up to level 11; levels from 12 compress synchronously (WebAssembly has no pool). */
export async function zstdCompress(input: Buffer, level: number, headroom = 0): Promise<Buffer> {
  if (level >= ZSTD_WASM_FROM_LEVEL) return zstdCompressSync(input, level, headroom);
  return withHeadroom(await encoder(level).encode(input), headroom);
}

/** Reads one or more concatenated frames, with or without a content size. */
export function zstdDecompress(input: Buffer): Buffer {
  const pkg = zstd();
  if (decoder === null) decoder = new pkg.Decoder();
  return decoder.decodeSync(input);
}
