import { ProtocolDecodeError } from '../../errors';
import { Reader } from './reader';
import { sizeOfUnsignedVarint, sizeOfVarint, sizeOfVarlong } from './varint';
import { Writer } from './writer';

const bytes = (w: Writer): string => w.toBuffer().toString('hex');

describe('varints', () => {
  it.each([
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '8001'],
    [300, 'ac02'],
    [2 ** 32 - 1, 'ffffffff0f'],
  ])('unsigned %d is %s', (value, hex) => {
    expect(bytes(new Writer().unsignedVarint(value))).toBe(hex);
    expect(sizeOfUnsignedVarint(value)).toBe(hex.length / 2);
    expect(new Reader(Buffer.from(hex, 'hex')).unsignedVarint()).toBe(value);
  });

  it.each([
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [-64, '7f'],
    [64, '8001'],
    [2147483647, 'feffffff0f'],
    [-2147483648, 'ffffffff0f'],
  ])('zigzag varint %d is %s', (value, hex) => {
    expect(bytes(new Writer().varint(value))).toBe(hex);
    expect(sizeOfVarint(value)).toBe(hex.length / 2);
    expect(new Reader(Buffer.from(hex, 'hex')).varint()).toBe(value);
  });

  it.each([
    [0, '00'],
    [-1, '01'],
    [1_700_000_000_000, '80a0abfef962'],
    [-1_700_000_000_000, 'ff9fabfef962'],
    [2 ** 40, '808080808040'],
    [Number.MAX_SAFE_INTEGER, 'feffffffffffff1f'],
  ])('zigzag varlong %d is %s', (value, hex) => {
    expect(bytes(new Writer().varlong(value))).toBe(hex);
    expect(sizeOfVarlong(value)).toBe(hex.length / 2);
    expect(new Reader(Buffer.from(hex, 'hex')).varlong()).toBe(value);
  });

  it('rejects a varint longer than 32 bits and a varlong longer than 10 bytes', () => {
    expect(() => new Reader(Buffer.from('ffffffff1f', 'hex')).unsignedVarint()).toThrow(ProtocolDecodeError);
    expect(() => new Reader(Buffer.from('ffffffffffffffffffff01', 'hex')).varlong()).toThrow(ProtocolDecodeError);
  });

  it('rejects a truncated varint', () => {
    expect(() => new Reader(Buffer.from('8080', 'hex')).unsignedVarint()).toThrow(/truncated input/);
  });
});

describe('strings, bytes and arrays', () => {
  it('writes classic and compact strings, null included', () => {
    expect(bytes(new Writer().string('ab'))).toBe('00026162');
    expect(bytes(new Writer().nullableString(null))).toBe('ffff');
    expect(bytes(new Writer().compactString('ab'))).toBe('036162');
    expect(bytes(new Writer().compactNullableString(null))).toBe('00');
    expect(bytes(new Writer().string('é'))).toBe('0002c3a9');
  });

  it('reads back what it writes', () => {
    const w = new Writer(1)
      .int8(-3)
      .int16(-300)
      .int32(-70000)
      .int64(-(2n ** 62n))
      .bool(true)
      .uuid(Buffer.alloc(16, 7))
      .compactNullableBytes(Buffer.from([1, 2]))
      .nullableBytes(null)
      .compactString('zß');
    const r = new Reader(w.toBuffer());
    expect([r.int8(), r.int16(), r.int32(), r.int64(), r.bool()]).toEqual([-3, -300, -70000, -(2n ** 62n), true]);
    expect(r.uuid()).toEqual(Buffer.alloc(16, 7));
    expect(r.compactNullableBytes()).toEqual(Buffer.from([1, 2]));
    expect(r.nullableBytes()).toBeNull();
    expect(r.compactString()).toBe('zß');
    expect(r.remaining).toBe(0);
  });

  it('rejects a length that runs past the frame without allocating it', () => {
    const r = new Reader(Buffer.from('7fffffff0102', 'hex'));
    expect(() => r.bytes()).toThrow(/need 2147483647 bytes at offset 4, 2 left/);
  });

  it('rejects a negative length other than -1', () => {
    expect(() => new Reader(Buffer.from('fffe', 'hex')).nullableString()).toThrow(/invalid string length -2/);
    expect(() => new Reader(Buffer.from('fffffffe', 'hex')).arrayLength(false)).toThrow(/invalid array length -2/);
  });

  it('never reads outside the bounds it was given', () => {
    const buf = Buffer.from('0001000200030004', 'hex');
    const r = new Reader(buf, 2, 4);
    expect(r.int16()).toBe(2);
    expect(() => r.int16()).toThrow(ProtocolDecodeError);
  });
});
