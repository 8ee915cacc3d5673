/**
 * Our producer's counterpart of Java's `ProducerPerformance`, run as a child process by
 * `bench/producer-bench.ts` so that its RSS and CPU are its own. It can also be run by hand:
 *
 *   npx ts-node --transpile-only bench/our-producer-perf.ts --bootstrap-server 127.0.0.1:9092 \
 *     --topic t --num-records 1000000 --record-size 100 [--acks all] [--linger-ms 5] [--batch-size 16384] \
 *     [--max-outstanding N] [--payloads 64] [--latency-every 16] [--enable-idempotence true|false|default]
 *
 * What it does, and how it differs from ProducerPerformance:
 * - Unkeyed values of exactly `--record-size` bytes of random A–Z, like Java's `--record-size`. Java
 *   refills its one payload array with fresh random bytes before every send; we generate `--payloads`
 *   distinct values once and cycle through them (the RNG is the benchmark's cost, not the producer's).
 * - As fast as possible with backpressure: at most `--max-outstanding` records (default 5000) sent but
 *   not yet acknowledged (Java's bound is `buffer.memory`, where send() blocks). Only a counter and one shared
 *   pair of handlers per record; latency (send → ack) is taken for every `--latency-every`-th record,
 *   which costs a closure for those records only.
 * - Timed like Java: from just before the first send (after the producer is constructed, so the first
 *   metadata fetch is inside) until close() has returned.
 *
 * The last line of stdout is `RESULT {json}` (see `OurPerfResult`); progress goes to stderr.
 */
import { performance } from 'node:perf_hooks';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { KafkaProducer } from '../libs/kafka-producer/src';

export interface OurPerfResult {
  records: number;
  recordSize: number;
  acked: number;
  failed: number;
  firstError: string | null;
  elapsedMs: number;
  recordsPerSec: number;
  /** MiB/s of value bytes: the same unit as ProducerPerformance's "MB/sec". */
  mbPerSec: number;
  latencyMs: { samples: number; avg: number; p50: number; p95: number; p99: number; max: number };
  /** process.resourceUsage().maxRSS at the end, in KiB (whole process, ts-node included). */
  maxRssKb: number;
  /** process.cpuUsage() over the timed section, in seconds. */
  cpuUserSec: number;
  cpuSystemSec: number;
  /** The whole process (start-up and transpilation included), for reference. */
  processCpuSec: number;
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  /** process.hrtime in microseconds at the start and end of the timed section (the clock of .cpuprofile files). */
  windowUs: { start: number; end: number };
  config: { acks: string; lingerMs: number; batchSize: number; maxOutstanding: number; payloads: number; latencyEvery: number };
}

interface Args {
  bootstrap: string;
  topic: string;
  records: number;
  recordSize: number;
  acks: 'all' | '0' | '1';
  lingerMs: number;
  batchSize: number;
  maxOutstanding: number;
  payloads: number;
  latencyEvery: number;
  /** Unset: the producer's default (on, as in Java). */
  enableIdempotence: boolean | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) values.set(a.slice(2, eq), a.slice(eq + 1));
    else values.set(a.slice(2), argv[++i] ?? '');
  }
  const str = (name: string, def?: string): string => {
    const v = values.get(name) ?? def;
    if (v === undefined || v === '') throw new Error(`--${name} is required`);
    return v;
  };
  const int = (name: string, def?: number): number => {
    const v = Number(str(name, def === undefined ? undefined : String(def)));
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`--${name} must be a non-negative integer`);
    return v;
  };
  const acks = str('acks', 'all');
  if (acks !== 'all' && acks !== '-1' && acks !== '0' && acks !== '1') throw new Error('--acks must be all, -1, 0 or 1');
  const recordSize = int('record-size');
  const idempotence = str('enable-idempotence', 'default');
  if (idempotence !== 'default' && idempotence !== 'true' && idempotence !== 'false') throw new Error('--enable-idempotence must be true, false or default');
  return {
    bootstrap: str('bootstrap-server'),
    topic: str('topic'),
    records: int('num-records'),
    recordSize,
    acks: acks === '-1' ? 'all' : acks,
    lingerMs: int('linger-ms', 5),
    batchSize: int('batch-size', 16384),
    // enough to keep 6 partitions × 5 requests in flight fed with 100 B records; much deeper windows
    // make our per-record promises outlive V8's young generation (see bench/results/README.md)
    maxOutstanding: Math.max(1, int('max-outstanding', 5000)),
    payloads: Math.max(1, int('payloads', 64)),
    latencyEvery: Math.max(1, int('latency-every', 16)),
    enableIdempotence: idempotence === 'default' ? undefined : idempotence === 'true',
  };
}

/** Random A–Z, as ProducerPerformance fills its payload (`random.nextInt(26) + 65`). */
function randomPayloads(count: number, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const b = Buffer.allocUnsafe(size);
    for (let j = 0; j < size; j++) b[j] = 65 + Math.floor(Math.random() * 26);
    out.push(b);
  }
  return out;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const payloads = randomPayloads(args.payloads, args.recordSize);
  const latencies = new Float64Array(Math.ceil(args.records / args.latencyEvery));
  let latencyCount = 0;

  const producer = new KafkaProducer({
    bootstrapServers: args.bootstrap.split(','),
    clientId: 'our-producer-perf',
    acks: args.acks,
    lingerMs: args.lingerMs,
    batchSize: args.batchSize,
    compressionType: 'none',
    ...(args.enableIdempotence === undefined ? {} : { enableIdempotence: args.enableIdempotence }),
  });

  let acked = 0;
  let failed = 0;
  let firstError: Error | null = null;
  let sent = 0;
  let wake: (() => void) | null = null;
  const maxOutstanding = args.maxOutstanding;
  const settled = (): void => {
    if (wake !== null && (sent - acked - failed < maxOutstanding || firstError !== null)) {
      const w = wake;
      wake = null;
      w();
    }
  };
  const onAck = (): void => {
    acked++;
    settled();
  };
  const onFail = (e: unknown): void => {
    failed++;
    if (firstError === null) firstError = e instanceof Error ? e : new Error(String(e));
    settled();
  };

  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const cpu0 = process.cpuUsage();
  const hr0 = process.hrtime.bigint();
  const t0 = performance.now();
  const topic = args.topic;
  const every = args.latencyEvery;
  const nPayloads = payloads.length;
  for (let i = 0; i < args.records; i++) {
    if (sent - acked - failed >= maxOutstanding) {
      await new Promise<void>((resolve) => (wake = resolve));
      if (firstError !== null) break; // a failure: stop, report it
    }
    const p = producer.send({ topic, value: payloads[i % nPayloads] });
    sent++;
    if (i % every === 0) {
      const start = performance.now();
      p.then(() => {
        if (latencyCount < latencies.length) latencies[latencyCount++] = performance.now() - start;
        onAck();
      }, onFail);
    } else {
      p.then(onAck, onFail);
    }
  }
  await producer.flush();
  await producer.close();
  // the handlers of the last records run as microtasks after their promises settle
  await new Promise<void>((resolve) => setImmediate(resolve));
  const elapsedMs = performance.now() - t0;
  const hr1 = process.hrtime.bigint();
  const cpu = process.cpuUsage(cpu0);
  loopDelay.disable();

  const lat = latencies.subarray(0, latencyCount).sort();
  let sum = 0;
  for (let i = 0; i < lat.length; i++) sum += lat[i];
  const total = process.cpuUsage();
  const errorMessage: string | null = firstError === null ? null : (firstError as Error).message;
  const result: OurPerfResult = {
    records: sent,
    recordSize: args.recordSize,
    acked,
    failed,
    firstError: errorMessage,
    elapsedMs,
    recordsPerSec: (acked * 1000) / elapsedMs,
    mbPerSec: (acked * args.recordSize * 1000) / elapsedMs / (1024 * 1024),
    latencyMs: {
      samples: lat.length,
      avg: lat.length === 0 ? 0 : sum / lat.length,
      p50: percentile(lat, 50),
      p95: percentile(lat, 95),
      p99: percentile(lat, 99),
      max: lat.length === 0 ? 0 : lat[lat.length - 1],
    },
    maxRssKb: process.resourceUsage().maxRSS,
    cpuUserSec: cpu.user / 1e6,
    cpuSystemSec: cpu.system / 1e6,
    processCpuSec: (total.user + total.system) / 1e6,
    eventLoopDelayMs: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
    windowUs: { start: Number(hr0 / 1000n), end: Number(hr1 / 1000n) },
    config: { acks: args.acks, lingerMs: args.lingerMs, batchSize: args.batchSize, maxOutstanding, payloads: nPayloads, latencyEvery: every },
  };
  process.stderr.write(
    `ours: ${acked} records acked (${failed} failed) in ${(elapsedMs / 1000).toFixed(2)} s: ${result.recordsPerSec.toFixed(0)} records/s, ${result.mbPerSec.toFixed(2)} MB/s, p50 ${result.latencyMs.p50.toFixed(1)} ms, p99 ${result.latencyMs.p99.toFixed(1)} ms\n`,
  );
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  if (failed > 0) process.exitCode = 2;
}

main().catch((e: unknown) => {
  process.stderr.write(`our-producer-perf failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
