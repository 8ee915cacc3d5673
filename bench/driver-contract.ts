/**
 * What every client driver of the benchmark (ours, Java, the Node peers, kcat) is given and answers, so
 * that `bench/bench.ts` can run them side by side. A driver is a child process:
 *
 *   <runtime> <driver> --bootstrap-server H:P[,H:P] --topic T --record-size S --acks all|1
 *       --compression none|lz4|zstd --keyed true|false [--settings '{"batchSize":262144}']
 *       --mode throughput --num-records N
 *       --mode latency --rate R --duration-ms D
 *
 * - Values: exactly S bytes of random A–Z, 64 distinct values generated once and cycled (the RNG is the
 *   harness's cost, not the client's). Keyed: key `k${i % 1024}` (UTF-8); unkeyed: no key.
 * - throughput: N records as fast as the client allows, driven the way its documentation recommends for
 *   throughput (its batching API, several calls in flight, no flush per message).
 * - latency: one record per call, each call awaited on its own (its delivery report), calls started on a
 *   fixed schedule of R per second for D ms (a late schedule is caught up, not skipped); every record's
 *   send → acknowledgement time is a sample. No call is started after D ms: a client that cannot keep
 *   up sends fewer records (its achieved rate says so) rather than queueing for minutes.
 * - Timed from just before the first send (connecting and the first metadata fetch included, as Java's
 *   ProducerPerformance times it) until the client has closed.
 * - Progress goes to stderr; the last line of stdout is `RESULT <DriverResult as JSON>`. Exit code 0 even
 *   when records failed (the counts say so); non-zero only when the driver itself could not run.
 */
export type ClientName = 'ours' | 'java' | 'kafkajs' | 'platformatic' | 'librdkafka';

export type DriverMode = 'throughput' | 'latency';

export interface LatencyPercentiles {
  samples: number;
  p50: number;
  p99: number;
  p999: number;
}

export interface DriverResult {
  client: ClientName;
  /** Package version (kafkajs 2.2.4), or the library's (librdkafka 2.0.2, Kafka 4.3.1 for Java). */
  clientVersion: string;
  /** `process.version`, or `java 17.0.15`, or `kcat 1.7.1`. */
  runtime: string;
  /** The producer configuration actually used and how it was driven (messages per call, calls in flight). */
  settings: Record<string, unknown>;
  mode: DriverMode;
  records: number;
  acked: number;
  failed: number;
  firstError: string | null;
  elapsedMs: number;
  recordsPerSec: number;
  /** Value bytes / 2^20 per second (ProducerPerformance's "MB/sec"). */
  mbPerSec: number;
  /** latency mode: every record; throughput mode: the client's own figure if it has one, else null. */
  latencyMs: LatencyPercentiles | null;
  /** CPU of the producer process over the timed section where the driver can tell, else the whole process. */
  cpuUserSec: number;
  cpuSystemSec: number;
  maxRssKb: number;
  /**
   * Node clients only, else null: the p99 of how late the event loop ran a 1 ms timer over the timed
   * section (`monitorEventLoopDelay({ resolution: 1 })` records tick intervals, so 1 ms is subtracted).
   */
  eventLoopDelayP99Ms: number | null;
}

export const RESULT_PREFIX = 'RESULT ';

/** The last `RESULT {...}` line of a driver's stdout. */
export function parseDriverResult(stdout: string): DriverResult | null {
  const lines = stdout.trimEnd().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i].startsWith(RESULT_PREFIX)) return JSON.parse(lines[i].slice(RESULT_PREFIX.length)) as DriverResult;
  }
  return null;
}
