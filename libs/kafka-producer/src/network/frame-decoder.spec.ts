import { FrameDecoder } from './frame-decoder';

function framed(...bodies: Buffer[]): Buffer {
  return Buffer.concat(
    bodies.flatMap((b) => {
      const size = Buffer.alloc(4);
      size.writeInt32BE(b.length);
      return [size, b];
    }),
  );
}

/** A decoder that records every frame it hands out, as copies and with the buffer it was sliced from. */
function recorder(maxFrameSize = 1024) {
  const frames: Buffer[] = [];
  const sources: Buffer[] = [];
  const invalid: number[] = [];
  const decoder = new FrameDecoder(
    maxFrameSize,
    (buf, start, end) => {
      frames.push(Buffer.from(buf.subarray(start, end)));
      sources.push(buf);
      return true;
    },
    (size) => invalid.push(size),
  );
  return { decoder, frames, sources, invalid };
}

describe('FrameDecoder', () => {
  it('hands out a frame lying whole in one chunk as a slice of that chunk, without copying', () => {
    const { decoder, frames, sources } = recorder();
    const chunk = framed(Buffer.from('one'), Buffer.from('two'));
    decoder.push(chunk);
    expect(frames.map(String)).toEqual(['one', 'two']);
    expect(sources).toEqual([chunk, chunk]);
    expect(sources[0]).toBe(chunk);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('reassembles frames split anywhere, the size prefix included, and keeps what follows', () => {
    const bytes = framed(Buffer.from('alpha'), Buffer.alloc(0), Buffer.from('gamma-delta'));
    for (let cut1 = 1; cut1 < bytes.length - 1; cut1++) {
      for (let cut2 = cut1 + 1; cut2 < bytes.length; cut2++) {
        const { decoder, frames } = recorder();
        decoder.push(bytes.subarray(0, cut1));
        decoder.push(bytes.subarray(cut1, cut2));
        decoder.push(bytes.subarray(cut2));
        expect(frames.map(String)).toEqual(['alpha', '', 'gamma-delta']);
        expect(decoder.bufferedBytes).toBe(0);
      }
    }
  });

  it('holds the bytes of an incomplete frame until its last byte arrives', () => {
    const { decoder, frames } = recorder();
    const bytes = framed(Buffer.from('0123456789'));
    decoder.push(bytes.subarray(0, 6));
    expect(frames).toEqual([]);
    expect(decoder.bufferedBytes).toBe(6);
    decoder.push(bytes.subarray(6));
    expect(frames.map(String)).toEqual(['0123456789']);
  });

  it('rejects a size above the maximum, or negative, before buffering anything, and then ignores input', () => {
    for (const size of [1025, -1]) {
      const { decoder, frames, invalid } = recorder(1024);
      const prefix = Buffer.alloc(4);
      prefix.writeInt32BE(size);
      decoder.push(prefix.subarray(0, 2));
      decoder.push(prefix.subarray(2));
      expect(invalid).toEqual([size]);
      expect(decoder.bufferedBytes).toBe(0);
      decoder.push(framed(Buffer.from('late')));
      expect(frames).toEqual([]);
    }
  });

  it('accepts a frame of exactly the maximum size', () => {
    const { decoder, frames, invalid } = recorder(8);
    decoder.push(framed(Buffer.from('12345678')));
    expect(frames.map(String)).toEqual(['12345678']);
    expect(invalid).toEqual([]);
  });

  it('stops at once when the sink says so, dropping the frames after it', () => {
    const seen: string[] = [];
    const decoder = new FrameDecoder(
      1024,
      (buf, start, end) => {
        seen.push(buf.toString('utf8', start, end));
        return false;
      },
      () => undefined,
    );
    decoder.push(framed(Buffer.from('first'), Buffer.from('second')));
    decoder.push(framed(Buffer.from('third')));
    expect(seen).toEqual(['first']);
  });
});
