import { CompressionCodec } from '../record-batch';
import { CompressionRatioEstimator } from './ratio-estimator';

describe('CompressionRatioEstimator (Java CompressionRatioEstimation)', () => {
  it('starts at 1.0 per topic and codec', () => {
    const e = new CompressionRatioEstimator();
    expect(e.estimate('t', CompressionCodec.Zstd)).toBe(1);
    expect(e.uncompressedLimit('t', CompressionCodec.Zstd, 16384)).toBe(Math.floor((16384 - 61) / 1.05));
  });

  it('improves by at most 0.005 a batch and deteriorates at once, by at least 0.05', () => {
    const e = new CompressionRatioEstimator();
    expect(e.observe('t', CompressionCodec.Lz4, 1000, 200)).toBeCloseTo(0.995, 10);
    expect(e.observe('t', CompressionCodec.Lz4, 1000, 200)).toBeCloseTo(0.99, 10);
    for (let i = 0; i < 1000; i++) e.observe('t', CompressionCodec.Lz4, 1000, 200);
    expect(e.estimate('t', CompressionCodec.Lz4)).toBeCloseTo(0.2, 10);
    expect(e.observe('t', CompressionCodec.Lz4, 1000, 210)).toBeCloseTo(0.25, 10); // +0.05 beats the observed 0.21
    expect(e.observe('t', CompressionCodec.Lz4, 1000, 900)).toBeCloseTo(0.9, 10); // straight to what was observed
    expect(e.estimate('t', CompressionCodec.Gzip)).toBe(1); // per codec
    expect(e.estimate('other', CompressionCodec.Lz4)).toBe(1); // per topic
  });

  it('lets a batch hold as many plain bytes as Java would count as fitting', () => {
    const e = new CompressionRatioEstimator();
    for (let i = 0; i < 2000; i++) e.observe('t', CompressionCodec.Gzip, 10_000, 1500);
    expect(e.uncompressedLimit('t', CompressionCodec.Gzip, 16384)).toBe(Math.floor((16384 - 61) / (0.15 * 1.05)));
    e.forget('t');
    expect(e.estimate('t', CompressionCodec.Gzip)).toBe(1);
  });
});
