'use strict';
/**
 * kafkajs 2.2.4 as a benchmark driver (bench/driver-contract.ts):
 *
 *   node bench/peers/kafkajs-perf.js --bootstrap-server H:P --topic T --record-size S --acks all|1 \
 *     --compression none|lz4|zstd --keyed true|false [--settings '{"messagesPerCall":1000,"callsInFlight":5}'] \
 *     --mode throughput --num-records N | --mode latency --rate R --duration-ms D
 *
 * kafkajs has no client-side batching: a batch is whatever one `producer.send({ topic, messages })` call
 * carries (its "Producing messages" docs), so throughput comes from many messages per call and several
 * calls in flight. See bench/peers/README.md for the numbers chosen.
 */
// kafkajs 2.x warns once that its default partitioner changed in 2.0 (it is now the Java-compatible one,
// which is the one we want); set before kafkajs is loaded.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const path = require('node:path');
const fs = require('node:fs');
const common = require('./driver-common');

// ~256 KiB of values per call keeps each Produce request far below the broker's 1 MiB message.max.bytes
// and kafkajs's own request building cheap, while 1000 messages already amortise the per-call cost for
// small records.
const MAX_MESSAGES_PER_CALL = 1000;
const BYTES_PER_CALL = 256 * 1024;
// As many requests in flight as Java's max.in.flight.requests.per.connection default.
const DEFAULT_CALLS_IN_FLIGHT = 5;

function packageVersion(name) {
  const file = path.join(path.dirname(require.resolve(`${name}/package.json`)), 'package.json');
  return JSON.parse(fs.readFileSync(file, 'utf8')).version;
}

/** Registers the codec plugin kafkajs needs for LZ4/ZSTD, or ends the driver as unavailable. */
function compressionType(kafkajs, compression) {
  const { CompressionTypes, CompressionCodecs } = kafkajs;
  if (compression === 'none') return { type: CompressionTypes.None, codec: 'none' };
  if (compression === 'lz4') {
    let LZ4;
    try {
      LZ4 = require('kafkajs-lz4');
    } catch (e) {
      common.unavailable(`kafkajs LZ4 needs the kafkajs-lz4 plugin, which cannot be loaded here: ${common.errorMessage(e)}`);
    }
    CompressionCodecs[CompressionTypes.LZ4] = new LZ4().codec;
    return { type: CompressionTypes.LZ4, codec: `kafkajs-lz4 ${packageVersion('kafkajs-lz4')} (lz4 ${packageVersion('lz4')})` };
  }
  let ZstdCodec;
  try {
    ZstdCodec = require('@kafkajs/zstd');
  } catch {
    // bench/peers/README.md: @kafkajs/zstd 0.1.1 depends on cppzst 2.0.6, whose binding.gyp forces
    // -std=c++11 while Node 20's headers need C++17, so `npm install` fails to build it.
    common.unavailable('kafkajs ZSTD needs the @kafkajs/zstd plugin, whose native cppzst 2.0.6 does not build against Node 20 headers (-std=c++11)');
  }
  CompressionCodecs[CompressionTypes.ZSTD] = ZstdCodec();
  return { type: CompressionTypes.ZSTD, codec: `@kafkajs/zstd ${packageVersion('@kafkajs/zstd')}` };
}

/** kafkajs logs to stdout through console by default; the contract keeps stdout for the RESULT line. */
function stderrLogCreator() {
  return ({ namespace, level, label, log }) => {
    const { message, ...extra } = log;
    process.stderr.write(`kafkajs ${label} [${namespace}] ${message} ${JSON.stringify(extra)}\n`);
    void level;
  };
}

async function main() {
  const args = common.parseArgs(process.argv.slice(2));
  const kafkajs = require('kafkajs');
  const { Kafka, logLevel } = kafkajs;
  const compression = compressionType(kafkajs, args.compression);
  const acks = args.acks === 'all' ? -1 : 1;

  const values = common.makeValues(args.recordSize);
  const keys = common.makeKeys().map((k) => Buffer.from(k, 'utf8'));
  const message = args.keyed ? (i) => ({ key: keys[i % keys.length], value: values[i % values.length] }) : (i) => ({ value: values[i % values.length] });

  const perCall = common.setting(args.settings, 'messagesPerCall', Math.max(1, Math.min(MAX_MESSAGES_PER_CALL, Math.floor(BYTES_PER_CALL / args.recordSize))));
  const inFlight = common.setting(args.settings, 'callsInFlight', DEFAULT_CALLS_IN_FLIGHT);

  const kafka = new Kafka({
    clientId: 'kafkajs-perf',
    brokers: args.bootstrap.split(','),
    logLevel: logLevel.WARN,
    logCreator: stderrLogCreator,
  });
  // idempotent, maxInFlightRequests, retry and the partitioner stay kafkajs's defaults (off, no limit,
  // 5 retries, DefaultPartitioner: murmur2 for keys, round-robin without).
  const producer = kafka.producer();
  const topic = args.topic;
  const settings = {
    api: args.mode === 'throughput' ? 'producer.send({ topic, acks, compression, messages }) with several calls in flight' : 'producer.send({ topic, acks, compression, messages: [one] }) per record',
    acks,
    compression: compression.codec,
    idempotent: false,
    partitioner: 'DefaultPartitioner (Java-compatible murmur2; round-robin without a key)',
    maxInFlightRequests: null,
    ...(args.mode === 'throughput' ? { messagesPerCall: perCall, callsInFlight: inFlight } : { messagesPerCall: 1 }),
  };

  const timer = common.startTimer();
  await producer.connect();
  let run;
  if (args.mode === 'throughput') {
    run = await common.runThroughput(args.numRecords, perCall, inFlight, (first, count) => {
      const messages = new Array(count);
      for (let j = 0; j < count; j++) messages[j] = message(first + j);
      return producer.send({ topic, acks, compression: compression.type, messages });
    });
  } else {
    run = await common.runLatency(args.rate, args.durationMs, (i) => producer.send({ topic, acks, compression: compression.type, messages: [message(i)] }));
    if (run.maxLagMs > 50) process.stderr.write(`kafkajs: the send schedule fell up to ${run.maxLagMs.toFixed(1)} ms behind\n`);
  }
  await producer.disconnect();
  const timing = timer.stop();

  common.emitResult({
    client: 'kafkajs',
    clientVersion: packageVersion('kafkajs'),
    settings,
    mode: args.mode,
    run,
    timing,
    recordSize: args.recordSize,
    latencyMs: args.mode === 'latency' ? run.latency : null,
  });
}

common.runMain('kafkajs-perf', main);
