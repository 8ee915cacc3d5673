import * as crypto from 'node:crypto';
import { prng } from '../../../../test/fixtures/records/test-helpers';
import { CompressionFormatError } from './errors';
import { LZ4_BLOCK_SIZE, lz4Compress, lz4CompressSync, lz4Decompress } from './lz4';
import { xxhash32 } from './xxhash32';

// lz4-napi's frame functions (lz4_flex) are an independent LZ4 frame implementation to check ours against.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lz4napi = require('lz4-napi') as {
  compressFrameSync(data: Buffer, options?: { contentChecksum?: boolean; blockChecksums?: boolean }): Buffer;
  decompressFrameSync(data: Buffer): Buffer;
};

const ALL_LEVELS = Array.from({ length: 17 }, (_, i) => i + 1);

function text(length: number, seed: number): Buffer {
  const words = ['alpha', 'beta', 'gamma', 'delta', '{"k":', '0123', ' ', ',', '"'];
  const next = prng(seed);
  let s = '';
  while (s.length < length) s += words[Math.floor(next() * words.length)];
  return Buffer.from(s.slice(0, length));
}

/** Inputs that exercise the corners of the block format and of the HC match finder. */
function edgeInputs(): Array<[string, Buffer]> {
  const random = crypto.randomBytes(3000);
  return [
    ...Array.from({ length: 21 }, (_, n) => [`${n} bytes`, text(n, n)] as [string, Buffer]),
    ['zeros 200 KiB', Buffer.alloc(200 * 1024)],
    ['period 2', Buffer.from('ab'.repeat(5000))],
    ['period 3', Buffer.from('abc'.repeat(5000))],
    ['period 5 with a tail', Buffer.from('abcde'.repeat(3000) + 'xyz')],
    ['long literal run then a long match', Buffer.concat([random, random, random.subarray(0, 700)])],
    ['exactly one block', text(LZ4_BLOCK_SIZE, 1)],
    ['one block and one byte', text(LZ4_BLOCK_SIZE + 1, 2)],
    ['two blocks', text(2 * LZ4_BLOCK_SIZE, 3)],
    ['random', crypto.randomBytes(150 * 1024)],
    ['mixed', Buffer.concat([text(40_000, 4), crypto.randomBytes(30_000), text(90_000, 5)])],
  ];
}

describe('xxhash32', () => {
  it('matches the reference vectors', () => {
    expect(xxhash32(Buffer.alloc(0))).toBe(0x02cc5d05);
    expect(xxhash32(Buffer.from('abc'))).toBe(0x32d153ff);
  });

  it('matches lz4_flex content checksums (xxHash32 of the whole content) for long inputs', () => {
    for (const input of [text(17, 1), text(1000, 2), crypto.randomBytes(100_003)]) {
      const frame = lz4napi.compressFrameSync(input, { contentChecksum: true });
      expect(xxhash32(input)).toBe(frame.readUInt32LE(frame.length - 4));
    }
  });
});

describe('lz4 frame as Kafka writes it', () => {
  it('has magic 0x184D2204, FLG 0x60, BD 0x40 and the header checksum Java writes (0x82)', () => {
    const frame = lz4CompressSync(text(1000, 1), 9);
    expect(frame.subarray(0, 7).toString('hex')).toBe('04224d18604082');
  });

  it('cuts the input into independent 64 KiB blocks, stores incompressible blocks raw, and ends with a 0 mark', () => {
    const input = crypto.randomBytes(100 * 1024);
    for (const level of [9, 1, 12]) {
      const frame = lz4CompressSync(input, level);
      let at = 7;
      const sizes: number[] = [];
      for (;;) {
        const word = frame.readUInt32LE(at);
        at += 4;
        if (word === 0) break;
        expect(word & 0x80000000).not.toBe(0); // random data: stored uncompressed
        sizes.push(word & 0x7fffffff);
        at += word & 0x7fffffff;
      }
      expect(sizes).toEqual([65536, 100 * 1024 - 65536]);
      expect(at).toBe(frame.length);
    }
  });

  it('writes an empty input as header and end mark only', () => {
    expect(lz4CompressSync(Buffer.alloc(0), 9).toString('hex')).toBe('04224d1860408200000000');
    expect(lz4CompressSync(Buffer.alloc(0), 5).toString('hex')).toBe('04224d1860408200000000');
  });
});

describe.each(edgeInputs())('lz4 round trip: %s', (_name, input) => {
  it('every level decodes with our decoder and with lz4_flex, sync and async alike', async () => {
    for (const level of ALL_LEVELS) {
      const frame = lz4CompressSync(input, level);
      expect(lz4Decompress(frame).equals(input)).toBe(true);
      expect(lz4napi.decompressFrameSync(frame).equals(input)).toBe(true);
      if (level === 1 || level === 9 || level === 17) expect((await lz4Compress(input, level)).equals(frame)).toBe(true);
    }
  });
});

describe('lz4 HC levels', () => {
  it('compress text better than the fast default, more so at higher levels', () => {
    const input = text(256 * 1024, 9);
    const size = (level: number) => lz4CompressSync(input, level).length;
    expect(size(3)).toBeLessThan(size(9));
    expect(size(12)).toBeLessThanOrEqual(size(3));
  });
});

/** Replaces the frame descriptor of a Kafka-style frame, fixing up the header checksum. */
function withDescriptor(frame: Buffer, flg: number, bd: number, extra: Buffer = Buffer.alloc(0)): Buffer {
  const descriptor = Buffer.concat([Buffer.from([flg, bd]), extra]);
  const hc = (xxhash32(descriptor) >>> 8) & 0xff;
  return Buffer.concat([frame.subarray(0, 4), descriptor, Buffer.from([hc]), frame.subarray(7)]);
}

describe('lz4 decoder', () => {
  it('reads frames with block and content checksums (lz4_flex)', () => {
    const input = Buffer.concat([text(100_000, 1), crypto.randomBytes(5000)]);
    for (const options of [{}, { contentChecksum: true }, { blockChecksums: true }, { contentChecksum: true, blockChecksums: true }]) {
      expect(lz4Decompress(lz4napi.compressFrameSync(input, options)).equals(input)).toBe(true);
    }
  });

  it('reads a frame that carries its content size, and one with larger blocks', () => {
    const input = text(10_000, 2);
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(input.length));
    expect(lz4Decompress(withDescriptor(lz4CompressSync(input, 9), 0x68, 0x40, size)).equals(input)).toBe(true);
    expect(lz4Decompress(withDescriptor(lz4CompressSync(input, 9), 0x60, 0x70)).equals(input)).toBe(true);
  });

  it('follows matches into the previous block of a linked frame, and refuses them in an independent one', () => {
    const first = Buffer.from('0123456789abcdef');
    // block 1: 16 literals; block 2: no literals, an 8-byte match 16 back (into block 1), then the final empty literals
    const block1 = Buffer.concat([Buffer.from([0xf0, first.length - 15]), first]);
    const block2 = Buffer.from([0x04, 16, 0, 0x00]);
    const blocks = Buffer.concat([u32(block1.length), block1, u32(block2.length), block2, u32(0)]);
    const linked = withDescriptor(Buffer.concat([Buffer.from('04224d18000000', 'hex'), blocks]), 0x40, 0x40);
    expect(lz4Decompress(linked).toString()).toBe('0123456789abcdef01234567');
    const independent = withDescriptor(linked, 0x60, 0x40);
    expect(() => lz4Decompress(independent)).toThrow(/match offset 16 reaches before the window/);
  });

  it.each([
    ['bad magic', (f: Buffer) => f.writeUInt32LE(0x184d2205, 0), /not an LZ4 frame/],
    ['bad header checksum', (f: Buffer) => (f[6] ^= 1), /frame descriptor checksum mismatch/],
    ['unsupported version', (f: Buffer) => (f[4] = 0xa0), /unsupported frame version 2/],
    ['reserved block size', (f: Buffer) => (f[5] = 0x30), /invalid block maximum size id 3/],
  ])('rejects %s', (_name, corrupt, message) => {
    const frame = Buffer.from(lz4CompressSync(text(5000, 3), 9));
    corrupt(frame);
    expect(() => lz4Decompress(frame)).toThrow(CompressionFormatError);
    expect(() => lz4Decompress(frame)).toThrow(message);
  });

  it('rejects truncation, trailing bytes, oversized blocks and corrupt block contents', () => {
    const frame = lz4CompressSync(text(100_000, 4), 9);
    expect(() => lz4Decompress(frame.subarray(0, frame.length - 1))).toThrow(/missing end mark|truncated/);
    expect(() => lz4Decompress(frame.subarray(0, 5))).toThrow(/shorter than a frame header/);
    expect(() => lz4Decompress(Buffer.concat([frame, Buffer.from([0])]))).toThrow(/1 bytes after the end of the frame/);
    const big = Buffer.from(frame);
    big.writeUInt32LE(LZ4_BLOCK_SIZE + 1, 7);
    expect(() => lz4Decompress(big)).toThrow(/exceeds the frame's maximum/);
    // a block whose match points at offset 0
    const zeroOffset = withDescriptor(Buffer.concat([Buffer.from('04224d18000000', 'hex'), u32(4), Buffer.from([0x10, 0x61, 0, 0]), u32(0)]), 0x60, 0x40);
    expect(() => lz4Decompress(zeroOffset)).toThrow(/match offset 0/);
  });

  it('bounds its output by the compressed size, so tiny blocks cannot claim 64 KiB each', () => {
    // 10,000 one-byte blocks (token 0: no literals) decode to nothing; the output buffer stays small.
    const tiny = Buffer.concat([Buffer.from('04224d18000000', 'hex'), ...Array.from({ length: 10_000 }, () => Buffer.from([1, 0, 0, 0, 0])), u32(0)]);
    const frame = withDescriptor(tiny, 0x60, 0x40);
    const out = lz4Decompress(frame);
    expect(out.length).toBe(0);
    expect(out.buffer.byteLength).toBeLessThan(16 * 1024 * 1024);
  });
});

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
