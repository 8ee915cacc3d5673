/**
 * The Java producer as the benchmark drives it: `org.apache.kafka.tools.ProducerPerformance` (the class
 * behind kafka-producer-perf-test.sh) from the same Kafka jars as the broker, run as
 * kafka-producer-perf-test.sh would run it (kafka-run-class.sh's G1 flags, full tiered compilation),
 * under /usr/bin/time for its CPU and RSS. Throughput mode: `--throughput -1`; latency mode:
 * `--throughput R` for R × D records, which starts sends on ProducerPerformance's own schedule and times
 * every record from send() to its callback. ProducerPerformance sends no keys, so it has no keyed runs.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { javaBinary } from '../libs/kafka-testing/src';
import type { KafkaJars } from '../libs/kafka-testing/src';
import { UTF8_JVM_ARGS } from '../libs/kafka-testing/src/java-tools';
import { parentDeathWrapper } from '../libs/kafka-testing/src/process-registry';
import { describeFailure, runProcess } from '../libs/kafka-testing/src/run-process';
import type { DriverMode, DriverResult } from './driver-contract';

const TIME_BIN = '/usr/bin/time';
/** kafka-run-class.sh's KAFKA_JVM_PERFORMANCE_OPTS (4.x), which kafka-producer-perf-test.sh uses. */
export const KAFKA_RUN_CLASS_JVM_OPTS = ['-server', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:InitiatingHeapOccupancyPercent=35', '-XX:+ExplicitGCInvokesConcurrent', '-XX:MaxInlineLevel=15', '-Djava.awt.headless=true'];
/** Distinct values per record size, on every side. */
export const PAYLOAD_SET_SIZE = 64;

export interface JavaSummary {
  records: number;
  recordsPerSec: number;
  mbPerSec: number;
  latencyMs: { avg: number; max: number; p50: number; p95: number; p99: number; p999: number };
  summaryLine: string;
}

const JAVA_SUMMARY =
  /^(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th\.?$/;

/** ProducerPerformance's final line. */
export function parseJavaSummary(stdout: string): JavaSummary | null {
  const lines = stdout.split('\n').map((l) => l.trim());
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = JAVA_SUMMARY.exec(lines[i]);
    if (m === null) continue;
    return {
      records: Number(m[1]),
      recordsPerSec: Number(m[2]),
      mbPerSec: Number(m[3]),
      latencyMs: { avg: Number(m[4]), max: Number(m[5]), p50: Number(m[6]), p95: Number(m[7]), p99: Number(m[8]), p999: Number(m[9]) },
      summaryLine: lines[i],
    };
  }
  return null;
}

/** PAYLOAD_SET_SIZE lines of `size` random A–Z characters, for ProducerPerformance's --payload-file. */
export function payloadFile(dir: string, size: number): string {
  const file = path.join(dir, `payloads-${size}.txt`);
  if (!fs.existsSync(file)) {
    const lines: string[] = [];
    for (let i = 0; i < PAYLOAD_SET_SIZE; i++) {
      let line = '';
      for (let j = 0; j < size; j++) line += String.fromCharCode(65 + Math.floor(Math.random() * 26));
      lines.push(line);
    }
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
  }
  return file;
}

export interface JavaRunOptions {
  jars: KafkaJars;
  bootstrap: string;
  topic: string;
  recordSize: number;
  /** --payload-file (the same kind of values as the other clients) or the stock --record-size. */
  payload: { file: string } | 'random';
  mode: DriverMode;
  records: number;
  /** latency mode: records/s */
  rate?: number;
  /** Producer properties: everything not given is Java's default (enable.idempotence=true, linger.ms=5, batch.size=16384). */
  properties: Record<string, string>;
  heap: string;
  timeoutMs: number;
  cwd: string;
}

export interface JavaRunResult extends DriverResult {
  summaryLine: string;
  wallSec: number | null;
  latencyDetail: JavaSummary['latencyMs'];
}

export async function runJavaPerf(o: JavaRunOptions): Promise<JavaRunResult> {
  const props = { 'client.id': 'java-producer-perf', ...o.properties };
  const java = [
    javaBinary(),
    `-Xmx${o.heap}`,
    ...KAFKA_RUN_CLASS_JVM_OPTS,
    ...UTF8_JVM_ARGS,
    ...o.jars.toolLoggingArgs,
    '-cp',
    o.jars.classpath,
    'org.apache.kafka.tools.ProducerPerformance',
    '--bootstrap-server',
    o.bootstrap,
    '--topic',
    o.topic,
    '--num-records',
    String(o.records),
    ...(o.payload === 'random' ? ['--record-size', String(o.recordSize)] : ['--payload-file', o.payload.file]),
    '--throughput',
    o.mode === 'latency' ? String(o.rate) : '-1',
    '--command-property',
    ...Object.entries(props).map(([k, v]) => `${k}=${v}`),
  ];
  const timed = fs.existsSync(TIME_BIN);
  // /usr/bin/time stays between us and the JVM; the JVM gets its own parent-death signal so a killed
  // `time` (timeout, Ctrl-C) cannot leave it running.
  const [command, ...args] = timed ? [TIME_BIN, '-f', 'BENCH_RUSAGE %e %U %S %M', ...parentDeathWrapper(), ...java] : java;
  const r = await runProcess(command, args, { timeoutMs: o.timeoutMs, cwd: o.cwd });
  const summary = parseJavaSummary(r.stdout);
  if (r.code !== 0 || r.timedOut || summary === null) throw new Error(`ProducerPerformance failed or printed no summary:\n${describeFailure(r)}`);
  const rusage = /BENCH_RUSAGE ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr);
  const num = (i: number): number => (rusage === null ? 0 : Number(rusage[i]));
  return {
    client: 'java',
    clientVersion: o.jars.version,
    runtime: javaRuntime(),
    settings: { ...props, driven: o.mode === 'latency' ? `ProducerPerformance --throughput ${o.rate}` : 'ProducerPerformance --throughput -1 (send() blocks at buffer.memory)' },
    mode: o.mode,
    records: o.records,
    // ProducerPerformance counts what it sent; errors are printed, and the end offsets tell the rest
    acked: summary.records,
    failed: o.records - summary.records,
    firstError: null,
    elapsedMs: summary.recordsPerSec > 0 ? (summary.records / summary.recordsPerSec) * 1000 : 0,
    recordsPerSec: summary.recordsPerSec,
    mbPerSec: summary.mbPerSec,
    latencyMs: { samples: summary.records, p50: summary.latencyMs.p50, p99: summary.latencyMs.p99, p999: summary.latencyMs.p999 },
    latencyDetail: summary.latencyMs,
    cpuUserSec: num(2),
    cpuSystemSec: num(3),
    maxRssKb: num(4),
    eventLoopDelayP99Ms: null,
    summaryLine: summary.summaryLine,
    wallSec: rusage === null ? null : num(1),
  };
}

let runtime: string | undefined;
function javaRuntime(): string {
  if (runtime === undefined) {
    // `java -version` prints to stderr
    const r = spawnSync(javaBinary(), ['-version'], { encoding: 'utf8' });
    runtime = `${r.stderr ?? ''}`.split('\n')[0] || 'java';
  }
  return runtime;
}
