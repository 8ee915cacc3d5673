/**
 * @platformatic/kafka as a benchmark driver (bench/driver-contract.ts). It needs Node >= 22.22 / 24.6:
 *
 *   .ci/with-node24 node bench/peers/platformatic-perf.mjs --bootstrap-server H:P --topic T --record-size S \
 *     --acks all|1 --compression none|lz4|zstd --keyed true|false \
 *     [--settings '{"messagesPerCall":1000,"callsInFlight":5}'] \
 *     --mode throughput --num-records N | --mode latency --rate R --duration-ms D
 *
 * Like kafkajs it batches only what one `producer.send({ messages })` call carries (its docs/producer.md,
 * "send"), so throughput comes from many messages per call and several calls in flight. Its other batching
 * path, `producer.asStream()`, keeps one send in flight per stream (ProducerStream#flush waits for the
 * previous batch), so it is not the faster one. See bench/peers/README.md.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import common from './driver-common.js';

// ~256 KiB of values per call keeps each Produce request far below the broker's 1 MiB message.max.bytes;
// 1000 messages already amortise the per-call cost for small records.
const MAX_MESSAGES_PER_CALL = 1000;
const BYTES_PER_CALL = 256 * 1024;
// The library's own per-connection default (maxInflights: 5), which is also Java's.
const DEFAULT_CALLS_IN_FLIGHT = 5;

/** The package's engines field: >= 22.22.0 (|| >= 24.6.0, which the first range already covers). */
function nodeSupported() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 22);
}

function packageVersion() {
  // the package's "exports" hides package.json from import/require, so read it next to its entry point
  const require = createRequire(import.meta.url);
  const entry = require.resolve('@platformatic/kafka');
  return JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')).version;
}

async function main() {
  const args = common.parseArgs(process.argv.slice(2));
  if (!nodeSupported()) {
    process.stderr.write(`platformatic-perf: @platformatic/kafka needs Node >= 22.22 or >= 24.6, this is ${process.version}; run it through .ci/with-node24\n`);
    process.exit(1);
  }
  const { Producer, ProduceAcks } = await import('@platformatic/kafka');
  const acks = args.acks === 'all' ? ProduceAcks.ALL : ProduceAcks.LEADER;
  // lz4 (WebAssembly) and zstd (node:zlib) are built in; 'none' is the library's default.
  const compression = args.compression;

  const values = common.makeValues(args.recordSize);
  const keys = common.makeKeys().map((k) => Buffer.from(k, 'utf8'));
  const topic = args.topic;
  const message = args.keyed
    ? (i) => ({ topic, key: keys[i % keys.length], value: values[i % values.length] })
    : (i) => ({ topic, value: values[i % values.length] });

  const perCall = common.setting(args.settings, 'messagesPerCall', Math.max(1, Math.min(MAX_MESSAGES_PER_CALL, Math.floor(BYTES_PER_CALL / args.recordSize))));
  const inFlight = common.setting(args.settings, 'callsInFlight', DEFAULT_CALLS_IN_FLIGHT);

  // No serializers: keys and values are Buffers. idempotent, retries, maxInflights, timeout and the
  // partitioner stay the library's defaults (off, 3, 5, 5000 ms, its own murmur2 for keys and
  // round-robin without).
  const producer = new Producer({
    clientId: 'platformatic-perf',
    bootstrapBrokers: args.bootstrap.split(','),
    acks,
    compression,
  });
  const settings = {
    api: args.mode === 'throughput' ? 'producer.send({ messages, acks, compression }) with several calls in flight' : 'producer.send({ messages: [one] }) per record',
    acks,
    compression,
    idempotent: false,
    partitioner: 'library default (murmur2 >>> 0, not Java-compatible; round-robin without a key)',
    maxInflights: 5,
    ...(args.mode === 'throughput' ? { messagesPerCall: perCall, callsInFlight: inFlight } : { messagesPerCall: 1 }),
  };

  const timer = common.startTimer();
  let run;
  if (args.mode === 'throughput') {
    run = await common.runThroughput(args.numRecords, perCall, inFlight, (first, count) => {
      const messages = new Array(count);
      for (let j = 0; j < count; j++) messages[j] = message(first + j);
      return producer.send({ messages });
    });
  } else {
    run = await common.runLatency(args.rate, args.durationMs, (i) => producer.send({ messages: [message(i)] }));
    if (run.maxLagMs > 50) process.stderr.write(`platformatic: the send schedule fell up to ${run.maxLagMs.toFixed(1)} ms behind\n`);
  }
  await producer.close();
  const timing = timer.stop();

  common.emitResult({
    client: 'platformatic',
    clientVersion: packageVersion(),
    settings,
    mode: args.mode,
    run,
    timing,
    recordSize: args.recordSize,
    latencyMs: args.mode === 'latency' ? run.latency : null,
  });
}

common.runMain('platformatic-perf', main);
