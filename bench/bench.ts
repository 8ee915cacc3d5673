/**
 * The producer benchmark: ours against the Java producer and the Node peers, on one broker, in one run.
 *
 *   npm run bench              # every client, every scenario, 3 repetitions (under 30 min on two cores)
 *   npm run bench:quick        # ours and Java, the two base scenarios, 2 repetitions (under 3 min; CI runs it)
 *   npx ts-node --transpile-only bench/bench.ts [--quick] [--reps N] [--clients ours,java,...]
 *       [--scenarios base|all] [--no-latency] [--out-dir DIR]
 *
 * Every client is a child process following bench/driver-contract.ts (ours: bench/our-producer-perf.ts
 * compiled to JS first; Java: ProducerPerformance, bench/java-perf.ts; the peers: bench/peers/). Each
 * run writes to a fresh topic; the client order rotates with every repetition (ours, java, kafkajs, …,
 * then java, kafkajs, …, ours) so that whatever drifts during a run does not favour one client; after
 * each block Kafka's GetOffsetShell reads the end offsets, which must equal the records each client
 * reported acknowledged. Then, for the base scenarios, awaited single sends at a low fixed rate and at
 * half of each client's median throughput give the latency percentiles.
 *
 * The broker is a 1-node KafkaCluster (the harness's 'throughput' JVM profile) or KAFKA_BOOTSTRAP_SERVERS.
 * Results: bench/results/<date>.json and latest.json (shape: bench/results-schema.ts), latest.md and two
 * SVG charts (bench/report.ts). These machines are shared and noisy: read the ratios of one run.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PRODUCER_DEFAULTS } from '../libs/kafka-producer/src/producer/producer-config';
import { externalCluster, KafkaCluster } from '../libs/kafka-testing/src';
import type { KafkaClusterBase, KafkaJars } from '../libs/kafka-testing/src';
import { describeFailure, runProcess } from '../libs/kafka-testing/src/run-process';
import { parseDriverResult, type ClientName, type DriverMode, type DriverResult } from './driver-contract';
import { payloadFile, runJavaPerf } from './java-perf';
import type { BenchResults, BenchRun, LatencySummary, Scenario } from './results-schema';
import { createTopics, deleteTopics, endOffsetSums } from './topics';

const BENCH_DIR = __dirname;
const REPO_ROOT = path.resolve(BENCH_DIR, '..');
const PEERS_DIR = path.join(BENCH_DIR, 'peers');
const RUN_TIMEOUT_MS = 5 * 60_000;
/** A latency run lasts its window (seconds) plus the client's drain; beyond this the client is stuck. */
const LATENCY_RUN_TIMEOUT_MS = 90_000;
const UNAVAILABLE_EXIT = 3;

/**
 * What the Java variant "batch like ours" is given: our lingerMs, and as batch.size our largest batch
 * (issue #9: "to our largest batch, if ours adapts"): ours starts at batchSize and grows a backlogged
 * partition's batches up to batchMaxSize, which is where a throughput run spends its time.
 */
export const OUR_DEFAULT_BATCHING = { lingerMs: PRODUCER_DEFAULTS.lingerMs, batchSize: PRODUCER_DEFAULTS.batchMaxSize };
/** README "Throughput": the settings we recommend when throughput matters more than memory. */
export const OUR_RECOMMENDED_SETTINGS = { batchSize: 262_144, lingerMs: 10 };

interface RunParams {
  scenario: Scenario;
  topic: string;
  mode: DriverMode;
  records: number;
  rate?: number;
  durationMs?: number;
}

type Outcome = { result: DriverResult } | { unavailable: string };

interface Variant {
  key: string;
  client: ClientName;
  variant: string;
  /** Null when the variant can run the scenario; else why not. */
  unsupported(s: Scenario): string | null;
  latency: boolean;
  run(p: RunParams): Promise<Outcome>;
}

interface Context {
  cluster?: KafkaClusterBase;
  bootstrap: string;
  jars: KafkaJars;
  scratch: string;
  javaStartupCpuSec: number;
}

// ---------------------------------------------------------------------------------------------------
// Clients

const contractArgs = (ctx: Context, p: RunParams): string[] => [
  '--bootstrap-server',
  ctx.bootstrap,
  '--topic',
  p.topic,
  '--record-size',
  String(p.scenario.recordSize),
  '--acks',
  p.scenario.acks,
  '--compression',
  p.scenario.compression,
  '--keyed',
  String(p.scenario.keyed),
  '--mode',
  p.mode,
  ...(p.mode === 'latency' ? ['--rate', String(p.rate), '--duration-ms', String(p.durationMs)] : ['--num-records', String(p.records)]),
];

async function runDriver(label: string, command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Outcome> {
  const latency = args.includes('latency');
  const r = await runProcess(command, args, { timeoutMs: latency ? LATENCY_RUN_TIMEOUT_MS : RUN_TIMEOUT_MS, cwd: REPO_ROOT, env: env === undefined ? undefined : { ...process.env, ...env } });
  if (r.code === UNAVAILABLE_EXIT) {
    const line = r.stdout.trimEnd().split('\n').pop() ?? '';
    return { unavailable: line.startsWith('UNAVAILABLE ') ? line.slice('UNAVAILABLE '.length) : `exit ${UNAVAILABLE_EXIT}` };
  }
  const result = parseDriverResult(r.stdout);
  if (result === null || r.timedOut) throw new Error(`${label} printed no result:\n${describeFailure(r)}`);
  return { result };
}

const NODE24 = path.join(REPO_ROOT, '.ci', 'with-node24');
const OUR_DRIVER = path.join(REPO_ROOT, '.bench-build', 'bench', 'our-producer-perf.js');

function ours(variant: string, settings: Record<string, unknown>, node24: boolean): Variant {
  return {
    key: `ours:${variant}`,
    client: 'ours',
    variant,
    latency: true,
    unsupported: () => null,
    run: (p) =>
      node24
        ? runDriver(`ours (${variant})`, NODE24, ['node', OUR_DRIVER, ...contractArgs(ctx(), p), '--settings', JSON.stringify(settings)])
        : runDriver(`ours (${variant})`, process.execPath, [OUR_DRIVER, ...contractArgs(ctx(), p), '--settings', JSON.stringify(settings)]),
  };
}

function java(variant: string, properties: Record<string, string>): Variant {
  return {
    key: `java:${variant}`,
    client: 'java',
    variant,
    latency: true,
    unsupported: (s) => (s.keyed ? 'ProducerPerformance sends no keys' : null),
    run: async (p) => {
      const c = ctx();
      const result = await runJavaPerf({
        jars: c.jars,
        bootstrap: c.bootstrap,
        topic: p.topic,
        recordSize: p.scenario.recordSize,
        payload: { file: payloadFile(c.scratch, p.scenario.recordSize) },
        mode: p.mode,
        records: p.mode === 'latency' ? Math.round(((p.rate ?? 0) * (p.durationMs ?? 0)) / 1000) : p.records,
        rate: p.rate,
        properties: { acks: p.scenario.acks, 'compression.type': p.scenario.compression, ...properties },
        heap: '1g',
        timeoutMs: RUN_TIMEOUT_MS,
        cwd: REPO_ROOT,
      });
      return { result };
    },
  };
}

function peer(client: ClientName, file: string, node24: boolean, latency: boolean): Variant {
  const script = path.join(PEERS_DIR, file);
  return {
    key: `${client}:defaults`,
    client,
    variant: 'defaults',
    latency,
    unsupported: () => null,
    run: (p) => (node24 ? runDriver(client, NODE24, ['node', script, ...contractArgs(ctx(), p)]) : runDriver(client, process.execPath, [script, ...contractArgs(ctx(), p)])),
  };
}

let context: Context | undefined;
const ctx = (): Context => context!;

function allVariants(): Variant[] {
  return [
    ours('defaults', {}, false),
    ours('defaults-node24', {}, true),
    ours('recommended', OUR_RECOMMENDED_SETTINGS, false),
    java('defaults', {}),
    java('batch-like-ours', { 'linger.ms': String(OUR_DEFAULT_BATCHING.lingerMs), 'batch.size': String(OUR_DEFAULT_BATCHING.batchSize) }),
    peer('kafkajs', 'kafkajs-perf.js', false, true),
    peer('platformatic', 'platformatic-perf.mjs', true, true),
    peer('librdkafka', 'kcat-perf.mjs', false, false),
  ];
}

// ---------------------------------------------------------------------------------------------------
// Plan

interface Options {
  mode: 'quick' | 'full';
  reps: number;
  variants: Variant[];
  scenarios: Scenario[];
  latency: boolean;
  lowRate: number;
  latencyDurationMs: number;
  outDir: string;
}

const BASE = { acks: 'all', compression: 'none', partitions: 12, keyed: false } as const;

function scenarios(which: 'base' | 'all'): Scenario[] {
  const out: Scenario[] = [];
  for (const recordSize of [100, 1024]) {
    out.push({ recordSize, ...BASE });
    if (which === 'base') continue;
    out.push({ recordSize, ...BASE, acks: '1' }, { recordSize, ...BASE, compression: 'lz4' }, { recordSize, ...BASE, compression: 'zstd' }, { recordSize, ...BASE, partitions: 1 }, { recordSize, ...BASE, keyed: true });
  }
  return out;
}

const isBase = (s: Scenario): boolean => s.acks === BASE.acks && s.compression === BASE.compression && s.partitions === BASE.partitions && s.keyed === BASE.keyed;

export function scenarioLabel(s: Scenario): string {
  const size = s.recordSize >= 1024 && s.recordSize % 1024 === 0 ? `${s.recordSize / 1024} KiB` : `${s.recordSize} B`;
  const factor = isBase(s) ? 'base' : s.acks !== BASE.acks ? `acks=${s.acks}` : s.compression !== BASE.compression ? s.compression : s.partitions !== BASE.partitions ? `${s.partitions} partition${s.partitions === 1 ? '' : 's'}` : 'keyed';
  return `${size}, ${factor}`;
}

function recordsFor(s: Scenario, mode: 'quick' | 'full'): number {
  if (s.recordSize <= 100) return mode === 'quick' ? 500_000 : 1_000_000;
  return mode === 'quick' ? 150_000 : 250_000;
}

function parseOptions(argv: readonly string[]): Options {
  let quick = false;
  let reps: number | undefined;
  let clients: string[] | undefined;
  let which: 'base' | 'all' | undefined;
  let latency = true;
  let outDir = path.join(BENCH_DIR, 'results');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') quick = true;
    else if (a === '--reps') reps = Number(next());
    else if (a === '--clients') clients = next().split(',');
    else if (a === '--scenarios') {
      const v = next();
      if (v !== 'base' && v !== 'all') throw new Error('--scenarios is base or all');
      which = v;
    } else if (a === '--no-latency') latency = false;
    else if (a === '--out-dir') outDir = path.resolve(next());
    else throw new Error(`unknown argument ${a}`);
  }
  const mode = quick ? 'quick' : 'full';
  const every = allVariants();
  const wanted = clients ?? (quick ? ['ours:defaults', 'java:defaults'] : every.map((v) => v.key));
  const variants = wanted.flatMap((w) => {
    const found = every.filter((v) => v.key === w || v.client === w);
    if (found.length === 0) throw new Error(`--clients: unknown ${w} (known: ${every.map((v) => v.key).join(', ')})`);
    return found;
  });
  if (reps !== undefined && (!Number.isSafeInteger(reps) || reps < 1)) throw new Error('--reps needs a positive integer');
  return {
    mode,
    reps: reps ?? (quick ? 2 : 3),
    variants: [...new Map(variants.map((v) => [v.key, v])).values()],
    scenarios: scenarios(which ?? (quick ? 'base' : 'all')),
    latency,
    lowRate: 500,
    latencyDurationMs: quick ? 3000 : 5000,
    outDir,
  };
}

// ---------------------------------------------------------------------------------------------------
// Measurements

interface Measured {
  variant: Variant;
  scenario: Scenario;
  topic: string;
  result: DriverResult;
  verified?: boolean;
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

const fmt = (v: number): string => Math.round(v).toLocaleString('en-US');

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const rotate = <T>(xs: readonly T[], by: number): T[] => xs.map((_, i) => xs[(i + by) % xs.length]);

/** A run that fails or hangs is recorded as such (its reason shown as n/a), and the benchmark goes on. */
async function attempt(v: Variant, run: () => Promise<Outcome>): Promise<Outcome> {
  try {
    return await run();
  } catch (e) {
    const first = (e as Error).message.split('\n').find((l) => /timed out|failed|error/i.test(l)) ?? (e as Error).message.split('\n')[0];
    log(`  ${v.key} failed: ${(e as Error).message.split('\n').slice(0, 3).join(' | ')}`);
    return { unavailable: `the run failed: ${first.trim().slice(0, 200)}` };
  }
}

/** /dev/shm when it has room for the largest block of runs (a few GiB), else the default temp dir. */
function brokerDir(): string | undefined {
  try {
    const st = fs.statfsSync('/dev/shm');
    return st.bavail * st.bsize > 6 * 2 ** 30 ? '/dev/shm' : undefined;
  } catch {
    return undefined;
  }
}

/** Checks the block's end offsets, then deletes its topics (their logs are no longer needed). */
async function verify(block: Measured[]): Promise<void> {
  if (block.length === 0) return;
  const c = ctx();
  const sums = await endOffsetSums(c.jars, c.bootstrap, block.map((m) => m.topic));
  if (c.cluster !== undefined) await deleteTopics(c.cluster, block.map((m) => m.topic));
  for (const m of block) {
    const end = sums.get(m.topic) ?? 0;
    // the log must hold exactly what the client reported acknowledged; records that failed with an
    // error are the client's answer, counted and logged, not a verification failure
    m.verified = end === m.result.acked && m.result.acked + m.result.failed === m.result.records;
    if (m.result.failed > 0) log(`  ${m.variant.key} ${scenarioLabel(m.scenario)}: ${m.result.failed} of ${m.result.records} record(s) failed: ${m.result.firstError ?? 'no error given'}`);
    if (!m.verified) log(`  VERIFICATION FAILED: ${m.variant.key} ${scenarioLabel(m.scenario)}: acked ${m.result.acked} of ${m.result.records}, failed ${m.result.failed} (${m.result.firstError ?? 'no error'}), end offsets ${end}`);
  }
}

function describe(r: DriverResult): string {
  const lat = r.latencyMs === null ? '' : `, p50 ${r.latencyMs.p50.toFixed(1)} / p99 ${r.latencyMs.p99.toFixed(1)} / p999 ${r.latencyMs.p999.toFixed(1)} ms`;
  return `${fmt(r.recordsPerSec)} rec/s (${r.mbPerSec.toFixed(1)} MB/s)${lat}, CPU ${(r.cpuUserSec + r.cpuSystemSec).toFixed(2)} s, RSS ${(r.maxRssKb / 1024).toFixed(0)} MiB`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = Date.now();
  const runId = Math.random().toString(36).slice(2, 8);
  const loadAvg1AtStart = os.loadavg()[0];
  log(`mode ${options.mode}: ${options.variants.map((v) => v.key).join(', ')}; ${options.scenarios.length} scenario(s); ${options.reps} repetition(s)`);
  log('compiling our driver to .bench-build/');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(BENCH_DIR, 'tsconfig.driver.json')], { cwd: REPO_ROOT, stdio: 'inherit' });

  const preinstalled = installPeers(options.variants);

  const external = (process.env.KAFKA_BOOTSTRAP_SERVERS ?? '') !== '';
  let cluster: KafkaClusterBase | undefined;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  try {
    cluster = external
      ? await externalCluster(process.env.KAFKA_BOOTSTRAP_SERVERS ?? '', { log })
      : await KafkaCluster.start({
          nodes: 1,
          jvmProfile: 'throughput',
          // logs in memory when there is room: the disk's write-back stalls are not any client's doing
          baseDir: brokerDir(),
          brokerConfig: { 'num.partitions': '12', 'file.delete.delay.ms': '1000' },
          log,
        });
    context = { cluster, bootstrap: cluster.bootstrap, jars: cluster.jars, scratch, javaStartupCpuSec: 0 };
    let topicSeq = 0;
    const topicFor = (v: Variant, s: Scenario): { name: string; partitions: number } => ({ name: `bench-${runId}-${topicSeq++}-${v.key.replace(/[^a-z0-9]/gi, '-')}`, partitions: s.partitions });

    // A fresh broker runs its request path interpreted at first: whichever client came first would pay.
    const warm = topicFor(options.variants[0], scenarios('base')[0]);
    await createTopics(cluster, [warm]);
    log('warming the broker up: Java ProducerPerformance, 500000 × 100 B (not measured)');
    await java('warmup', {}).run({ scenario: scenarios('base')[0], topic: warm.name, mode: 'throughput', records: 500_000 });
    const one = await java('startup', {}).run({ scenario: scenarios('base')[0], topic: warm.name, mode: 'throughput', records: 1 });
    if ('result' in one) context.javaStartupCpuSec = one.result.cpuUserSec + one.result.cpuSystemSec;
    log(`Java start-up (1 record): ${context.javaStartupCpuSec.toFixed(2)} CPU-s`);

    const measured: Measured[] = [];
    const unavailable = new Map<string, string>();
    const key = (v: Variant, s: Scenario): string => `${v.key}|${scenarioLabel(s)}`;
    for (const [variantKey, why] of preinstalled) for (const s of options.scenarios) unavailable.set(`${variantKey}|${scenarioLabel(s)}`, why);

    // ---- throughput, interleaved
    for (let rep = 0; rep < options.reps; rep++) {
      for (const [si, scenario] of options.scenarios.entries()) {
        const order = rotate(options.variants, rep + si);
        const runnable = order.filter((v) => {
          const why = v.unsupported(scenario) ?? unavailable.get(key(v, scenario));
          if (why !== undefined && why !== null) unavailable.set(key(v, scenario), why);
          return why === undefined || why === null;
        });
        const topics = runnable.map((v) => topicFor(v, scenario));
        await createTopics(cluster, topics);
        const block: Measured[] = [];
        for (const [i, v] of runnable.entries()) {
          const records = recordsFor(scenario, options.mode);
          log(`${scenarioLabel(scenario)} × ${fmt(records)}, rep ${rep + 1}/${options.reps}: ${v.key}`);
          const out = await attempt(v, () => v.run({ scenario, topic: topics[i].name, mode: 'throughput', records }));
          if ('unavailable' in out) {
            log(`  unavailable: ${out.unavailable}`);
            unavailable.set(key(v, scenario), out.unavailable);
            continue;
          }
          log(`  ${describe(out.result)}`);
          block.push({ variant: v, scenario, topic: topics[i].name, result: out.result });
        }
        await verify(block);
        measured.push(...block);
      }
    }

    // ---- latency of awaited single sends, base scenarios
    const latencyRuns: Array<Measured & { which: 'lowRate' | 'halfMax'; rate: number }> = [];
    // the throughput figures are kept even if what follows fails
    await write(summarize(options, measured, latencyRuns, unavailable, { started, loadAvg1AtStart, kafka: cluster.jars.version }), options.outDir, false);
    if (options.latency) {
      for (let rep = 0; rep < options.reps; rep++) {
        for (const [si, scenario] of options.scenarios.filter(isBase).entries()) {
          const order = rotate(
            options.variants.filter((v) => v.latency && !unavailable.has(key(v, scenario))),
            rep + si,
          );
          const plan = order.flatMap((v) => {
            const max = median(measured.filter((m) => m.variant === v && m.scenario === scenario).map((m) => m.result.recordsPerSec));
            return [
              { v, which: 'lowRate' as const, rate: options.lowRate },
              { v, which: 'halfMax' as const, rate: Math.max(options.lowRate, Math.round(max / 2)) },
            ];
          });
          const topics = plan.map((x) => topicFor(x.v, scenario));
          await createTopics(cluster, topics);
          const block: Array<Measured & { which: 'lowRate' | 'halfMax'; rate: number }> = [];
          for (const [i, x] of plan.entries()) {
            log(`${scenarioLabel(scenario)} latency at ${fmt(x.rate)}/s (${x.which}), rep ${rep + 1}/${options.reps}: ${x.v.key}`);
            const out = await attempt(x.v, () => x.v.run({ scenario, topic: topics[i].name, mode: 'latency', records: 0, rate: x.rate, durationMs: options.latencyDurationMs }));
            if ('unavailable' in out) {
              log(`  unavailable: ${out.unavailable}`);
              continue;
            }
            log(`  ${describe(out.result)}`);
            block.push({ variant: x.v, scenario, topic: topics[i].name, result: out.result, which: x.which, rate: x.rate });
          }
          await verify(block);
          latencyRuns.push(...block);
        }
      }
    }

    const results = summarize(options, measured, latencyRuns, unavailable, { started, loadAvg1AtStart, kafka: cluster.jars.version });
    await write(results, options.outDir);
    const failed = [...measured, ...latencyRuns].filter((m) => m.verified === false);
    if (failed.length > 0) {
      log(`${failed.length} run(s) failed verification`);
      process.exitCode = 1;
    }
  } finally {
    if (cluster !== undefined) await cluster.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * The peers live in bench/peers/ with their own lock file (never dependencies of the product): a fresh
 * clone installs them on the first full run. Returns the variants that cannot run, with the reason.
 */
function installPeers(variants: readonly Variant[]): Map<string, string> {
  const missing = new Map<string, string>();
  const wants = (c: ClientName): Variant | undefined => variants.find((v) => v.client === c);
  if ((wants('kafkajs') !== undefined || wants('platformatic') !== undefined) && !fs.existsSync(path.join(PEERS_DIR, 'node_modules'))) {
    log('installing the peer clients into bench/peers/node_modules (npm ci)');
    execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--prefix', PEERS_DIR], { cwd: REPO_ROOT, stdio: 'inherit' });
  }
  const kcat = wants('librdkafka');
  if (kcat !== undefined) {
    try {
      execFileSync('bash', [path.join(PEERS_DIR, 'install-kcat.sh')], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    } catch (e) {
      missing.set(kcat.key, `kcat could not be installed: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return missing;
}

// ---------------------------------------------------------------------------------------------------
// Summary

function summarize(
  options: Options,
  measured: readonly Measured[],
  latencyRuns: ReadonlyArray<Measured & { which: 'lowRate' | 'halfMax'; rate: number }>,
  unavailable: ReadonlyMap<string, string>,
  meta: { started: number; loadAvg1AtStart: number; kafka: string },
): BenchResults {
  const runs: BenchRun[] = [];
  for (const scenario of options.scenarios) {
    for (const v of options.variants) {
      const ms = measured.filter((m) => m.variant === v && m.scenario === scenario);
      const why = unavailable.get(`${v.key}|${scenarioLabel(scenario)}`);
      const first = ms[0]?.result;
      const latencyOf = (which: 'lowRate' | 'halfMax'): LatencySummary | null => {
        const ls = latencyRuns.filter((l) => l.variant === v && l.scenario === scenario && l.which === which && l.result.latencyMs !== null);
        if (ls.length === 0) return null;
        return {
          p50: median(ls.map((l) => l.result.latencyMs!.p50)),
          p99: median(ls.map((l) => l.result.latencyMs!.p99)),
          p999: median(ls.map((l) => l.result.latencyMs!.p999)),
          rate: ls[0].rate,
          achieved: Math.round(median(ls.map((l) => l.result.recordsPerSec))),
        };
      };
      const rps = ms.map((m) => m.result.recordsPerSec);
      const startupCpu = v.client === 'java' ? ctx().javaStartupCpuSec : 0;
      runs.push({
        client: v.client,
        variant: v.variant,
        nodeVersion: first === undefined || !first.runtime.startsWith('v') ? null : first.runtime,
        clientVersion: first?.clientVersion ?? 'n/a',
        settings: first?.settings ?? {},
        scenario,
        reps: ms.length,
        recordsPerSec: ms.length === 0 ? null : median(rps),
        recordsPerSecMin: ms.length === 0 ? null : Math.min(...rps),
        recordsPerSecMax: ms.length === 0 ? null : Math.max(...rps),
        mbPerSec: ms.length === 0 ? null : median(ms.map((m) => m.result.mbPerSec)),
        latencyMs: { lowRate: latencyOf('lowRate'), halfMax: latencyOf('halfMax') },
        cpuSecondsPerMillion: ms.length === 0 ? null : median(ms.map((m) => ((Math.max(0, m.result.cpuUserSec + m.result.cpuSystemSec - startupCpu)) * 1e6) / Math.max(1, m.result.acked))),
        peakRssMb: ms.length === 0 ? null : Math.max(...ms.map((m) => m.result.maxRssKb)) / 1024,
        eventLoopDelayP99Ms: ms.length === 0 || first?.eventLoopDelayP99Ms === null ? null : median(ms.map((m) => m.result.eventLoopDelayP99Ms ?? 0)),
        endOffsetsVerified: [...ms, ...latencyRuns.filter((l) => l.variant === v && l.scenario === scenario)].every((m) => m.verified === true),
        ...(why === undefined ? {} : { unavailable: why }),
      });
    }
  }
  return {
    generatedAt: new Date().toISOString(),
    mode: options.mode,
    durationSec: Math.round((Date.now() - meta.started) / 1000),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(os.totalmem() / 2 ** 30), os: `${os.type()} ${os.release()}`, loadAvg1AtStart: meta.loadAvg1AtStart },
    node: process.version,
    kafka: meta.kafka,
    runs,
  };
}

async function write(results: BenchResults, outDir: string, print = true): Promise<void> {
  fs.mkdirSync(outDir, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const date = results.generatedAt.slice(0, 10);
  const files = [path.join(outDir, `${date}${results.mode === 'quick' ? '-quick' : ''}.json`), path.join(outDir, results.mode === 'quick' ? 'latest-quick.json' : 'latest.json')];
  for (const f of files) fs.writeFileSync(f, json);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const report = require('./report') as typeof import('./report');
  const prefix = results.mode === 'quick' ? 'latest-quick' : 'latest';
  fs.writeFileSync(path.join(outDir, `${prefix}.md`), report.renderMarkdown(results));
  fs.writeFileSync(path.join(outDir, results.mode === 'quick' ? 'throughput-quick.svg' : 'throughput.svg'), report.renderThroughputSvg(results));
  fs.writeFileSync(path.join(outDir, results.mode === 'quick' ? 'latency-quick.svg' : 'latency.svg'), report.renderLatencySvg(results));
  if (!print) return;
  process.stdout.write(`${report.renderMarkdown(results)}\n`);
  log(`wrote ${files.join(', ')} and ${prefix}.md in ${results.durationSec} s`);
}


if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`[bench] failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
