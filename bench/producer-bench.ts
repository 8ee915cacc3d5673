/**
 * Our producer against Java's ProducerPerformance, on the same local broker, in the same run.
 *
 *   npm run bench:quick      # 2 repetitions of small counts (~1.5–3 min on two cores, depending on neighbours)
 *   npm run bench            # 3 repetitions of larger counts, medians reported (~4–6 min)
 *   npx ts-node --transpile-only bench/producer-bench.ts [--quick] [--reps N] [--case SIZE:RECORDS[:K,K...] ...]
 *       [--partitions 6] [--max-outstanding K] [--java-heap 1g] [--java-payload file|random] [--warmup N]
 *       [--skip-java] [--out FILE]
 *   npx ts-node --transpile-only bench/producer-bench.ts --cpu-prof-dir /tmp/prof [--case 100:1000000:5000,40000]
 *       # only our producer, first case (each window), under `node --cpu-prof`; prints profile-summary tables
 *
 * First a short unmeasured Java run warms the broker up, and a 1-record Java run measures the JVM's own
 * start-up CPU. Then per repetition and case: a fresh topic for each run (6 partitions, RF 1), Java then
 * ours (the other way round on odd repetitions), ours in a child Node process
 * (bench/our-producer-perf.ts) so its RSS and CPU are its own, once per window K (at most K records sent
 * and not yet acknowledged; the 100 B case also runs a deep window, where our per-record garbage
 * outlives the young generation and GC dominates: see bench/results/README.md); then the topics' end
 * offsets are read with Java's GetOffsetShell and must equal the records sent, so that neither side can
 * win by losing (or duplicating) data. Both sides: unkeyed values, acks=all, no compression, linger.ms 5,
 * batch.size 16384 (Kafka 4.x defaults, set explicitly on both sides), values of random A–Z drawn from
 * 64 values generated once (Java: `--payload-file`; `--java-payload random` uses the stock
 * `--record-size`, which refills the value with a random generator before every send).
 *
 * The broker is a 1-node KafkaCluster with the harness's 'throughput' JVM profile (G1, C2), or
 * KAFKA_BOOTSTRAP_SERVERS. Java runs as bin/kafka-producer-perf-test.sh would run it (kafka-run-class.sh's
 * G1 flags, full tiered compilation) with -Xmx1g, under /usr/bin/time for its CPU and RSS.
 * Results: a table on stdout and bench/results/latest.json (fields: bench/results/README.md).
 *
 * These machines are shared and noisy: compare the ratios of one run, not absolute numbers across runs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { externalCluster, javaBinary, KafkaCluster, runJavaToolOrThrow } from '../libs/kafka-testing/src';
import type { KafkaClusterBase, KafkaJars } from '../libs/kafka-testing/src';
import { encodeRequest, parseEndpoint, roundTrip } from '../libs/kafka-testing/src/probe';
import { describeFailure, runProcess } from '../libs/kafka-testing/src/run-process';
import { KAFKA_RUN_CLASS_JVM_OPTS, PAYLOAD_SET_SIZE, payloadFile, runJavaPerf } from './java-perf';
import type { OurPerfResult } from './our-producer-perf';
import { formatSummary, readProfile, summarizeProfile } from './profile-summary';

const BENCH_DIR = __dirname;
const REPO_ROOT = path.resolve(BENCH_DIR, '..');
/** Producer settings both sides use. */
const COMMON = { acks: 'all', compression: 'none', lingerMs: 5, batchSize: 16384 } as const;
/** No single run may take longer than this. */
const RUN_TIMEOUT_MS = 10 * 60_000;

interface CaseSpec {
  recordSize: number;
  records: number;
  /** Our runs, one per window: at most K records sent and not yet acknowledged. The first is the headline. */
  windows: number[];
}

/** Our default window: enough to keep 6 partitions × 5 requests in flight fed at 100 B, below the GC cliff. */
const DEFAULT_WINDOW = 5000;
/** A deep queue, like an application that sends without awaiting (about 4 MB of 100 B records). */
const DEEP_WINDOW = 40_000;

interface Options {
  mode: 'quick' | 'full' | 'profile';
  reps: number;
  cases: CaseSpec[];
  partitions: number;
  javaHeap: string;
  skipJava: boolean;
  out: string;
  cpuProfDir: string | undefined;
  /** Records of 100 B that Java sends to a throwaway topic first, so the broker's JIT is warm for the first measured run. */
  warmupRecords: number;
  /**
   * 'file' (default): Java picks each record's value from a file of PAYLOAD_SET_SIZE random A–Z values
   * of the record size (`--payload-file`), the same work as ours. 'random': stock `--record-size`, which
   * refills the payload with SplittableRandom before every send (one nextInt per byte, on the send path).
   */
  javaPayload: 'file' | 'random';
}

interface JavaResult {
  records: number;
  /** User and system CPU seconds of the JVM, from /usr/bin/time; null if unavailable. */
  cpuUserSec: number | null;
  cpuSystemSec: number | null;
  recordsPerSec: number;
  mbPerSec: number;
  latencyMs: { avg: number; max: number; p50: number; p95: number; p99: number; p999: number };
  /** Whole JVM process (start-up and JIT included), from /usr/bin/time; null if unavailable. */
  cpuSec: number | null;
  maxRssKb: number | null;
  wallSec: number | null;
  summaryLine: string;
}

interface SideResult<T> {
  topic: string;
  result: T;
  /** Sum of the topic's end offsets after the run (GetOffsetShell). */
  endOffsetSum: number | null;
  verified: boolean;
  /** Broker JVM CPU seconds during this run (local cluster only). */
  brokerCpuSec: number | null;
  loadAvg1: number;
}

interface RunRecord {
  case: string;
  recordSize: number;
  records: number;
  rep: number;
  java: SideResult<JavaResult> | null;
  /** One per window, in the case's order. */
  ours: Array<SideResult<OurPerfResult> & { window: number }>;
}

interface SummaryRow {
  case: string;
  recordSize: number;
  records: number;
  /** Our window K for this row (the Java columns are the same runs for every window of a case). */
  oursWindow: number;
  reps: number;
  javaRecordsPerSec: number | null;
  javaMBPerSec: number | null;
  oursRecordsPerSec: number;
  oursMBPerSec: number;
  ratio: number | null;
  oursPeakRssMiB: number;
  oursCpuSecPerMillion: number;
  /** Whole JVM, minus the CPU of a 1-record run (JVM start, class loading, connecting). */
  javaCpuSecPerMillion: number | null;
  /** Whole JVM, start-up included. */
  javaCpuSecPerMillionGross: number | null;
  javaPeakRssMiB: number | null;
  javaLatencyP50Ms: number | null;
  javaLatencyP99Ms: number | null;
  oursLatencyP50Ms: number;
  oursLatencyP99Ms: number;
  brokerCpuSecPerMillionJava: number | null;
  brokerCpuSecPerMillionOurs: number | null;
  allVerified: boolean;
}

const QUICK: CaseSpec[] = [
  { recordSize: 100, records: 2_000_000, windows: [DEFAULT_WINDOW, DEEP_WINDOW] },
  { recordSize: 1024, records: 500_000, windows: [DEFAULT_WINDOW] },
];
const FULL: CaseSpec[] = [
  { recordSize: 100, records: 5_000_000, windows: [DEFAULT_WINDOW, DEEP_WINDOW] },
  { recordSize: 1024, records: 1_500_000, windows: [DEFAULT_WINDOW] },
];

function parseOptions(argv: readonly string[]): Options {
  let quick = false;
  let reps: number | undefined;
  const cases: CaseSpec[] = [];
  let partitions = 6;
  let maxOutstanding: number | undefined;
  let javaHeap = '1g';
  let skipJava = false;
  let out = path.join(BENCH_DIR, 'results', 'ours-vs-java.json');
  let cpuProfDir: string | undefined;
  let warmupRecords: number | undefined;
  let javaPayload: 'file' | 'random' = 'file';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = (): number => {
      const v = Number(next());
      if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`${a} needs a positive integer`);
      return v;
    };
    if (a === '--quick') quick = true;
    else if (a === '--reps') reps = int();
    else if (a === '--case') {
      const m = /^(\d+):(\d+)(?::(\d+(?:,\d+)*))?$/.exec(next());
      if (m === null) throw new Error('--case takes SIZE:RECORDS[:K,K...], e.g. 100:500000 or 100:500000:5000,40000');
      cases.push({ recordSize: Number(m[1]), records: Number(m[2]), windows: m[3] === undefined ? [DEFAULT_WINDOW] : m[3].split(',').map(Number) });
    } else if (a === '--partitions') partitions = int();
    else if (a === '--max-outstanding') maxOutstanding = int();
    else if (a === '--java-heap') javaHeap = next();
    else if (a === '--skip-java') skipJava = true;
    else if (a === '--out') out = path.resolve(next());
    else if (a === '--cpu-prof-dir') cpuProfDir = path.resolve(next());
    else if (a === '--java-payload') {
      const v = next();
      if (v !== 'file' && v !== 'random') throw new Error('--java-payload is file or random');
      javaPayload = v;
    } else if (a === '--warmup') {
      warmupRecords = Number(next());
      if (!Number.isSafeInteger(warmupRecords) || warmupRecords < 0) throw new Error('--warmup needs a non-negative integer');
    }
    else throw new Error(`unknown argument ${a}`);
  }
  if (cpuProfDir !== undefined && cpuProfDir.startsWith(REPO_ROOT + path.sep)) throw new Error('--cpu-prof-dir: write profiles outside the repository (e.g. /tmp/prof)');
  const mode = cpuProfDir !== undefined ? 'profile' : quick ? 'quick' : 'full';
  let chosen = cases.length > 0 ? cases : mode === 'profile' ? [{ recordSize: 100, records: 1_000_000, windows: [DEFAULT_WINDOW, DEEP_WINDOW] }] : quick ? QUICK : FULL;
  if (maxOutstanding !== undefined) chosen = chosen.map((c) => ({ ...c, windows: [maxOutstanding as number] }));
  return {
    mode,
    reps: mode === 'profile' ? 1 : (reps ?? (quick ? 2 : 3)),
    cases: mode === 'profile' ? chosen.slice(0, 1) : chosen,
    partitions,
    javaHeap,
    skipJava: skipJava || mode === 'profile',
    out,
    cpuProfDir,
    warmupRecords: warmupRecords ?? (quick || cpuProfDir !== undefined ? 500_000 : 1_000_000),
    javaPayload,
  };
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

const caseName = (c: CaseSpec): string => (c.recordSize >= 1024 && c.recordSize % 1024 === 0 ? `${c.recordSize / 1024} KiB` : `${c.recordSize} B`);

// ---------------------------------------------------------------------------------------------------
// Java's ProducerPerformance

async function runJava(jars: KafkaJars, bootstrap: string, topic: string, c: CaseSpec, heap: string, payload: { file: string } | 'random'): Promise<JavaResult> {
  const r = await runJavaPerf({
    jars,
    bootstrap,
    topic,
    recordSize: c.recordSize,
    payload,
    mode: 'throughput',
    records: c.records,
    properties: { acks: COMMON.acks, 'compression.type': COMMON.compression, 'linger.ms': String(COMMON.lingerMs), 'batch.size': String(COMMON.batchSize) },
    heap,
    timeoutMs: RUN_TIMEOUT_MS,
    cwd: REPO_ROOT,
  });
  const measured = r.wallSec !== null;
  return {
    records: r.acked,
    recordsPerSec: r.recordsPerSec,
    mbPerSec: r.mbPerSec,
    latencyMs: r.latencyDetail,
    summaryLine: r.summaryLine,
    wallSec: r.wallSec,
    cpuUserSec: measured ? r.cpuUserSec : null,
    cpuSystemSec: measured ? r.cpuSystemSec : null,
    cpuSec: measured ? r.cpuUserSec + r.cpuSystemSec : null,
    maxRssKb: measured ? r.maxRssKb : null,
  };
}

// ---------------------------------------------------------------------------------------------------
// Ours, in a child process

async function runOurs(bootstrap: string, topic: string, c: CaseSpec, window: number, options: Options): Promise<OurPerfResult> {
  const nodeFlags = options.cpuProfDir !== undefined ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir] : [];
  const args = [
    ...nodeFlags,
    '-r',
    require.resolve('ts-node/register/transpile-only'),
    path.join(BENCH_DIR, 'our-producer-perf.ts'),
    '--bootstrap-server',
    bootstrap,
    '--topic',
    topic,
    '--num-records',
    String(c.records),
    '--record-size',
    String(c.recordSize),
    '--acks',
    COMMON.acks,
    '--linger-ms',
    String(COMMON.lingerMs),
    '--batch-size',
    String(COMMON.batchSize),
    '--payloads',
    String(PAYLOAD_SET_SIZE),
    '--max-outstanding',
    String(window),
  ];
  const r = await runProcess(process.execPath, args, { timeoutMs: RUN_TIMEOUT_MS, cwd: REPO_ROOT });
  const line = r.stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('RESULT '));
  if (line === undefined) throw new Error(`our-producer-perf printed no result:\n${describeFailure(r)}`);
  const result = JSON.parse(line.slice('RESULT '.length)) as OurPerfResult;
  if (r.code !== 0 && result.failed === 0) throw new Error(`our-producer-perf exited with ${r.code}:\n${describeFailure(r)}`);
  return result;
}

// ---------------------------------------------------------------------------------------------------
// Verification and broker CPU

/** Sum of end offsets per topic, from Java's GetOffsetShell (`topic:partition:offset` per line). */
async function endOffsetSums(jars: KafkaJars, bootstrap: string, topics: readonly string[]): Promise<Map<string, number>> {
  const regex = `^(${topics.join('|')})$`;
  const r = await runJavaToolOrThrow(jars, 'org.apache.kafka.tools.GetOffsetShell', ['--bootstrap-server', bootstrap, '--topic', regex, '--time', '-1'], { timeoutMs: 120_000 });
  const sums = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    const m = /^(.+):(\d+):(\d+)$/.exec(line.trim());
    if (m !== null) sums.set(m[1], (sums.get(m[1]) ?? 0) + Number(m[3]));
  }
  return sums;
}

let clockTicks: number | undefined;
function procCpuSec(pids: readonly number[]): number | null {
  if (pids.length === 0) return null;
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      // fields after the command name (which is in parentheses and may contain spaces)
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    } catch {
      return null;
    }
  }
  return ticks / clockTicks;
}

// ---------------------------------------------------------------------------------------------------
// Reporting

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function medianOrNull(values: ReadonlyArray<number | null>): number | null {
  const v = values.filter((x): x is number => x !== null);
  return v.length === 0 ? null : median(v);
}

function summarize(runs: readonly RunRecord[], cases: readonly CaseSpec[], javaStartupCpuSec: number | null): SummaryRow[] {
  const perMillion = (sec: number | null, n: number): number | null => (sec === null ? null : (sec * 1e6) / n);
  return cases.flatMap((c) => {
    const rs = runs.filter((r) => r.recordSize === c.recordSize && r.records === c.records);
    const java = rs.map((r) => r.java);
    const javaRps = medianOrNull(java.map((j) => j?.result.recordsPerSec ?? null));
    return c.windows.map((window, wi): SummaryRow => {
      const ours = rs.map((r) => r.ours[wi]);
      const oursRps = median(ours.map((o) => o.result.recordsPerSec));
      return {
        case: caseName(c),
        recordSize: c.recordSize,
        records: c.records,
        oursWindow: window,
        reps: rs.length,
        javaRecordsPerSec: javaRps,
        javaMBPerSec: medianOrNull(java.map((j) => j?.result.mbPerSec ?? null)),
        oursRecordsPerSec: oursRps,
        oursMBPerSec: median(ours.map((o) => o.result.mbPerSec)),
        ratio: javaRps === null ? null : oursRps / javaRps,
        oursPeakRssMiB: Math.max(...ours.map((o) => o.result.maxRssKb)) / 1024,
        oursCpuSecPerMillion: median(ours.map((o) => ((o.result.cpuUserSec + o.result.cpuSystemSec) * 1e6) / o.result.records)),
        javaCpuSecPerMillion: medianOrNull(
          java.map((j) => (j === null || j.result.cpuSec === null || javaStartupCpuSec === null ? null : perMillion(Math.max(0, j.result.cpuSec - javaStartupCpuSec), j.result.records))),
        ),
        javaCpuSecPerMillionGross: medianOrNull(java.map((j) => (j === null ? null : perMillion(j.result.cpuSec, j.result.records)))),
        javaPeakRssMiB: medianOrNull(java.map((j) => (j === null || j.result.maxRssKb === null ? null : j.result.maxRssKb / 1024))),
        javaLatencyP50Ms: medianOrNull(java.map((j) => j?.result.latencyMs.p50 ?? null)),
        javaLatencyP99Ms: medianOrNull(java.map((j) => j?.result.latencyMs.p99 ?? null)),
        oursLatencyP50Ms: median(ours.map((o) => o.result.latencyMs.p50)),
        oursLatencyP99Ms: median(ours.map((o) => o.result.latencyMs.p99)),
        brokerCpuSecPerMillionJava: medianOrNull(java.map((j) => (j === null ? null : perMillion(j.brokerCpuSec, j.result.records)))),
        brokerCpuSecPerMillionOurs: medianOrNull(ours.map((o) => perMillion(o.brokerCpuSec, o.result.records))),
        allVerified: rs.every((r) => r.ours[wi].verified && (r.java === null || r.java.verified)),
      };
    });
  });
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (i === 0 ? ':' : '-') + '-'.repeat(w) + (i === 0 ? '-' : ':')).join('|')}|`, ...rows.map(line)].join('\n');
}

const fmt = (v: number | null, digits = 0): string => (v === null ? 'n/a' : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));
const kilo = (n: number): string => (n % 1000 === 0 ? `${n / 1000}k` : String(n));

function formatTables(summary: readonly SummaryRow[]): string {
  const label = (s: SummaryRow): string => `${s.case} × ${fmt(s.records)}, ours K=${kilo(s.oursWindow)}`;
  const main = table(
    ['case', 'Java rec/s', 'Java MB/s', 'ours rec/s', 'ours MB/s', 'ours/Java', 'our peak RSS MiB', 'our CPU-s/M rec', 'Java CPU-s/M rec*'],
    summary.map((s) => [
      label(s),
      fmt(s.javaRecordsPerSec),
      fmt(s.javaMBPerSec, 2),
      fmt(s.oursRecordsPerSec),
      fmt(s.oursMBPerSec, 2),
      s.ratio === null ? 'n/a' : s.ratio.toFixed(2),
      fmt(s.oursPeakRssMiB, 0),
      fmt(s.oursCpuSecPerMillion, 2),
      fmt(s.javaCpuSecPerMillion, 2),
    ]),
  );
  const extra = table(
    ['case', 'Java p50/p99 ms', 'ours p50/p99 ms', 'Java peak RSS MiB', 'broker CPU-s/M (Java run)', 'broker CPU-s/M (our run)', 'end offsets = sent'],
    summary.map((s) => [
      label(s),
      `${fmt(s.javaLatencyP50Ms)} / ${fmt(s.javaLatencyP99Ms)}`,
      `${fmt(s.oursLatencyP50Ms, 1)} / ${fmt(s.oursLatencyP99Ms, 1)}`,
      fmt(s.javaPeakRssMiB),
      fmt(s.brokerCpuSecPerMillionJava, 2),
      fmt(s.brokerCpuSecPerMillionOurs, 2),
      s.allVerified ? 'yes' : 'NO',
    ]),
  );
  const reps = summary[0]?.reps ?? 0;
  return [
    main,
    '',
    extra,
    '',
    `Medians of ${reps} repetition(s). K: at most K of our records sent and not yet acknowledged (Java: up to buffer.memory = 32 MiB queued).`,
    '* Java CPU: the whole JVM minus a 1-record run (start-up); ours: the timed section of the child process. RSS: whole processes.',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------
// Topics

/**
 * Fresh topics for every run. On our own cluster (num.partitions set at start) one Metadata v4 request
 * with allow_auto_topic_creation creates them all at once; TopicCommand costs a JVM per topic.
 */
async function createTopics(cluster: KafkaClusterBase, names: readonly string[], partitions: number, autoCreate: boolean): Promise<void> {
  if (!autoCreate) {
    await cluster.createTopics(names.map((name) => ({ name, partitions, replicationFactor: 1 })));
    return;
  }
  const correlationId = 1;
  const frame = encodeRequest(3, 4, correlationId, (w) => {
    w.int32(names.length);
    for (const t of names) w.string(t);
    w.bool(true); // allow_auto_topic_creation
  });
  await roundTrip(parseEndpoint(cluster.bootstrapServers[0]), frame, correlationId, 10_000);
  for (const name of names) await cluster.waitForTopic(name, partitions);
}

// ---------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const runId = Math.random().toString(36).slice(2, 8);
  const external = (process.env.KAFKA_BOOTSTRAP_SERVERS ?? '') !== '';
  const started = Date.now();
  const describeCase = (c: CaseSpec): string => `${caseName(c)} × ${c.records} (ours K=${c.windows.join(', ')})`;
  log(`mode ${options.mode}: ${options.cases.map(describeCase).join('; ')}; ${options.reps} repetition(s); ${options.partitions} partitions`);
  let cluster: KafkaClusterBase | undefined;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'producer-bench-'));
  const javaPayload = (size: number): { file: string } | 'random' => (options.javaPayload === 'random' ? 'random' : { file: payloadFile(scratch, size) });
  try {
    cluster = external
      ? await externalCluster(process.env.KAFKA_BOOTSTRAP_SERVERS ?? '', { log })
      : await KafkaCluster.start({ nodes: 1, jvmProfile: 'throughput', brokerConfig: { 'num.partitions': String(options.partitions) }, log });
    const brokerPids = cluster instanceof KafkaCluster ? cluster.pids() : [];
    const bootstrap = cluster.bootstrap;
    const jars = cluster.jars;

    const plan: Array<{ c: CaseSpec; rep: number; javaTopic: string; oursTopics: string[] }> = [];
    for (let rep = 0; rep < options.reps; rep++) {
      for (const c of options.cases) {
        const base = `bench-${runId}-${c.recordSize}b-${c.records}-r${rep}`;
        plan.push({ c, rep, javaTopic: `${base}-java`, oursTopics: c.windows.map((k) => `${base}-ours-k${k}`) });
      }
    }
    const warmupTopic = `bench-${runId}-warmup`;
    const topics = plan.flatMap((p) => (options.skipJava ? p.oursTopics : [p.javaTopic, ...p.oursTopics]));
    if (options.warmupRecords > 0) topics.unshift(warmupTopic);
    log(`creating ${topics.length} topic(s)`);
    await createTopics(cluster, topics, options.partitions, !external);

    let javaStartupCpuSec: number | null = null;
    if (options.warmupRecords > 0) {
      // A fresh broker runs its request path interpreted at first; whichever client came first would pay for it.
      log(`warming the broker up: Java ProducerPerformance, ${options.warmupRecords} × 100 B (not measured)`);
      const w = await runJava(jars, bootstrap, warmupTopic, { recordSize: 100, records: options.warmupRecords, windows: [] }, options.javaHeap, javaPayload(100));
      log(`  warm-up: ${w.summaryLine}`);
    }
    if (!options.skipJava) {
      const one = await runJava(jars, bootstrap, warmupTopic, { recordSize: 100, records: 1, windows: [] }, options.javaHeap, javaPayload(100));
      javaStartupCpuSec = one.cpuSec;
      log(`Java start-up (1 record): ${one.cpuSec ?? '?'} CPU-s, ${one.wallSec ?? '?'} s`);
    }

    const runs: RunRecord[] = [];
    for (const p of plan) {
      const label = `${caseName(p.c)} × ${p.c.records}, rep ${p.rep + 1}/${options.reps}`;
      const measureJava = async (): Promise<SideResult<JavaResult>> => {
        log(`${label}: Java ProducerPerformance → ${p.javaTopic}`);
        const load = os.loadavg()[0];
        const b0 = procCpuSec(brokerPids);
        const result = await runJava(jars, bootstrap, p.javaTopic, p.c, options.javaHeap, javaPayload(p.c.recordSize));
        const b1 = procCpuSec(brokerPids);
        log(`  ${result.summaryLine}`);
        return { topic: p.javaTopic, result, endOffsetSum: null, verified: false, brokerCpuSec: b0 === null || b1 === null ? null : b1 - b0, loadAvg1: load };
      };
      const measureOurs = async (wi: number): Promise<SideResult<OurPerfResult> & { window: number }> => {
        const window = p.c.windows[wi];
        const topic = p.oursTopics[wi];
        log(`${label}: ours, K=${window} → ${topic}`);
        const load = os.loadavg()[0];
        const b0 = procCpuSec(brokerPids);
        const result = await runOurs(bootstrap, topic, p.c, window, options);
        const b1 = procCpuSec(brokerPids);
        log(
          `  ours: ${result.acked} acked, ${result.failed} failed, ${fmt(result.recordsPerSec)} records/s (${result.mbPerSec.toFixed(2)} MB/s), p50 ${result.latencyMs.p50.toFixed(1)} ms, p99 ${result.latencyMs.p99.toFixed(1)} ms, CPU ${(result.cpuUserSec + result.cpuSystemSec).toFixed(2)} s, RSS ${(result.maxRssKb / 1024).toFixed(0)} MiB`,
        );
        return { window, topic, result, endOffsetSum: null, verified: false, brokerCpuSec: b0 === null || b1 === null ? null : b1 - b0, loadAvg1: load };
      };
      const measureAllOurs = async (): Promise<Array<SideResult<OurPerfResult> & { window: number }>> => {
        const out: Array<SideResult<OurPerfResult> & { window: number }> = [];
        for (let wi = 0; wi < p.c.windows.length; wi++) out.push(await measureOurs(wi));
        return out;
      };
      // Java first on even repetitions, ours first on odd ones: whatever drifts during a run (broker JIT,
      // page cache, neighbours on the machine) does not always favour the same side.
      let java: SideResult<JavaResult> | null = null;
      let ours: Array<SideResult<OurPerfResult> & { window: number }>;
      if (options.skipJava) ours = await measureAllOurs();
      else if (p.rep % 2 === 0) {
        java = await measureJava();
        ours = await measureAllOurs();
      } else {
        ours = await measureAllOurs();
        java = await measureJava();
      }

      const sums = await endOffsetSums(jars, bootstrap, [...(java === null ? [] : [java.topic]), ...ours.map((o) => o.topic)]);
      for (const o of ours) {
        o.endOffsetSum = sums.get(o.topic) ?? null;
        o.verified = o.result.failed === 0 && o.result.acked === p.c.records && o.endOffsetSum === p.c.records;
        if (!o.verified) log(`  VERIFICATION FAILED for ours (K=${o.window}): acked ${o.result.acked}, failed ${o.result.failed} (${o.result.firstError ?? 'no error'}), end offsets ${o.endOffsetSum ?? '?'}`);
      }
      if (java !== null) {
        java.endOffsetSum = sums.get(java.topic) ?? null;
        java.verified = java.endOffsetSum === p.c.records && java.result.records === p.c.records;
        if (!java.verified) log(`  VERIFICATION FAILED for Java: sent ${java.result.records}, end offsets ${java.endOffsetSum ?? '?'}`);
      }
      log(`  end offsets: ${[...(java === null ? [] : [`Java ${java.endOffsetSum ?? '?'}`]), ...ours.map((o) => `ours K=${o.window} ${o.endOffsetSum ?? '?'}`)].join(', ')} (expected ${p.c.records} each)`);
      runs.push({ case: caseName(p.c), recordSize: p.c.recordSize, records: p.c.records, rep: p.rep, java, ours });
    }

    if (options.mode === 'profile') {
      const files = fs
        .readdirSync(options.cpuProfDir!)
        .filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => path.join(options.cpuProfDir!, f));
      for (const o of runs[0].ours) {
        const w = o.result.windowUs;
        // the profile whose clock covers this run's timed section
        const file = files.find((f) => {
          const prof = readProfile(f);
          return prof.startTime <= w.start && prof.endTime >= w.end;
        });
        if (file === undefined) throw new Error(`no .cpuprofile in ${options.cpuProfDir} covers the run with K=${o.window}`);
        process.stdout.write(`\n=== ours, ${caseName(options.cases[0])} × ${o.result.records}, K=${o.window}: ${fmt(o.result.recordsPerSec)} records/s, ${(o.result.cpuUserSec + o.result.cpuSystemSec).toFixed(2)} CPU-s\n`);
        process.stdout.write(`${file} (timed section only: ${w.start}..${w.end} µs)\n`);
        process.stdout.write(`${formatSummary(summarizeProfile(readProfile(file), { top: 15, fromUs: w.start, toUs: w.end, lines: 3 }))}\n`);
      }
      return;
    }

    const summary = summarize(runs, options.cases, javaStartupCpuSec);
    const output = {
      generatedAt: new Date().toISOString(),
      mode: options.mode,
      durationSec: (Date.now() - started) / 1000,
      environment: {
        host: os.hostname(),
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        totalMemMiB: Math.round(os.totalmem() / 2 ** 20),
        node: process.version,
        java: javaVersion(),
        kafkaVersion: jars.version,
        broker: external ? `external (${bootstrap})` : "local 1-node KafkaCluster, jvmProfile 'throughput'",
      },
      settings: {
        partitions: options.partitions,
        replicationFactor: 1,
        ...COMMON,
        javaHeap: options.javaHeap,
        javaJvmOpts: KAFKA_RUN_CLASS_JVM_OPTS,
        javaPayload: options.javaPayload === 'file' ? `--payload-file with ${PAYLOAD_SET_SIZE} random A-Z values` : '--record-size (random A-Z refilled per record)',
        oursPayload: `${PAYLOAD_SET_SIZE} random A-Z values generated once, cycled`,
        brokerWarmupRecords: options.warmupRecords,
        javaStartupCpuSec,
      },
      summary,
      runs,
    };
    fs.mkdirSync(path.dirname(options.out), { recursive: true });
    fs.writeFileSync(options.out, `${JSON.stringify(output, null, 2)}\n`);
    process.stdout.write(`\n${formatTables(summary)}\n\nwrote ${options.out} in ${output.durationSec.toFixed(0)} s\n`);
    if (!summary.every((s) => s.allVerified)) process.exitCode = 1;
  } finally {
    if (cluster !== undefined) await cluster.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

function javaVersion(): string {
  // `java -version` prints to stderr
  const r = spawnSync(javaBinary(), ['-version'], { encoding: 'utf8' });
  return `${r.stderr ?? ''}`.split('\n')[0] || 'unknown';
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`[bench] failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
