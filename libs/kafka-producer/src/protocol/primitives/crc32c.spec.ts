import { crc32c, crc32cJs, nativeCrc32cLoaded, resetNativeCrc32c } from './crc32c';

/** The textbook one-byte-at-a-time CRC-32C, slow but obviously right: the reference for the table-driven one. */
function bytewiseCrc32c(buf: Uint8Array, start = 0, end = buf.length, initial = 0): number {
  let crc = ~initial >>> 0;
  for (let i = start; i < end; i++) {
    crc ^= buf[i];
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

/** mulberry32: a tiny seeded PRNG so a failing random case can be reproduced from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('crc32c', () => {
  describe('known vectors', () => {
    it('gives 0xE3069283 for the ASCII check string "123456789"', () => {
      expect(crc32c(Buffer.from('123456789', 'ascii'))).toBe(0xe3069283);
    });

    it('gives 0 for no bytes', () => {
      expect(crc32c(Buffer.alloc(0))).toBe(0);
    });

    // RFC 3720 (iSCSI) appendix B.4 test patterns.
    it('gives 0x8A9136AA for 32 zero bytes', () => {
      expect(crc32c(Buffer.alloc(32))).toBe(0x8a9136aa);
    });

    it('gives 0x62A8AB43 for 32 bytes of 0xFF', () => {
      expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    });

    it('gives 0x46DD794E for the 32 ascending bytes 0..31', () => {
      expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    });

    it('gives 0x113FDB5C for the 32 descending bytes 31..0', () => {
      expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    });
  });

  it('returns an unsigned number even when the top bit is set', () => {
    const v = crc32c(Buffer.from('123456789'));
    expect(v).toBeGreaterThan(0x7fffffff);
    expect(Number.isInteger(v)).toBe(true);
  });

  it('covers only [start, end) of the buffer', () => {
    const framed = Buffer.from('xx123456789yyy', 'ascii');
    expect(crc32c(framed, 2, 11)).toBe(0xe3069283);
  });

  it('continues a checksum from `initial`, so crc(a ++ b) = crc(b, initial = crc(a))', () => {
    const whole = Buffer.from('123456789');
    for (let split = 0; split <= whole.length; split++) {
      expect(crc32c(whole, split, whole.length, crc32c(whole, 0, split))).toBe(0xe3069283);
    }
  });

  it('works on a Buffer that is a view into a larger ArrayBuffer at an odd offset', () => {
    const backing = Buffer.from('\u0000\u0000\u0000123456789\u0000', 'latin1');
    expect(crc32c(backing.subarray(3, 12))).toBe(0xe3069283);
  });

  it('rejects a range outside the buffer rather than reading undefined bytes', () => {
    const buf = Buffer.alloc(8);
    expect(() => crc32c(buf, 0, 9)).toThrow(RangeError);
    expect(() => crc32c(buf, -1, 4)).toThrow(RangeError);
    expect(() => crc32c(buf, 5, 4)).toThrow(RangeError);
  });

  it('agrees with the bytewise reference at every alignment, across the byte/word path switch and 16-byte steps', () => {
    // The word path only reads 4-byte-aligned words, so the start address modulo 4 and the tail length
    // modulo 16 are what can go wrong; a backing store offset by 0..7 bytes covers both.
    const backing = Buffer.allocUnsafeSlow(400);
    for (let i = 0; i < backing.length; i++) backing[i] = (i * 131 + 7) & 0xff;
    for (let shift = 0; shift < 8; shift++) {
      const view = backing.subarray(shift);
      for (let length = 0; length <= 200; length++) {
        expect(crc32c(view, 0, length)).toBe(bytewiseCrc32c(view, 0, length));
      }
    }
  });

  it('agrees with the bytewise reference on random buffers, ranges and initial values (seed 0xC0FFEE)', () => {
    const rand = prng(0xc0ffee);
    for (let round = 0; round < 500; round++) {
      // Lengths around the 8-byte step boundaries matter most: 0..40, then some long ones.
      const length = round < 400 ? Math.floor(rand() * 41) : Math.floor(rand() * 5000);
      const buf = Buffer.allocUnsafe(length);
      for (let i = 0; i < length; i++) buf[i] = Math.floor(rand() * 256);
      const start = Math.floor(rand() * (length + 1));
      const end = start + Math.floor(rand() * (length - start + 1));
      const initial = rand() < 0.5 ? 0 : Math.floor(rand() * 0x100000000);
      expect(crc32c(buf, start, end, initial)).toBe(bytewiseCrc32c(buf, start, end, initial));
    }
  });
});

describe('crc32c with the optional native package (@node-rs/crc32)', () => {
  afterEach(() => resetNativeCrc32c());

  it('is installed in this repository, so large ranges take the native path here', () => {
    expect(nativeCrc32cLoaded()).toBe(true);
  });

  it('agrees with the table loop and the bytewise reference at every size around the native threshold, at odd offsets, with an initial CRC', () => {
    const rand = prng(7);
    const buf = new Uint8Array(70_000);
    for (let i = 0; i < buf.length; i++) buf[i] = Math.floor(rand() * 256);
    for (const length of [1023, 1024, 1025, 4096, 65_537]) {
      for (const start of [0, 1, 3, 7]) {
        const initial = Math.floor(rand() * 0x100000000);
        const expected = bytewiseCrc32c(buf, start, start + length, initial);
        expect(crc32c(buf, start, start + length, initial)).toBe(expected);
        expect(crc32cJs(buf, start, start + length, initial)).toBe(expected);
      }
    }
  });

  it('uses the table loop when the package is missing, with the same results', () => {
    resetNativeCrc32c(false);
    expect(nativeCrc32cLoaded()).toBe(false);
    const buf = new Uint8Array(5000).map((_, i) => (i * 7) & 255);
    expect(crc32c(buf, 3, 4999, 12345)).toBe(bytewiseCrc32c(buf, 3, 4999, 12345));
  });
});
