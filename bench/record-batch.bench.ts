/**
 * Record batch encoder and CRC-32C throughput, in process (no broker).
 *
 *   npx ts-node --transpile-only bench/record-batch.bench.ts
 *
 * Appends 1,000,000 records into 16 KiB batches the way the accumulator will (tryAppend until full, close,
 * reset and reuse the same buffer), so the figures include the per-batch header and CRC. Then times
 * CRC-32C alone on 16 KiB and 1 MiB buffers, and, when `@node-rs/crc32` can be resolved (it is not a
 * dependency: e.g. NODE_PATH=/some/dir/node_modules), the native one beside it.
 *
 * The machines are shared and noisy: each case runs several times and the best run is reported; compare
 * ratios between cases of one run rather than absolute numbers across runs.
 */
import { performance } from 'perf_hooks';
import { crc32c } from '../libs/kafka-producer/src/protocol/primitives/crc32c';
import { RecordHeader } from '../libs/kafka-producer/src/protocol/records/record-batch';
import { RecordBatchBuilder } from '../libs/kafka-producer/src/protocol/records/record-batch-builder';

const BATCH_SIZE = 16 * 1024;
const RECORDS = 1_000_000;
const RUNS = 5;

interface AppendResult {
  ms: number;
  batches: number;
  batchBytes: number;
}

function appendRun(key: Buffer | null, value: Buffer, headers: RecordHeader[] | null): AppendResult {
  const builder = new RecordBatchBuilder(Buffer.allocUnsafe(BATCH_SIZE));
  const base = Date.now();
  let batches = 0;
  let batchBytes = 0;
  const start = performance.now();
  for (let i = 0; i < RECORDS; i++) {
    // a clock that advances about once per thousand records, like Date.now() under load
    const timestamp = base + (i >> 10);
    if (builder.tryAppend(timestamp, key, value, headers) < 0) {
      batchBytes += builder.close().length;
      batches++;
      builder.reset();
      builder.append(timestamp, key, value, headers);
    }
  }
  batchBytes += builder.close().length;
  batches++;
  return { ms: performance.now() - start, batches, batchBytes };
}

function best<T extends { ms: number }>(run: () => T): T {
  let result = run(); // warm-up, also discarded when a later run is faster
  for (let i = 0; i < RUNS; i++) {
    const r = run();
    if (r.ms < result.ms) result = r;
  }
  return result;
}

const mb = (bytes: number, ms: number): string => ((bytes / 1e6) / (ms / 1e3)).toFixed(0);

function benchAppend(label: string, key: Buffer | null, value: Buffer, headers: RecordHeader[] | null): void {
  const r = best(() => appendRun(key, value, headers));
  const payload = RECORDS * (value.length + (key?.length ?? 0));
  console.log(
    `${label.padEnd(34)} ${((RECORDS / r.ms) * 1e3 / 1e6).toFixed(2).padStart(6)} M records/s  ` +
      `${mb(payload, r.ms).padStart(5)} MB/s payload  ${mb(r.batchBytes, r.ms).padStart(5)} MB/s batches  ` +
      `(${r.ms.toFixed(0)} ms, ${r.batches} batches)`,
  );
}

type Crc = (buf: Buffer) => number;

function crcRun(crc: Crc, buf: Buffer, totalBytes: number): { ms: number; sink: number } {
  const iterations = Math.max(1, Math.round(totalBytes / buf.length));
  let sink = 0;
  const start = performance.now();
  for (let i = 0; i < iterations; i++) sink ^= crc(buf);
  return { ms: (performance.now() - start) / (iterations * buf.length) * 1e6, sink }; // ms per MB
}

function benchCrc(label: string, crc: Crc, size: number): void {
  const buf = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) buf[i] = (i * 131 + 7) & 0xff;
  const r = best(() => crcRun(crc, buf, 256 * 1024 * 1024));
  console.log(`${label.padEnd(34)} ${(1e3 / r.ms).toFixed(0).padStart(6)} MB/s`);
}

async function loadNativeCrc(): Promise<Crc | null> {
  const name = '@node-rs/crc32';
  try {
    const mod = (await import(name)) as { crc32c?: (buf: Buffer, initial?: number) => number };
    return mod.crc32c === undefined ? null : (buf) => mod.crc32c!(buf);
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${RECORDS.toLocaleString('en')} records into ${BATCH_SIZE / 1024} KiB batches, best of ${RUNS}`);
  benchAppend('100 B value, null key', null, Buffer.alloc(100, 1), null);
  benchAppend('1 KiB value, null key', null, Buffer.alloc(1024, 1), null);
  benchAppend('100 B value, 16 B key, 2 headers', Buffer.alloc(16, 2), Buffer.alloc(100, 1), [
    { key: 'traceparent', value: Buffer.alloc(55, 3) },
    { key: 'content-type', value: Buffer.from('application/json') },
  ]);

  const jsCrc: Crc = (buf) => crc32c(buf);
  const native = await loadNativeCrc();
  for (const size of [16 * 1024, 1024 * 1024]) {
    const label = size >= 1024 * 1024 ? `${size / 1024 / 1024} MiB` : `${size / 1024} KiB`;
    benchCrc(`crc32c JS (slicing-by-16), ${label}`, jsCrc, size);
    if (native !== null) benchCrc(`crc32c @node-rs/crc32, ${label}`, native, size);
  }
  if (native === null) console.log('(@node-rs/crc32 not resolvable: native CRC skipped)');
}

void main();
