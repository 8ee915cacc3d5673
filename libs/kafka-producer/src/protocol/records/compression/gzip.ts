import * as zlib from 'node:zlib';

/**
 * Kafka's gzip: one standard gzip member (RFC 1952), as java.util.zip.GZIPOutputStream writes it. Level -1
 * is zlib's default (6), as Deflater.DEFAULT_COMPRESSION is in Java.
 */

export const GZIP_MIN_LEVEL = 1;
export const GZIP_MAX_LEVEL = 9;
export const GZIP_DEFAULT_LEVEL = -1;

// The async API runs deflate on libuv's thread pool in steps of `chunkSize` output bytes, one pool round
// trip per step; a larger step than zlib's 16 KiB default means fewer trips for a big batch.
const ASYNC_CHUNK_SIZE = 256 * 1024;

function withHeadroom(compressed: Buffer, headroom: number): Buffer {
  if (headroom === 0) return compressed;
  const out = Buffer.allocUnsafe(headroom + compressed.length);
  compressed.copy(out, headroom);
  return out;
}

export function gzipCompressSync(input: Buffer, level: number, headroom = 0): Buffer {
  return withHeadroom(zlib.gzipSync(input, { level }), headroom);
}

export function gzipCompress(input: Buffer, level: number, headroom = 0): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zlib.gzip(input, { level, chunkSize: ASYNC_CHUNK_SIZE }, (err, out) => (err === null ? resolve(withHeadroom(out, headroom)) : reject(err)));
  });
}

/** Reads one or more concatenated gzip members. */
export function gzipDecompress(input: Buffer): Buffer {
  return zlib.gunzipSync(input);
}
