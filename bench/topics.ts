/**
 * Fresh topics for every benchmark run, and the end-offset check that keeps every client honest.
 *
 * Topics are created with one hand-encoded CreateTopics v4 request (TopicCommand costs a JVM per topic,
 * and the benchmark makes a few hundred); the end offsets are read by Kafka's own GetOffsetShell, which
 * shares no code with any client measured.
 */
import type { KafkaClusterBase, KafkaJars } from '../libs/kafka-testing/src';
import { runJavaToolOrThrow } from '../libs/kafka-testing/src';
import { encodeRequest, parseEndpoint, roundTrip } from '../libs/kafka-testing/src/probe';

const CREATE_TOPICS = 19;
const DELETE_TOPICS = 20;
const TOPIC_ALREADY_EXISTS = 36;

export interface BenchTopic {
  name: string;
  partitions: number;
}

/** The Writer and Reader types the harness probe hands out. */
type RequestWriter = Parameters<Parameters<typeof encodeRequest>[3]>[0];
type ResponseReader = Awaited<ReturnType<typeof roundTrip>>;

/**
 * Sends one topic-admin request per 50 items; the responses of both APIs used here start with
 * throttle_time_ms and an array of per-topic results, which `result` reads one by one.
 */
async function perTopicRequests<T>(
  cluster: KafkaClusterBase,
  items: readonly T[],
  api: { key: number; version: number },
  body: (w: RequestWriter, chunk: readonly T[]) => void,
  result: (r: ResponseReader) => void,
): Promise<void> {
  const endpoint = parseEndpoint(cluster.bootstrapServers[0]);
  for (let i = 0; i < items.length; i += 50) {
    const chunk = items.slice(i, i + 50);
    const correlationId = 1 + i;
    const r = await roundTrip(endpoint, encodeRequest(api.key, api.version, correlationId, (w) => body(w, chunk)), correlationId, 60_000);
    r.int32(); // throttle_time_ms
    for (let n = r.int32(); n > 0; n--) result(r);
  }
}

/** Creates the topics (RF 1) with CreateTopics v4 and waits until every broker knows them. */
export async function createTopics(cluster: KafkaClusterBase, topics: readonly BenchTopic[]): Promise<void> {
  await perTopicRequests(
    cluster,
    topics,
    { key: CREATE_TOPICS, version: 4 },
    (w, chunk) => {
      w.int32(chunk.length);
      for (const t of chunk) {
        w.string(t.name);
        w.int32(t.partitions);
        w.int16(1); // replication factor
        w.int32(0); // assignments
        w.int32(0); // configs
      }
      w.int32(30_000); // timeout_ms
      w.bool(false); // validate_only
    },
    (r) => {
      const name = r.string();
      const errorCode = r.int16();
      const message = r.nullableString();
      if (errorCode !== 0 && errorCode !== TOPIC_ALREADY_EXISTS) throw new Error(`CreateTopics ${name}: error ${errorCode}${message === null ? '' : ` (${message})`}`);
    },
  );
  for (const t of topics) await cluster.waitForTopic(t.name, t.partitions);
}

/**
 * Deletes the topics (DeleteTopics v3), so that a long run's logs do not pile up: the benchmark's broker
 * keeps its logs in memory (tmpfs) to take the disk's noise out of the clients' figures.
 */
export async function deleteTopics(cluster: KafkaClusterBase, names: readonly string[]): Promise<void> {
  await perTopicRequests(
    cluster,
    names,
    { key: DELETE_TOPICS, version: 3 },
    (w, chunk) => {
      w.int32(chunk.length);
      for (const name of chunk) w.string(name);
      w.int32(30_000); // timeout_ms
    },
    (r) => {
      const name = r.string();
      const errorCode = r.int16();
      if (errorCode !== 0) throw new Error(`DeleteTopics ${name}: error ${errorCode}`);
    },
  );
}

/** Sum of end offsets per topic, from Java's GetOffsetShell (`topic:partition:offset` per line). */
export async function endOffsetSums(jars: KafkaJars, bootstrap: string, topics: readonly string[]): Promise<Map<string, number>> {
  const sums = new Map<string, number>();
  // one JVM for many topics; a regular expression of a few hundred names stays well under ARG_MAX
  for (let i = 0; i < topics.length; i += 200) {
    const chunk = topics.slice(i, i + 200);
    const regex = `^(${chunk.map((t) => t.replace(/\./g, '\\.')).join('|')})$`;
    const r = await runJavaToolOrThrow(jars, 'org.apache.kafka.tools.GetOffsetShell', ['--bootstrap-server', bootstrap, '--topic', regex, '--time', '-1'], { timeoutMs: 120_000 });
    for (const line of r.stdout.split('\n')) {
      const m = /^(.+):(\d+):(\d+)$/.exec(line.trim());
      if (m !== null) sums.set(m[1], (sums.get(m[1]) ?? 0) + Number(m[3]));
    }
  }
  return sums;
}
