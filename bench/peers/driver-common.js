'use strict';
/**
 * What the peer drivers share: the CLI of bench/driver-contract.ts, the values and keys, the two modes'
 * loops, the measurement of the timed section and the RESULT line. CommonJS so that the kafkajs driver
 * can require it and the ESM drivers can import it.
 */
const { performance, monitorEventLoopDelay } = require('node:perf_hooks');

const VALUE_COUNT = 64;
const KEY_COUNT = 1024;

/** Exit code and last stdout line by which a driver tells the orchestrator a point cannot be run. */
const UNAVAILABLE_EXIT_CODE = 3;

class UsageError extends Error {}

/** Parses the contract's flags (`--name value` or `--name=value`). */
function parseArgs(argv) {
  const values = new Map();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) values.set(a.slice(2, eq), a.slice(eq + 1));
    else values.set(a.slice(2), argv[++i] ?? '');
  }
  const str = (name, def) => {
    const v = values.get(name) ?? def;
    if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
    return v;
  };
  const int = (name, def) => {
    const v = Number(str(name, def === undefined ? undefined : String(def)));
    if (!Number.isSafeInteger(v) || v <= 0) throw new UsageError(`--${name} must be a positive integer`);
    return v;
  };
  const oneOf = (name, allowed, def) => {
    const v = str(name, def);
    if (!allowed.includes(v)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}`);
    return v;
  };
  const acks = oneOf('acks', ['all', '-1', '1'], 'all');
  const mode = oneOf('mode', ['throughput', 'latency']);
  let settings = {};
  if (values.has('settings')) {
    try {
      settings = JSON.parse(values.get('settings'));
    } catch (e) {
      throw new UsageError(`--settings is not JSON: ${e.message}`);
    }
    if (settings === null || typeof settings !== 'object' || Array.isArray(settings)) throw new UsageError('--settings must be a JSON object');
  }
  const args = {
    bootstrap: str('bootstrap-server'),
    topic: str('topic'),
    recordSize: int('record-size'),
    acks: acks === '-1' ? 'all' : acks,
    compression: oneOf('compression', ['none', 'lz4', 'zstd'], 'none'),
    keyed: oneOf('keyed', ['true', 'false'], 'false') === 'true',
    settings,
    mode,
  };
  if (mode === 'throughput') args.numRecords = int('num-records');
  else {
    args.rate = int('rate');
    args.durationMs = int('duration-ms');
  }
  return args;
}

/** Reads a positive integer override from --settings, else the default. */
function setting(settings, name, def) {
  const v = settings[name];
  if (v === undefined) return def;
  if (!Number.isSafeInteger(v) || v <= 0) throw new UsageError(`settings.${name} must be a positive integer`);
  return v;
}

/** 64 distinct values of exactly `size` random A–Z bytes (as ProducerPerformance fills its payload). */
function makeValues(size) {
  const out = [];
  for (let i = 0; i < VALUE_COUNT; i++) {
    const b = Buffer.allocUnsafe(size);
    for (let j = 0; j < size; j++) b[j] = 65 + Math.floor(Math.random() * 26);
    out.push(b);
  }
  return out;
}

/** Key strings `k${i % 1024}`, precomputed so that building them is not the client's cost. */
function makeKeys() {
  const out = [];
  for (let i = 0; i < KEY_COUNT; i++) out.push(`k${i}`);
  return out;
}

/** Nearest-rank percentiles over every sample (sorts in place). */
function percentiles(samples) {
  const sorted = samples.sort();
  const at = (p) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]);
  return { samples: sorted.length, p50: at(0.5), p99: at(0.99), p999: at(0.999) };
}

/** Starts measuring the timed section: wall clock, CPU of this process, event-loop delay. */
function startTimer() {
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  return {
    t0,
    stop() {
      const elapsedMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      loopDelay.disable();
      return {
        elapsedMs,
        cpuUserSec: cpu.user / 1e6,
        cpuSystemSec: cpu.system / 1e6,
        // the histogram records 1 ms tick intervals: the delay is what exceeds the tick (driver-contract.ts)
        eventLoopDelayP99Ms: Math.max(0, loopDelay.percentile(99) / 1e6 - 1),
      };
    },
  };
}

function errorMessage(e) {
  if (e instanceof Error) {
    // @platformatic/kafka wraps the per-destination errors in an AggregateError ("Producing messages failed.")
    const inner = Array.isArray(e.errors) && e.errors.length > 0 ? e.errors[0] : e.cause;
    return inner instanceof Error ? `${e.name}: ${e.message}: ${errorMessage(inner)}` : `${e.name}: ${e.message}`;
  }
  return String(e);
}

/**
 * Throughput: `sendCall(first, count)` sends records first..first+count-1 in one client call; `inFlight`
 * such calls are kept outstanding. A failed call fails all of its records. After the first failure no new
 * call is started (a broken cluster would otherwise make every remaining call wait for its timeout), so
 * `records` counts what was actually handed to the client.
 */
async function runThroughput(numRecords, perCall, inFlight, sendCall) {
  let next = 0;
  let acked = 0;
  let failed = 0;
  let firstError = null;
  let lastReport = performance.now();
  const worker = async () => {
    while (next < numRecords && firstError === null) {
      const first = next;
      const count = Math.min(perCall, numRecords - next);
      next += count;
      try {
        await sendCall(first, count);
        acked += count;
      } catch (e) {
        failed += count;
        if (firstError === null) firstError = errorMessage(e);
      }
      const now = performance.now();
      if (now - lastReport >= 1000) {
        lastReport = now;
        process.stderr.write(`  ${acked} acked, ${failed} failed of ${numRecords}\n`);
      }
    }
  };
  const workers = [];
  for (let i = 0; i < inFlight; i++) workers.push(worker());
  await Promise.all(workers);
  return { records: acked + failed, acked, failed, firstError };
}

/**
 * Latency: record i's call is started at t0 + i/rate (a late timer starts every call that is due, so the
 * schedule catches up instead of skipping), each call awaited on its own; a sample is the time from its
 * call to its acknowledgement. No call is started after durationMs (bench/driver-contract.ts).
 */
function runLatency(rate, durationMs, sendOne) {
  const total = Math.floor((rate * durationMs) / 1000);
  const intervalMs = 1000 / rate;
  const samples = new Float64Array(total);
  let sampleCount = 0;
  let acked = 0;
  let failed = 0;
  let firstError = null;
  let settled = 0;
  let maxLagMs = 0;
  return new Promise((resolve) => {
    if (total === 0) {
      resolve({ records: 0, acked, failed, firstError, latency: percentiles(samples), maxLagMs });
      return;
    }
    const base = performance.now();
    let next = 0;
    // calls still owed when the window ends are not started: a client that cannot keep up would
    // otherwise run (and queue) for minutes; what was started is what counts
    let limit = total;
    const finish = () => resolve({ records: limit, acked, failed, firstError, latency: percentiles(samples.subarray(0, sampleCount)), maxLagMs });
    const done = () => {
      if (++settled === limit) finish();
    };
    const start = (i) => {
      const t = performance.now();
      let p;
      try {
        p = Promise.resolve(sendOne(i));
      } catch (e) {
        p = Promise.reject(e);
      }
      p.then(
        () => {
          samples[sampleCount++] = performance.now() - t;
          acked++;
          done();
        },
        (e) => {
          failed++;
          if (firstError === null) firstError = errorMessage(e);
          done();
        },
      );
    };
    const tick = () => {
      const now = performance.now();
      if (now - base >= durationMs && next < limit) {
        limit = next;
        if (settled === limit) finish();
        return;
      }
      while (next < total && base + next * intervalMs <= now) {
        maxLagMs = Math.max(maxLagMs, now - (base + next * intervalMs));
        start(next++);
      }
      if (next < total) setTimeout(tick, Math.max(0, base + next * intervalMs - performance.now()));
    };
    tick();
  });
}

/** Builds the DriverResult of bench/driver-contract.ts and prints it as the last stdout line. */
function emitResult(fields) {
  const { client, clientVersion, settings, mode, run, timing, recordSize, latencyMs } = fields;
  const result = {
    client,
    clientVersion,
    runtime: fields.runtime ?? process.version,
    settings,
    mode,
    records: run.records,
    acked: run.acked,
    failed: run.failed,
    firstError: run.firstError,
    elapsedMs: timing.elapsedMs,
    recordsPerSec: (run.acked * 1000) / timing.elapsedMs,
    mbPerSec: (run.acked * recordSize * 1000) / timing.elapsedMs / (1024 * 1024),
    latencyMs,
    cpuUserSec: timing.cpuUserSec,
    cpuSystemSec: timing.cpuSystemSec,
    maxRssKb: fields.maxRssKb ?? process.resourceUsage().maxRSS,
    eventLoopDelayP99Ms: timing.eventLoopDelayP99Ms,
  };
  const lat = latencyMs === null ? '' : `, p50 ${latencyMs.p50.toFixed(2)} ms, p99 ${latencyMs.p99.toFixed(2)} ms, p99.9 ${latencyMs.p999.toFixed(2)} ms (${latencyMs.samples} samples)`;
  process.stderr.write(
    `${client}: ${run.acked} acked, ${run.failed} failed in ${(timing.elapsedMs / 1000).toFixed(2)} s: ` +
      `${result.recordsPerSec.toFixed(0)} records/s, ${result.mbPerSec.toFixed(2)} MB/s${lat}` +
      (run.firstError === null ? '' : `; first error: ${run.firstError}`) +
      '\n',
  );
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

/** Ends the driver with the orchestrator's "this point cannot be run" answer. */
function unavailable(reason) {
  process.stdout.write(`UNAVAILABLE ${reason}\n`);
  process.exit(UNAVAILABLE_EXIT_CODE);
}

/** Runs a driver's main(): usage errors and crashes exit 1 with the reason on stderr. */
function runMain(name, main) {
  main().catch((e) => {
    process.stderr.write(`${name} failed: ${e instanceof UsageError ? e.message : (e && e.stack) || String(e)}\n`);
    process.exit(1);
  });
}

module.exports = {
  UNAVAILABLE_EXIT_CODE,
  UsageError,
  parseArgs,
  setting,
  makeValues,
  makeKeys,
  percentiles,
  startTimer,
  errorMessage,
  runThroughput,
  runLatency,
  emitResult,
  unavailable,
  runMain,
};
