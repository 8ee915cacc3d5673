import * as crypto from 'node:crypto';
import { InvalidArgumentError } from '../../../errors';
import { prng } from '../../../../test/fixtures/records/test-helpers';
import {
  ASYNC_COMPRESSION_THRESHOLD,
  COMPRESSION_CODEC_BY_NAME,
  COMPRESSION_LEVELS,
  CompressionCodec,
  CompressionCodecUnavailableError,
  CompressionName,
  compressRecords,
  compressRecordsSync,
  decompressRecords,
  resolveCompressionLevel,
  toCompressionCodec,
  toCompressionName,
} from './index';
import { setPackageLoaderForTests } from './packages';

const KIB = 1024;

/** Text-like bytes that compress well: words from a small vocabulary, chosen by a seeded PRNG. */
function compressible(length: number, seed = 1): Buffer {
  const words = ['kafka', 'record', 'batch', 'producer', '{"id":', '"value":', 'null', 'true', '12345', ' ', '\n'];
  const next = prng(seed);
  const parts: string[] = [];
  let size = 0;
  while (size < length) {
    const w = words[Math.floor(next() * words.length)];
    parts.push(w);
    size += w.length;
  }
  return Buffer.from(parts.join('')).subarray(0, length);
}

const INPUTS: Array<[string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ['1 byte', Buffer.from([0x5a])],
  ['100 KiB random', crypto.randomBytes(100 * KIB)],
  ['1 MiB compressible', compressible(1024 * KIB)],
];

const LEVELS: Array<[CompressionName, Array<number | undefined>]> = [
  ['none', [undefined]],
  ['gzip', [undefined, -1, 1, 6, 9]],
  ['snappy', [undefined]],
  ['lz4', [undefined, 1, 3, 9, 12, 17]],
  ['zstd', [undefined, -131072, -5, 1, 3, 11, 12, 19]],
];

describe('codec names and ids', () => {
  it('maps compression.type names to the attribute ids of RecordBatch v2', () => {
    expect(COMPRESSION_CODEC_BY_NAME).toEqual({ none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 });
    expect(toCompressionCodec('lz4')).toBe(CompressionCodec.Lz4);
    expect(toCompressionCodec(CompressionCodec.Zstd)).toBe(4);
    expect(toCompressionName(CompressionCodec.Snappy)).toBe('snappy');
    expect(() => toCompressionCodec('brotli' as CompressionName)).toThrow(InvalidArgumentError);
    expect(() => toCompressionCodec(5 as CompressionCodec)).toThrow(/unknown compression codec 5/);
    expect(() => toCompressionCodec('toString' as CompressionName)).toThrow(InvalidArgumentError);
  });
});

describe('compression levels (Kafka 4.x ranges)', () => {
  it('uses the codec default when no level is given', () => {
    expect(resolveCompressionLevel('gzip')).toBe(-1);
    expect(resolveCompressionLevel('lz4')).toBe(9);
    expect(resolveCompressionLevel('zstd')).toBe(3);
    expect(resolveCompressionLevel('snappy', 5)).toBe(0);
    expect(resolveCompressionLevel('none', 5)).toBe(0);
  });

  it('accepts the edges of each range and rejects what Kafka rejects', () => {
    expect(COMPRESSION_LEVELS.gzip).toEqual({ min: 1, max: 9, default: -1 });
    for (const ok of [-1, 1, 9]) expect(resolveCompressionLevel('gzip', ok)).toBe(ok);
    for (const bad of [0, -2, 10, 1.5]) expect(() => resolveCompressionLevel('gzip', bad)).toThrow(InvalidArgumentError);
    for (const ok of [1, 17]) expect(resolveCompressionLevel('lz4', ok)).toBe(ok);
    for (const bad of [0, 18, -1]) expect(() => resolveCompressionLevel('lz4', bad)).toThrow(/lz4 compression level must be an integer in 1..17, got/);
    for (const ok of [-131072, 0, 22]) expect(resolveCompressionLevel('zstd', ok)).toBe(ok);
    for (const bad of [-131073, 23, Number.NaN]) expect(() => resolveCompressionLevel('zstd', bad)).toThrow(InvalidArgumentError);
  });

  it('rejects a bad level before compressing, and the async variant rejects rather than throws', async () => {
    expect(() => compressRecordsSync('zstd', Buffer.from('x'), 23)).toThrow(InvalidArgumentError);
    const pending = compressRecords('gzip', Buffer.from('x'), 0);
    await expect(pending).rejects.toThrow(InvalidArgumentError);
  });

  it('higher levels compress harder (the level reaches the codec)', () => {
    const input = compressible(256 * KIB, 7);
    const size = (codec: CompressionName, level: number) => compressRecordsSync(codec, input, level).length;
    expect(size('gzip', 9)).toBeLessThan(size('gzip', 1));
    expect(size('zstd', 19)).toBeLessThan(size('zstd', -5));
    expect(size('lz4', 12)).toBeLessThan(size('lz4', 9));
  });
});

describe.each(LEVELS)('%s round trip', (codec, levels) => {
  const id = COMPRESSION_CODEC_BY_NAME[codec];
  describe.each(INPUTS)('%s', (_name, input) => {
    it.each(levels.map((l) => [l === undefined ? 'default' : String(l), l] as const))('level %s (sync and async give the same bytes)', async (_label, level) => {
      const compressed = compressRecordsSync(codec, input, level);
      expect(decompressRecords(id, compressed).equals(input)).toBe(true);
      const viaAsync = await compressRecords(codec, input, level);
      expect(viaAsync.equals(compressed)).toBe(true);
    });
  });
});

describe('headroom', () => {
  it.each(['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const)('%s leaves the requested bytes in front, sync and async', async (codec) => {
    const input = compressible(300 * KIB, 3);
    const plain = compressRecordsSync(codec, input);
    const withRoom = compressRecordsSync(codec, input, undefined, 61);
    expect(withRoom.length).toBe(plain.length + 61);
    expect(withRoom.subarray(61).equals(plain)).toBe(true);
    const asyncRoom = await compressRecords(codec, input, undefined, 61);
    expect(asyncRoom.subarray(61).equals(plain)).toBe(true);
  });
});

describe('async path', () => {
  it('has a threshold per codec and compresses big inputs off the loop without changing the bytes', async () => {
    for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const threshold = ASYNC_COMPRESSION_THRESHOLD[codec];
      for (const size of [threshold - 1, threshold, 3 * threshold + 17]) {
        const input = compressible(size, size);
        const out = await compressRecords(codec, input);
        expect(out.equals(compressRecordsSync(codec, input))).toBe(true);
      }
    }
  });

  it('runs many concurrent compressions correctly (shared encoders, the thread pool)', async () => {
    const inputs = Array.from({ length: 12 }, (_, i) => compressible(200 * KIB + i * 999, 100 + i));
    for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const outs = await Promise.all(inputs.map((input) => compressRecords(codec, input)));
      outs.forEach((out, i) => expect(decompressRecords(COMPRESSION_CODEC_BY_NAME[codec], out).equals(inputs[i])).toBe(true));
    }
  });
});

describe('a missing codec package', () => {
  afterEach(() => setPackageLoaderForTests(null));

  it.each([
    ['snappy', 'snappy'],
    ['lz4', 'lz4-napi'],
    ['zstd', '@toondepauw/node-zstd'],
  ] as const)('%s fails with CompressionCodecUnavailableError naming %s', async (codec, packageName) => {
    setPackageLoaderForTests((id) => {
      throw new Error(`Cannot find module '${id}'`);
    });
    const input = compressible(1000);
    let caught: unknown;
    try {
      compressRecordsSync(codec, input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CompressionCodecUnavailableError);
    const error = caught as CompressionCodecUnavailableError;
    expect(error.packageName).toBe(packageName);
    expect(error.codec).toBe(codec);
    expect(error.code).toBe('COMPRESSION_CODEC_UNAVAILABLE');
    expect(error.message).toContain(`npm install ${packageName}`);
    await expect(compressRecords(codec, input)).rejects.toThrow(CompressionCodecUnavailableError);
  });

  it('zstd levels from 12 name the WebAssembly package', () => {
    setPackageLoaderForTests((id) => {
      throw new Error(`Cannot find module '${id}'`);
    });
    expect(() => compressRecordsSync('zstd', Buffer.from('x'), 19)).toThrow(/"@bokuweb\/zstd-wasm"/);
  });

  it('a package with an unexpected API is reported the same way', () => {
    setPackageLoaderForTests(() => ({ compress: () => undefined }));
    expect(() => compressRecordsSync('snappy', Buffer.from('x'))).toThrow(/"snappy".*does not export compressSync, uncompressSync/);
  });

  it('gzip and none need no package', () => {
    setPackageLoaderForTests((id) => {
      throw new Error(`Cannot find module '${id}'`);
    });
    const input = compressible(5000);
    expect(decompressRecords(CompressionCodec.Gzip, compressRecordsSync('gzip', input)).equals(input)).toBe(true);
    expect(compressRecordsSync('none', input)).toBe(input);
  });
});

describe('decompressing bad input', () => {
  it.each([
    [CompressionCodec.Gzip, /./],
    [CompressionCodec.Snappy, /./],
    [CompressionCodec.Lz4, /lz4: not an LZ4 frame/],
    [CompressionCodec.Zstd, /./],
  ])('codec %s throws on garbage', (codec, message) => {
    expect(() => decompressRecords(codec, Buffer.from('definitely not compressed data'))).toThrow(message);
  });

  it('none hands the input back', () => {
    const input = Buffer.from('plain');
    expect(decompressRecords(CompressionCodec.None, input)).toBe(input);
  });
});
