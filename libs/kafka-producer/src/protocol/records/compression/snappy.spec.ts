import * as crypto from 'node:crypto';
import { CompressionFormatError } from './errors';
import { snappyPackage } from './packages';
import { SNAPPY_BLOCK_SIZE, snappyCompress, snappyCompressSync, snappyDecompress } from './snappy';

const HEADER = '82534e415050590000000001' + '00000001';

function text(length: number): Buffer {
  let s = '';
  for (let i = 0; s.length < length; i++) s += `{"id":${i},"name":"record ${i % 17}"} `;
  return Buffer.from(s.slice(0, length));
}

/** Splits a xerial stream after its header into its blocks. */
function blocksOf(stream: Buffer): Buffer[] {
  const blocks: Buffer[] = [];
  let at = 16;
  while (at < stream.length) {
    const length = stream.readInt32BE(at);
    blocks.push(stream.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  expect(at).toBe(stream.length);
  return blocks;
}

describe('snappy in xerial framing (what the Java producer writes)', () => {
  it('starts with the magic and version 1, compatible version 1', () => {
    expect(snappyCompressSync(text(100)).subarray(0, 16).toString('hex')).toBe(HEADER);
  });

  it('compresses each 32 KiB of input into its own length-prefixed raw snappy block', async () => {
    const input = Buffer.concat([text(70_000), crypto.randomBytes(30_000)]);
    const stream = snappyCompressSync(input);
    const blocks = blocksOf(stream);
    expect(blocks).toHaveLength(Math.ceil(input.length / SNAPPY_BLOCK_SIZE));
    blocks.forEach((block, i) => {
      const raw = snappyPackage().uncompressSync(block, { asBuffer: true }) as Buffer;
      expect(raw.equals(input.subarray(i * SNAPPY_BLOCK_SIZE, (i + 1) * SNAPPY_BLOCK_SIZE))).toBe(true);
    });
    expect((await snappyCompress(input)).equals(stream)).toBe(true);
  });

  it('writes an empty input as the header alone, and reads it back as nothing', () => {
    const stream = snappyCompressSync(Buffer.alloc(0));
    expect(stream.toString('hex')).toBe(HEADER);
    expect(snappyDecompress(stream).length).toBe(0);
    expect(snappyDecompress(Buffer.alloc(0)).length).toBe(0);
  });
});

describe('snappy decoder', () => {
  it('reads one raw snappy block without framing, as xerial SnappyInputStream does', () => {
    const input = text(50_000);
    expect(snappyDecompress(snappyPackage().compressSync(input)).equals(input)).toBe(true);
  });

  it('reads concatenated xerial streams', () => {
    const a = text(40_000);
    const b = crypto.randomBytes(1000);
    expect(snappyDecompress(Buffer.concat([snappyCompressSync(a), snappyCompressSync(b)])).equals(Buffer.concat([a, b]))).toBe(true);
  });

  it('rejects truncated framing and a newer stream version', () => {
    const stream = snappyCompressSync(text(40_000));
    expect(() => snappyDecompress(stream.subarray(0, stream.length - 1))).toThrow(CompressionFormatError);
    expect(() => snappyDecompress(Buffer.concat([stream, Buffer.from([0, 0])]))).toThrow(/truncated block length/);
    expect(() => snappyDecompress(stream.subarray(0, 12))).toThrow(/truncated xerial header/);
    const newer = Buffer.from(stream);
    newer.writeInt32BE(2, 12);
    expect(() => snappyDecompress(newer)).toThrow(/needs version 2/);
  });

  it('refuses a raw block that claims more uncompressed bytes than snappy can expand it to, before allocating them', () => {
    // ff ff ff ff 0f: 4 GiB - 1 declared by a six-byte block; snap would allocate that much first
    expect(() => snappyDecompress(Buffer.from('ffffffff0f00', 'hex'))).toThrow(/block of 6 bytes claims 4294967295 uncompressed bytes/);
    const framed = snappyCompressSync(text(100));
    framed.writeInt32BE(6, 16);
    expect(() => snappyDecompress(Buffer.concat([framed.subarray(0, 20), Buffer.from('ffffffff0f00', 'hex')]))).toThrow(CompressionFormatError);
    // the most compressible input still decodes: zeros come close to the 64/3 bound
    const zeros = Buffer.alloc(SNAPPY_BLOCK_SIZE);
    expect(snappyDecompress(snappyCompressSync(zeros)).equals(zeros)).toBe(true);
    expect(snappyDecompress(snappyPackage().compressSync(zeros)).equals(zeros)).toBe(true);
  });
});
