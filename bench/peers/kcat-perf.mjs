/**
 * librdkafka, through Debian's kcat, as a benchmark driver (bench/driver-contract.ts):
 *
 *   node bench/peers/kcat-perf.mjs --bootstrap-server H:P --topic T --record-size S --acks all|1 \
 *     --compression none|lz4|zstd --keyed true|false [--settings '{"linger.ms":"5"}'] \
 *     --mode throughput --num-records N
 *
 * kcat reads the records from a file (one per line, `key<TAB>value` when keyed) and hands each to
 * rd_kafka_producev(); librdkafka batches them with its own defaults (linger.ms 5, batch.num.messages
 * 10000, ...), which is librdkafka's recommended path. --settings entries become `-X name=value`.
 * kcat has no per-record callback we can time, so `--mode latency` is unavailable. CPU and RSS are kcat's
 * own (GNU time), elapsed is this script's clock around the kcat process.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import common from './driver-common.js';

const KCAT = process.env.KCAT ?? '/usr/bin/kcat';
const TIME = '/usr/bin/time';

/** `kcat -V`: "Version 1.7.1 (..., librdkafka 2.0.2 builtin.features=...)". */
function versions() {
  let out;
  try {
    out = execFileSync(KCAT, ['-V'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`${KCAT} -V failed (install it with bench/peers/install-kcat.sh): ${common.errorMessage(e)}`);
  }
  const kcat = /Version (\S+)/.exec(out)?.[1];
  const librdkafka = /librdkafka (\S+)/.exec(out)?.[1];
  if (kcat === undefined || librdkafka === undefined) throw new Error(`cannot read the versions in kcat -V: ${out}`);
  return { kcat, librdkafka };
}

/**
 * The records as kcat's input, written once per (size, count, keyed) under os.tmpdir() and reused: the
 * same 64 values and 1024 keys as the other drivers. A file is complete only once renamed into place.
 */
function inputFile(recordSize, records, keyed) {
  const file = path.join(os.tmpdir(), `kcat-perf-${recordSize}b-${records}-${keyed ? 'keyed' : 'unkeyed'}.txt`);
  const lineBytes = recordSize + 1 + (keyed ? 6 : 0);
  if (fs.existsSync(file)) return file;
  const values = common.makeValues(recordSize);
  const keys = common.makeKeys();
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    const chunk = [];
    let chunkBytes = 0;
    for (let i = 0; i < records; i++) {
      if (keyed) chunk.push(Buffer.from(`${keys[i % keys.length]}\t`, 'utf8'));
      chunk.push(values[i % values.length], NEWLINE);
      chunkBytes += lineBytes;
      if (chunkBytes >= 4 << 20) {
        fs.writeSync(fd, Buffer.concat(chunk));
        chunk.length = 0;
        chunkBytes = 0;
      }
    }
    if (chunk.length > 0) fs.writeSync(fd, Buffer.concat(chunk));
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  return file;
}
const NEWLINE = Buffer.from('\n');

/** GNU time's `%e %U %S %M`: elapsed s, user s, system s, max RSS KiB. */
function readTime(file) {
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  const last = lines[lines.length - 1].trim().split(/\s+/).map(Number);
  if (last.length !== 4 || last.some((n) => !Number.isFinite(n))) throw new Error(`unexpected /usr/bin/time output: ${lines.join(' | ')}`);
  return { elapsedSec: last[0], userSec: last[1], systemSec: last[2], maxRssKb: last[3] };
}

/** The librdkafka defaults that shape batching, as this kcat resolves them with our -X (`-X dump`). */
const DUMPED = ['queue.buffering.max.ms', 'batch.num.messages', 'batch.size', 'queue.buffering.max.messages', 'queue.buffering.max.kbytes', 'max.in.flight.requests.per.connection', 'enable.idempotence', 'sticky.partitioning.linger.ms', 'partitioner', 'request.required.acks', 'compression.codec', 'message.max.bytes'];
function effectiveConfig(xs) {
  const out = execFileSync(KCAT, ['-P', ...xs, '-X', 'dump'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const config = {};
  // global properties come first, then the topic's; a topic value (e.g. compression.codec) wins
  for (const line of out.split('\n')) {
    const m = /^(\S+) = (.*)$/.exec(line.trim());
    if (m !== null && DUMPED.includes(m[1])) config[m[1]] = m[2];
  }
  return config;
}

function run(cmd, argv) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let deliveryFailures = 0;
    let firstFailure = null;
    let pending = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => {
      // kcat prints one "% Delivery failed for message: <reason>" per failed record (verbosity 1)
      pending += d;
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.includes('Delivery failed for message')) {
          deliveryFailures++;
          if (firstFailure === null) firstFailure = line.replace(/^%\s*/, '');
        } else if (stderr.length < 8192) {
          stderr += `${line}\n`;
          process.stderr.write(`kcat: ${line}\n`);
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr: stderr + pending, deliveryFailures, firstFailure }));
  });
}

async function main() {
  const args = common.parseArgs(process.argv.slice(2));
  if (args.mode === 'latency') common.unavailable('kcat cannot time single sends');
  const { kcat, librdkafka } = versions();

  const props = {
    acks: args.acks === 'all' ? 'all' : '1',
    'compression.codec': args.compression,
  };
  for (const [k, v] of Object.entries(args.settings)) props[k] = String(v);
  const xs = Object.entries(props).flatMap(([k, v]) => ['-X', `${k}=${v}`]);
  const file = inputFile(args.recordSize, args.numRecords, args.keyed);
  const timeFile = path.join(os.tmpdir(), `kcat-perf-time-${process.pid}.txt`);
  const kcatArgs = ['-P', '-b', args.bootstrap, '-t', args.topic, ...xs, ...(args.keyed ? ['-K', '\\t'] : []), '-l', file];

  const t0 = performance.now();
  const r = await run(TIME, ['-o', timeFile, '-f', '%e %U %S %M', KCAT, ...kcatArgs]);
  const elapsedMs = performance.now() - t0;
  let time;
  try {
    time = readTime(timeFile);
  } finally {
    fs.rmSync(timeFile, { force: true });
  }

  // kcat exits 1 when any delivery failed; any other failure (a fatal error) leaves the count of
  // delivered records unknown, so none is claimed and the orchestrator's end offsets tell.
  let runResult;
  if (r.code === 0) runResult = { records: args.numRecords, acked: args.numRecords, failed: 0, firstError: null };
  else if (r.deliveryFailures > 0) runResult = { records: args.numRecords, acked: args.numRecords - r.deliveryFailures, failed: r.deliveryFailures, firstError: r.firstFailure };
  else {
    const tail = r.stderr.trim().split('\n').slice(-3).join(' | ');
    runResult = { records: args.numRecords, acked: 0, failed: args.numRecords, firstError: `kcat exited ${r.code ?? r.signal} with no delivery report (delivered count unknown): ${tail}` };
  }

  common.emitResult({
    client: 'librdkafka',
    clientVersion: librdkafka,
    runtime: `kcat ${kcat}`,
    settings: {
      api: 'kcat -P -l <file>: rd_kafka_producev() per line, librdkafka batching defaults',
      properties: props,
      effective: effectiveConfig(xs),
      keyDelimiter: args.keyed ? '\\t' : null,
      partitioner: 'consistent_random (librdkafka default: CRC32 of the key, sticky random without; not Java-compatible)',
      idempotence: 'false (librdkafka default)',
      inputFile: file,
    },
    mode: args.mode,
    run: runResult,
    timing: { elapsedMs, cpuUserSec: time.userSec, cpuSystemSec: time.systemSec, eventLoopDelayP99Ms: null },
    maxRssKb: time.maxRssKb,
    recordSize: args.recordSize,
    latencyMs: null,
  });
}

common.runMain('kcat-perf', main);
