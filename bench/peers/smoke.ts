/**
 * Checks the peer drivers against a real broker: every driver in both modes over a small matrix of
 * (record size, acks, compression, keyed), each run on a fresh 12-partition topic whose end offsets
 * (Kafka's GetOffsetShell) must equal the records the driver says were acknowledged.
 *
 *   npx ts-node --transpile-only bench/peers/smoke.ts [--drivers kafkajs,platformatic,kcat] [--bootstrap H:P]
 *
 * Without --bootstrap it starts (and stops) its own 1-node cluster. Quick by design (seconds per run):
 * it proves the drivers work and report plausible figures, not how fast anything is.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseDriverResult, DriverResult } from '../driver-contract';
import { KafkaCluster, runJavaToolOrThrow, ensureKafkaJars, KafkaJars, TopicCommandAdmin } from '../../libs/kafka-testing/src';

const ROOT = path.resolve(__dirname, '..', '..');
const PEERS = __dirname;

type DriverName = 'kafkajs' | 'platformatic' | 'kcat';
const COMMANDS: Record<DriverName, string[]> = {
  kafkajs: ['node', path.join(PEERS, 'kafkajs-perf.js')],
  platformatic: [path.join(ROOT, '.ci', 'with-node24'), 'node', path.join(PEERS, 'platformatic-perf.mjs')],
  kcat: ['node', path.join(PEERS, 'kcat-perf.mjs')],
};

interface Case {
  mode: 'throughput' | 'latency';
  recordSize: number;
  acks: 'all' | '1';
  compression: 'none' | 'lz4' | 'zstd';
  keyed: boolean;
  numRecords?: number;
  rate?: number;
  durationMs?: number;
}

const CASES: Case[] = [
  { mode: 'throughput', recordSize: 100, numRecords: 200_000, acks: 'all', compression: 'none', keyed: false },
  { mode: 'throughput', recordSize: 1024, numRecords: 50_000, acks: '1', compression: 'none', keyed: true },
  { mode: 'throughput', recordSize: 100, numRecords: 200_000, acks: 'all', compression: 'lz4', keyed: true },
  { mode: 'throughput', recordSize: 1024, numRecords: 50_000, acks: '1', compression: 'zstd', keyed: false },
  { mode: 'latency', recordSize: 100, rate: 300, durationMs: 3000, acks: 'all', compression: 'none', keyed: false },
  { mode: 'latency', recordSize: 1024, rate: 300, durationMs: 3000, acks: '1', compression: 'lz4', keyed: true },
];

interface Outcome {
  driver: DriverName;
  c: Case;
  status: 'ok' | 'unavailable' | 'FAILED';
  detail: string;
}

function caseArgs(c: Case): string[] {
  const base = ['--record-size', String(c.recordSize), '--acks', c.acks, '--compression', c.compression, '--keyed', String(c.keyed), '--mode', c.mode];
  return c.mode === 'throughput' ? [...base, '--num-records', String(c.numRecords)] : [...base, '--rate', String(c.rate), '--duration-ms', String(c.durationMs)];
}

function runDriver(cmd: string[], args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0], [...cmd.slice(1), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function endOffsetSum(jars: KafkaJars, bootstrap: string, topic: string): Promise<number> {
  const r = await runJavaToolOrThrow(jars, 'org.apache.kafka.tools.GetOffsetShell', ['--bootstrap-server', bootstrap, '--topic', topic, '--time', '-1'], { timeoutMs: 120_000 });
  let sum = 0;
  for (const line of r.stdout.split('\n')) {
    const m = /^(.+):(\d+):(\d+)$/.exec(line.trim());
    if (m !== null && m[1] === topic) sum += Number(m[3]);
  }
  return sum;
}

function describe(r: DriverResult): string {
  const lat = r.latencyMs === null ? '' : ` p50 ${r.latencyMs.p50.toFixed(2)} p99 ${r.latencyMs.p99.toFixed(2)} p99.9 ${r.latencyMs.p999.toFixed(2)} ms (${r.latencyMs.samples})`;
  const loop = r.eventLoopDelayP99Ms === null ? '' : ` loop p99 ${r.eventLoopDelayP99Ms.toFixed(1)} ms`;
  return (
    `${r.acked}/${r.records} acked in ${r.elapsedMs.toFixed(0)} ms, ${r.recordsPerSec.toFixed(0)} rec/s ${r.mbPerSec.toFixed(1)} MB/s,` +
    ` cpu ${(r.cpuUserSec + r.cpuSystemSec).toFixed(2)} s, rss ${(r.maxRssKb / 1024).toFixed(0)} MiB${loop}${lat}`
  );
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opt = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const drivers = (opt('drivers') ?? 'kafkajs,platformatic,kcat').split(',') as DriverName[];
  for (const d of drivers) if (!(d in COMMANDS)) throw new Error(`unknown driver ${d}`);

  const jars = await ensureKafkaJars({});
  let cluster: KafkaCluster | null = null;
  let bootstrap = opt('bootstrap');
  if (bootstrap === undefined) {
    cluster = await KafkaCluster.start({ nodes: 1, jars });
    bootstrap = cluster.bootstrap;
  }
  const admin = new TopicCommandAdmin(jars);
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'peers-smoke-'));
  const outcomes: Outcome[] = [];
  try {
    let n = 0;
    for (const driver of drivers) {
      for (const c of CASES) {
        const topic = `peers-smoke-${driver}-${Date.now().toString(36)}-${n++}`;
        const args = ['--bootstrap-server', bootstrap, '--topic', topic, ...caseArgs(c)];
        const label = `${driver} ${c.mode} ${c.recordSize}B acks=${c.acks} ${c.compression} keyed=${c.keyed}`;
        // kcat refuses latency before touching the broker; the others get a topic
        if (!(driver === 'kcat' && c.mode === 'latency')) await admin.createTopics(bootstrap, [{ name: topic, partitions: 12, replicationFactor: 1 }]);
        const r = await runDriver(COMMANDS[driver], args);
        const stderrFile = path.join(logDir, `${topic}.stderr`);
        fs.writeFileSync(stderrFile, r.stderr);
        const lastLine = r.stdout.trimEnd().split('\n').pop() ?? '';
        let outcome: Outcome;
        if (r.code === 3 && lastLine.startsWith('UNAVAILABLE ')) {
          outcome = { driver, c, status: 'unavailable', detail: lastLine.slice('UNAVAILABLE '.length) };
        } else {
          const result = r.code === 0 ? parseDriverResult(r.stdout) : null;
          if (result === null) {
            outcome = { driver, c, status: 'FAILED', detail: `exit ${r.code}, no RESULT: ${r.stderr.trim().split('\n').slice(-5).join(' | ')}` };
          } else {
            const sum = await endOffsetSum(jars, bootstrap, topic);
            const expected = c.mode === 'throughput' ? c.numRecords! : Math.floor((c.rate! * c.durationMs!) / 1000);
            const samplesOk = c.mode === 'throughput' || result.latencyMs?.samples === result.acked;
            const ok = result.failed === 0 && result.acked === expected && sum === result.acked && samplesOk;
            outcome = {
              driver,
              c,
              status: ok ? 'ok' : 'FAILED',
              detail: `${describe(result)}; end offsets ${sum} (expected ${expected})${result.firstError === null ? '' : `; first error ${result.firstError}`}${ok ? '' : `; stderr in ${stderrFile}`}`,
            };
          }
        }
        process.stderr.write(`${outcome.status.padEnd(11)} ${label}: ${outcome.detail}\n`);
        outcomes.push(outcome);
      }
    }
  } finally {
    if (cluster !== null) await cluster.stop();
  }
  const failed = outcomes.filter((o) => o.status === 'FAILED').length;
  const unavailable = outcomes.filter((o) => o.status === 'unavailable').length;
  process.stderr.write(`${outcomes.length - failed - unavailable} ok, ${unavailable} unavailable, ${failed} failed\n`);
  if (failed > 0) process.exitCode = 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`smoke failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
