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
 * It follows bench/driver-contract.ts (the benchmark's common driver CLI: `--compression`, `--keyed`,
 * `--settings '{...}'` for any producer option, `--mode latency --rate R --duration-ms D`); `--linger-ms`
 * and `--batch-size` are kept for bench/producer-bench.ts. Unset options keep the producer's defaults.
 *
 * The last line of stdout is `RESULT {json}` (see `OurPerfResult`); progress goes to stderr.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { KafkaProducer, type KafkaProducerOptions as ProducerOptions } from '../libs/kafka-producer/src';
import type { DriverMode, DriverResult } from './driver-contract';

type Options = ProducerOptions<Buffer | null, Buffer>;

/** The contract's DriverResult, plus what producer-bench.ts reads. */
export interface OurPerfResult extends Omit<DriverResult, 'latencyMs'> {
  recordSize: number;
  /** Every `--latency-every`-th record in throughput mode, every record in latency mode. */
  latencyMs: { samples: number; avg: number; p50: number; p95: number; p99: number; p999: number; max: number };
  /** The whole process (start-up and transpilation included), for reference. */
  processCpuSec: number;
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  /** process.hrtime in microseconds at the start and end of the timed section (the clock of .cpuprofile files). */
  windowUs: { start: number; end: number };
  config: Record<string, unknown>;
  /** From producer.metrics() just before close(): how the records were batched. */
  producerMetrics: { batchSizeAvg: number; recordsPerRequestAvg: number; recordQueueTimeAvgMs: number; requestLatencyAvgMs: number };
}

interface Args {
  bootstrap: string;
  topic: string;
  mode: DriverMode;
  records: number;
  rate: number;
  durationMs: number;
  recordSize: number;
  acks: 'all' | '0' | '1';
  compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  keyed: boolean;
  /** Producer options on top of the ones above (the README's throughput settings, say). */
  settings: Partial<Options>;
  maxOutstanding: number;
  payloads: number;
  latencyEvery: number;
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
    if (v === undefined) throw new Error(`--${name} is required`);
    return v;
  };
  const int = (name: string, def?: number): number => {
    const v = Number(str(name, def === undefined ? undefined : String(def)));
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`--${name} must be a non-negative integer`);
    return v;
  };
  const oneOf = <T extends string>(name: string, def: T, allowed: readonly T[]): T => {
    const v = str(name, def) as T;
    if (!allowed.includes(v)) throw new Error(`--${name} must be one of ${allowed.join(', ')}`);
    return v;
  };
  const acks = oneOf('acks', 'all', ['all', '-1', '0', '1']);
  const mode = oneOf<DriverMode>('mode', 'throughput', ['throughput', 'latency']);
  const settings = JSON.parse(str('settings', '{}')) as Partial<Options>;
  if (values.has('linger-ms')) settings.lingerMs = int('linger-ms');
  if (values.has('batch-size')) settings.batchSize = int('batch-size');
  const idempotence = oneOf('enable-idempotence', 'default', ['default', 'true', 'false']);
  if (idempotence !== 'default') settings.enableIdempotence = idempotence === 'true';
  const rate = mode === 'latency' ? int('rate') : 0;
  const durationMs = mode === 'latency' ? int('duration-ms') : 0;
  return {
    bootstrap: str('bootstrap-server'),
    topic: str('topic'),
    mode,
    records: mode === 'latency' ? Math.max(1, Math.round((rate * durationMs) / 1000)) : int('num-records'),
    rate,
    durationMs,
    recordSize: int('record-size'),
    acks: acks === '-1' ? 'all' : acks,
    compression: oneOf('compression', 'none', ['none', 'gzip', 'snappy', 'lz4', 'zstd']),
    keyed: oneOf('keyed', 'false', ['true', 'false']) === 'true',
    settings,
    // enough to keep 12 partitions × 5 requests in flight fed with 100 B records; much deeper windows
    // make our per-record promises outlive V8's young generation (see bench/results/README.md)
    maxOutstanding: Math.max(1, int('max-outstanding', 5000)),
    payloads: Math.max(1, int('payloads', 64)),
    latencyEvery: Math.max(1, int('latency-every', 16)),
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

const LOOP_TICK_MS = 1;
/** A tick interval from monitorEventLoopDelay (ns) as the loop's delay beyond the tick (ms). */
const lateness = (ns: number): number => Math.max(0, ns / 1e6 - LOOP_TICK_MS);

/** The contract's keys: `k${i % 1024}`, made once. */
const KEYS = Array.from({ length: 1024 }, (_, i) => Buffer.from(`k${i}`));

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface Outcome {
  acked: number;
  failed: number;
  firstError: Error | null;
  sent: number;
}

/**
 * As fast as possible with backpressure: at most maxOutstanding records sent and not yet acknowledged;
 * only a counter and one shared pair of handlers per record, latency taken for every latencyEvery-th.
 */
async function throughput(producer: KafkaProducer, args: Args, payloads: Buffer[], latencies: Float64Array, latencyCount: { n: number }): Promise<Outcome> {
  const o: Outcome = { acked: 0, failed: 0, firstError: null, sent: 0 };
  let wake: (() => void) | null = null;
  const maxOutstanding = args.maxOutstanding;
  const settled = (): void => {
    if (wake !== null && (o.sent - o.acked - o.failed < maxOutstanding || o.firstError !== null)) {
      const w = wake;
      wake = null;
      w();
    }
  };
  const onAck = (): void => {
    o.acked++;
    settled();
  };
  const onFail = (e: unknown): void => {
    o.failed++;
    if (o.firstError === null) o.firstError = e instanceof Error ? e : new Error(String(e));
    settled();
  };
  const topic = args.topic;
  const every = args.latencyEvery;
  const nPayloads = payloads.length;
  const keyed = args.keyed;
  for (let i = 0; i < args.records; i++) {
    if (o.sent - o.acked - o.failed >= maxOutstanding) {
      await new Promise<void>((resolve) => (wake = resolve));
      if (o.firstError !== null) break; // a failure: stop, report it
    }
    const p = producer.send(keyed ? { topic, key: KEYS[i & 1023], value: payloads[i % nPayloads] } : { topic, value: payloads[i % nPayloads] });
    o.sent++;
    if (i % every === 0) {
      const start = performance.now();
      p.then(() => {
        if (latencyCount.n < latencies.length) latencies[latencyCount.n++] = performance.now() - start;
        onAck();
      }, onFail);
    } else {
      p.then(onAck, onFail);
    }
  }
  return o;
}

/** One record per call on a fixed schedule (late ticks caught up, not skipped), each awaited on its own. */
async function latency(producer: KafkaProducer, args: Args, payloads: Buffer[], latencies: Float64Array, latencyCount: { n: number }): Promise<Outcome> {
  const o: Outcome = { acked: 0, failed: 0, firstError: null, sent: 0 };
  const t0 = performance.now();
  const intervalMs = 1000 / args.rate;
  // one awaited send per record, as an application awaits it; the harness itself keeps only a counter
  // (a Set of pending calls would be per-record garbage of the harness's, not the producer's)
  let settled = 0;
  let allSettled: (() => void) | null = null;
  const finished = (): void => {
    if (++settled === o.sent && allSettled !== null) allSettled();
  };
  const one = async (i: number): Promise<void> => {
    const start = performance.now();
    try {
      await producer.send(args.keyed ? { topic: args.topic, key: KEYS[i & 1023], value: payloads[i % payloads.length] } : { topic: args.topic, value: payloads[i % payloads.length] });
      latencies[latencyCount.n++] = performance.now() - start;
      o.acked++;
    } catch (e) {
      o.failed++;
      if (o.firstError === null) o.firstError = e instanceof Error ? e : new Error(String(e));
    }
    finished();
  };
  while (o.sent < args.records) {
    // calls still owed when the window ends are not started (bench/driver-contract.ts)
    if (performance.now() - t0 >= args.durationMs) break;
    const due = Math.min(args.records, Math.floor((performance.now() - t0) / intervalMs) + 1);
    while (o.sent < due) void one(o.sent++);
    if (o.sent < args.records) await new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, t0 + o.sent * intervalMs - performance.now())));
  }
  if (settled < o.sent) await new Promise<void>((resolve) => (allSettled = resolve));
  return o;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const payloads = randomPayloads(args.payloads, args.recordSize);
  const latencies = new Float64Array(args.mode === 'latency' ? args.records : Math.ceil(args.records / args.latencyEvery));
  const latencyCount = { n: 0 };

  const options: Options = {
    bootstrapServers: args.bootstrap.split(','),
    clientId: 'our-producer-perf',
    acks: args.acks,
    compressionType: args.compression,
    ...args.settings,
  };
  const producer = new KafkaProducer(options);

  // The histogram records the time between the ticks of a timer of this period, so an idle loop reads
  // about LOOP_TICK_MS: the loop's delay is what exceeds it.
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_TICK_MS });
  loopDelay.enable();
  const cpu0 = process.cpuUsage();
  const hr0 = process.hrtime.bigint();
  const t0 = performance.now();
  const o = args.mode === 'latency' ? await latency(producer, args, payloads, latencies, latencyCount) : await throughput(producer, args, payloads, latencies, latencyCount);
  await producer.flush();
  const m = producer.metrics();
  const producerMetrics = {
    batchSizeAvg: m['batch-size-avg'],
    recordsPerRequestAvg: m['records-per-request-avg'],
    recordQueueTimeAvgMs: m['record-queue-time-avg'],
    requestLatencyAvgMs: m['request-latency-avg'],
  };
  await producer.close();
  // the handlers of the last records run as microtasks after their promises settle
  await new Promise<void>((resolve) => setImmediate(resolve));
  const elapsedMs = performance.now() - t0;
  const hr1 = process.hrtime.bigint();
  const cpu = process.cpuUsage(cpu0);
  loopDelay.disable();

  const lat = latencies.subarray(0, latencyCount.n).sort();
  let sum = 0;
  for (let i = 0; i < lat.length; i++) sum += lat[i];
  const total = process.cpuUsage();
  const { acked, failed, sent } = o;
  const errorMessage: string | null = o.firstError === null ? null : o.firstError.message;
  const { bootstrapServers: _servers, ...config } = options;
  const result: OurPerfResult = {
    client: 'ours',
    clientVersion: ourVersion(),
    runtime: process.version,
    settings: { ...config, driven: args.mode === 'latency' ? `one awaited send() per record at ${args.rate}/s` : `send() per record, at most ${args.maxOutstanding} unacknowledged (README: await in windows)` },
    mode: args.mode,
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
      p999: percentile(lat, 99.9),
      max: lat.length === 0 ? 0 : lat[lat.length - 1],
    },
    maxRssKb: process.resourceUsage().maxRSS,
    cpuUserSec: cpu.user / 1e6,
    cpuSystemSec: cpu.system / 1e6,
    processCpuSec: (total.user + total.system) / 1e6,
    eventLoopDelayP99Ms: lateness(loopDelay.percentile(99)),
    eventLoopDelayMs: { p50: lateness(loopDelay.percentile(50)), p99: lateness(loopDelay.percentile(99)), max: lateness(loopDelay.max) },
    windowUs: { start: Number(hr0 / 1000n), end: Number(hr1 / 1000n) },
    config: { ...config, maxOutstanding: args.maxOutstanding, payloads: payloads.length, latencyEvery: args.latencyEvery },
    producerMetrics,
  };
  process.stderr.write(
    `ours: ${acked} records acked (${failed} failed) in ${(elapsedMs / 1000).toFixed(2)} s: ${result.recordsPerSec.toFixed(0)} records/s, ${result.mbPerSec.toFixed(2)} MB/s, p50 ${result.latencyMs.p50.toFixed(1)} ms, p99 ${result.latencyMs.p99.toFixed(1)} ms, batch ${Math.round(producerMetrics.batchSizeAvg)} B avg, ${Math.round(producerMetrics.recordsPerRequestAvg)} records/request, request latency ${producerMetrics.requestLatencyAvgMs.toFixed(1)} ms avg\n`,
  );
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  if (failed > 0) process.exitCode = 2;
}

function ourVersion(): string {
  // bench/ under ts-node, or .bench-build/bench/ when bench/bench.ts compiled it
  for (const dir of [path.join(__dirname, '..'), path.join(__dirname, '..', '..')]) {
    const file = path.join(dir, 'libs', 'kafka-producer', 'package.json');
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

main().catch((e: unknown) => {
  process.stderr.write(`our-producer-perf failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
