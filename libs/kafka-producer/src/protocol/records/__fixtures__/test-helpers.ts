import { RecordHeader } from '../record-batch';
import { GoldenBatch } from './golden-batches';

/** mulberry32: a tiny seeded PRNG, so a failing random case is reproduced from its seed alone. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function hexOrNull(hex: string | null): Buffer | null {
  return hex === null ? null : Buffer.from(hex, 'hex');
}

export interface InputRecord {
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/** The records of a golden case as the builder takes them. */
export function goldenInputs(golden: GoldenBatch): InputRecord[] {
  return golden.records.map((r) => ({
    timestamp: r.timestamp,
    key: hexOrNull(r.key),
    value: hexOrNull(r.value),
    headers: r.headers.map((h) => ({ key: h.key, value: hexOrNull(h.value) })),
  }));
}

export function goldenBatch(name: string, goldens: readonly GoldenBatch[]): GoldenBatch {
  const found = goldens.find((g) => g.name === name);
  if (found === undefined) throw new Error(`no golden batch named ${name}`);
  return found;
}
