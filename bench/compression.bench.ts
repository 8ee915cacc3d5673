/**
 * Compression throughput per codec for a 16 KiB and a 1 MiB batch of JSON-like records:
 *
 *   npx ts-node --transpile-only bench/compression.bench.ts
 *
 * Columns (MB/s of plain records in):
 * - sync: compressBatch on the event loop.
 * - async: compressBatchAsync awaited one at a time (below ASYNC_COMPRESSION_THRESHOLD it is the sync path).
 * - pool: the codec's thread-pool path forced whatever the size, one at a time: the round-trip cost that
 *   the thresholds weigh against.
 * - pool x4: four batches in flight on the pool at once; `loop` is the event loop's utilisation meanwhile
 *   (how much of the time JavaScript kept it busy: low means the loop stayed free for other work).
 * Shared machines are noisy: compare the columns of one run, not runs with each other.
 */
import { performance } from 'node:perf_hooks';
import { RECORD_BATCH_OVERHEAD } from '../libs/kafka-producer/src/protocol/records/record-batch';
import { RecordBatchBuilder } from '../libs/kafka-producer/src/protocol/records/record-batch-builder';
import { jsonishRecords } from '../libs/kafka-producer/test/fixtures/compression/compression-test-helpers';
import { gzipCompress } from '../libs/kafka-producer/src/protocol/records/compression/gzip';
import { ASYNC_COMPRESSION_THRESHOLD, compressBatch, compressBatchAsync, CompressionName, resolveCompressionLevel } from '../libs/kafka-producer/src/protocol/records/compression';
import { lz4Compress } from '../libs/kafka-producer/src/protocol/records/compression/lz4';
import { snappyCompress } from '../libs/kafka-producer/src/protocol/records/compression/snappy';
import { zstdCompress } from '../libs/kafka-producer/src/protocol/records/compression/zstd';

const BUDGET_MS = Number(process.env.BENCH_MS ?? 700);

function builderOf(bytes: number): RecordBatchBuilder {
  const records = jsonishRecords(bytes);
  const builder = new RecordBatchBuilder(Buffer.alloc(bytes * 2 + 4096));
  for (const r of records) {
    if (builder.sizeInBytes - RECORD_BATCH_OVERHEAD >= bytes) break;
    builder.append(r.timestamp, r.key, r.value, r.headers);
  }
  return builder;
}

function pool(codec: CompressionName, input: Buffer, level: number): Promise<Buffer> {
  switch (codec) {
    case 'gzip':
      return gzipCompress(input, level);
    case 'snappy':
      return snappyCompress(input);
    case 'lz4':
      return lz4Compress(input, level);
    case 'zstd':
      return zstdCompress(input, level);
    default:
      return Promise.resolve(input);
  }
}

async function measure(run: () => unknown | Promise<unknown>, bytesPerRun: number, inFlight = 1): Promise<{ mbps: number; elu: number }> {
  await run();
  const start = performance.now();
  const elu0 = performance.eventLoopUtilization();
  let runs = 0;
  while (performance.now() - start < BUDGET_MS) {
    if (inFlight === 1) await run();
    else await Promise.all(Array.from({ length: inFlight }, run));
    runs += inFlight;
  }
  const elapsed = performance.now() - start;
  const elu = performance.eventLoopUtilization(elu0).utilization;
  return { mbps: (runs * bytesPerRun) / elapsed / 1000, elu };
}

async function main(): Promise<void> {
  const cases: Array<[CompressionName, number | undefined, string]> = [
    ['gzip', undefined, 'gzip (6)'],
    ['gzip', 1, 'gzip 1'],
    ['snappy', undefined, 'snappy'],
    ['lz4', undefined, 'lz4 (9, fast)'],
    ['lz4', 3, 'lz4 3 (HC, JS)'],
    ['zstd', undefined, 'zstd (3)'],
    ['zstd', 12, 'zstd 12 (wasm)'],
  ];
  console.log(`node ${process.version}, ${BUDGET_MS} ms per cell`);
  console.log('batch    codec             ratio    sync   async    pool  pool x4  loop');
  for (const size of [16 * 1024, 1024 * 1024]) {
    const builder = builderOf(size);
    const input = builder.uncompressedRecords();
    for (const [codec, level, label] of cases) {
      const lvl = resolveCompressionLevel(codec, level);
      const ratio = (compressBatch(builder, codec, level).length - RECORD_BATCH_OVERHEAD) / input.length;
      const sync = await measure(() => compressBatch(builder, codec, level), input.length);
      const viaAsync = await measure(() => compressBatchAsync(builder, codec, level), input.length);
      const onPool = await measure(() => pool(codec, input, lvl), input.length);
      const four = await measure(() => pool(codec, input, lvl), input.length, 4);
      const threshold = ASYNC_COMPRESSION_THRESHOLD[codec as Exclude<CompressionName, 'none'>];
      console.log(
        `${size === 16 * 1024 ? '16 KiB' : '1 MiB '}   ${label.padEnd(16)} ${ratio.toFixed(3).padStart(6)} ${sync.mbps.toFixed(0).padStart(7)} ${viaAsync.mbps.toFixed(0).padStart(7)}${input.length < threshold ? '*' : ' '}${onPool.mbps.toFixed(0).padStart(7)} ${four.mbps.toFixed(0).padStart(8)} ${(four.elu * 100).toFixed(0).padStart(4)}%`,
      );
    }
  }
  console.log('* below the async threshold: compressBatchAsync took the sync path');
}

void main();
