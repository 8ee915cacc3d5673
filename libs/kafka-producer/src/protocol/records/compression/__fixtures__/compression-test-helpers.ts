import { createHash } from 'node:crypto';
import type { RecordHeader } from '../../record-batch';

export const T0 = 1_700_000_000_000;
const EVENTS = ['click', 'view', 'purchase'];

export interface GoldenInput {
  timestamp: number;
  key: Buffer | null;
  value: Buffer;
  headers: RecordHeader[];
}

/** Record i of a golden case: the same formula as GoldenCompressedBatches.java (keep the two in step). */
export function goldenRecord(seed: number, i: number): GoldenInput {
  let text = `{"id":${i},"user":"user-${(i * 7919) % 1009}","event":"${EVENTS[i % 3]}","text":"`;
  for (let k = 0; k < i % 9; k++) text += 'lorem ipsum ';
  text += '"}';
  const textBytes = Buffer.from(text, 'utf8');
  const noise = i % 5 === 0 ? i % 40 : 0;
  const value = Buffer.alloc(textBytes.length + noise);
  textBytes.copy(value);
  for (let k = 0; k < noise; k++) value[textBytes.length + k] = (i * 131 + k * k * 17 + k * seed) & 0xff;
  let headers: RecordHeader[] = [];
  if (i % 10 === 3) headers = [{ key: 'a', value: null }, { key: 'b', value: Buffer.from(`bee-${seed}`) }];
  else if (i % 4 === 0) headers = [{ key: 'trace', value: Buffer.from(`t${i}`) }];
  return { timestamp: T0 + i * 3, key: i % 7 === 0 ? null : Buffer.from(`key-${seed}-${i}`), value, headers };
}

export function goldenRecords(seed: number, count: number): GoldenInput[] {
  return Array.from({ length: count }, (_, i) => goldenRecord(seed, i));
}

/** JSON-like records of about `bytes` bytes in total, like a typical application payload. */
export function jsonishRecords(bytes: number, seed = 1): GoldenInput[] {
  const out: GoldenInput[] = [];
  let total = 0;
  for (let i = 0; total < bytes; i++) {
    const value = Buffer.from(
      JSON.stringify({
        id: `${seed}-${i}`,
        user: `user-${(i * 7919) % 10007}`,
        ts: T0 + i * 13,
        event: EVENTS[i % 3],
        amount: ((i * 37) % 1000) / 10,
        tags: ['alpha', 'beta', 'gamma'].slice(0, (i % 3) + 1),
        ok: i % 4 !== 0,
      }),
    );
    const record = { timestamp: T0 + i, key: Buffer.from(`k${i % 100}`), value, headers: [] };
    out.push(record);
    total += value.length + 10;
  }
  return out;
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

/**
 * SHA-256 over a canonical form of records (timestamp, key, value, headers with lengths, -1 for null),
 * the same as JavaReadsBatches.java computes over what Java decodes, so whole batches compare with one line.
 */
export function recordsDigest(records: ReadonlyArray<{ timestamp: number | bigint; key: Buffer | null; value: Buffer | null; headers: ReadonlyArray<RecordHeader> }>): string {
  const hash = createHash('sha256');
  for (const r of records) {
    const ts = Buffer.alloc(8);
    ts.writeBigInt64BE(BigInt(r.timestamp));
    hash.update(ts);
    for (const bytes of [r.key, r.value]) {
      hash.update(int32(bytes === null ? -1 : bytes.length));
      if (bytes !== null) hash.update(bytes);
    }
    hash.update(int32(r.headers.length));
    for (const h of r.headers) {
      const key = Buffer.from(h.key, 'utf8');
      hash.update(int32(key.length));
      hash.update(key);
      hash.update(int32(h.value === null ? -1 : h.value.length));
      if (h.value !== null) hash.update(h.value);
    }
  }
  return hash.digest('hex');
}
