import { runJavaTool } from './java-tools';
import { KafkaJars } from './maven-jars';
import { describeFailure } from './run-process';

/** One record as read back by the Java consumer (see libs/kafka-testing/java/kafkatesting/RecordDump.java). */
export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: bigint;
  timestamp: number;
  timestampType: 'CreateTime' | 'LogAppendTime' | 'NoTimestampType';
  leaderEpoch: number | null;
  key: Buffer | null;
  value: Buffer | null;
  /** In wire order; a key may repeat and a value may be null. */
  headers: Array<[string, Buffer | null]>;
}

export interface ConsumeOptions {
  topic: string;
  /**
   * Stop after this many records and fail if fewer arrive within `timeoutMs`. Without it (and without
   * `maxMessages`) the consumer reads up to the end offsets it sees at start, which is the mode that
   * also catches duplicates.
   */
  expectedCount?: number;
  /** Stop after this many records; fewer is not an error. */
  maxMessages?: number;
  /** Default 30 s. */
  timeoutMs?: number;
  partition?: number | readonly number[];
  /** Default true; false starts at the end and needs expectedCount/maxMessages. */
  fromBeginning?: boolean;
  /** Default read_uncommitted. */
  isolationLevel?: 'read_committed' | 'read_uncommitted';
}

export interface ConsumeResult {
  records: ConsumedRecord[];
  /** Why the Java side stopped. */
  reason: 'max-messages' | 'end-offsets' | 'timeout';
  /** End offsets (per partition) the consumer observed after assignment. */
  endOffsets: Record<number, bigint>;
  stderr: string;
}

interface RecordLine {
  type: 'record';
  topic: string;
  partition: number;
  offset: string;
  timestamp: number;
  timestampType: ConsumedRecord['timestampType'];
  leaderEpoch: number | null;
  key: string | null;
  value: string | null;
  headers: Array<[string, string | null]>;
}

interface EndLine {
  type: 'end';
  reason: ConsumeResult['reason'];
  count: number;
  endOffsets: Record<string, string>;
}

const b64 = (s: string | null): Buffer | null => (s === null ? null : Buffer.from(s, 'base64'));

/** Parses RecordDump's JSON-lines output. Exported for unit tests. */
export function parseRecordDump(output: string): Omit<ConsumeResult, 'stderr'> {
  const records: ConsumedRecord[] = [];
  let end: EndLine | undefined;
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue;
    let parsed: RecordLine | EndLine;
    try {
      parsed = JSON.parse(line) as RecordLine | EndLine;
    } catch {
      throw new Error(`kafka-testing: unexpected verifier output line: ${line.slice(0, 200)}`);
    }
    if (parsed.type === 'record') {
      records.push({
        topic: parsed.topic,
        partition: parsed.partition,
        offset: BigInt(parsed.offset),
        timestamp: parsed.timestamp,
        timestampType: parsed.timestampType,
        leaderEpoch: parsed.leaderEpoch,
        key: b64(parsed.key),
        value: b64(parsed.value),
        headers: parsed.headers.map(([k, v]) => [k, b64(v)]),
      });
    } else if (parsed.type === 'end') {
      end = parsed;
    }
  }
  if (end === undefined) throw new Error('kafka-testing: verifier output has no end line (the JVM died early?)');
  if (end.count !== records.length) throw new Error(`kafka-testing: verifier printed ${records.length} records but counted ${end.count}`);
  const endOffsets: Record<number, bigint> = {};
  for (const [p, o] of Object.entries(end.endOffsets)) endOffsets[Number(p)] = BigInt(o);
  return { records, reason: end.reason, endOffsets };
}

/**
 * Reads a topic back with the Java consumer: assign (no group), byte-array deserializers, base64 in
 * JSON lines, so keys, values and headers come back byte-exact and null stays distinct from any bytes.
 */
export async function consumeWithJavaDetailed(jars: KafkaJars, bootstrap: string, options: ConsumeOptions): Promise<ConsumeResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const args = ['--bootstrap-server', bootstrap, '--topic', options.topic, '--timeout-ms', String(timeoutMs)];
  const max = options.expectedCount ?? options.maxMessages;
  if (max !== undefined) args.push('--max-messages', String(max));
  args.push(options.fromBeginning === false ? '--from-end' : '--from-beginning');
  if (options.fromBeginning === false && max === undefined) throw new Error('kafka-testing: fromBeginning=false needs expectedCount or maxMessages');
  if (options.isolationLevel !== undefined) args.push('--isolation-level', options.isolationLevel);
  const partitions = options.partition === undefined ? [] : typeof options.partition === 'number' ? [options.partition] : options.partition;
  for (const p of partitions) args.push('--partition', String(p));
  // JVM start-up and the first metadata round trip come on top of the consume timeout.
  const result = await runJavaTool(jars, 'kafkatesting.RecordDump', args, { timeoutMs: timeoutMs + 60_000, heap: '512m' });
  if (result.code !== 0) throw new Error(`kafka-testing: Java verifier failed:\n${describeFailure(result)}`);
  const parsed = parseRecordDump(result.stdout);
  if (options.expectedCount !== undefined && parsed.records.length < options.expectedCount) {
    throw new Error(
      `kafka-testing: expected ${options.expectedCount} records from ${options.topic}, read ${parsed.records.length} in ${timeoutMs} ms (end offsets ${JSON.stringify(
        Object.fromEntries(Object.entries(parsed.endOffsets).map(([p, o]) => [p, o.toString()])),
      )})`,
    );
  }
  return { ...parsed, stderr: result.stderr };
}

export async function consumeWithJava(jars: KafkaJars, bootstrap: string, options: ConsumeOptions): Promise<ConsumedRecord[]> {
  return (await consumeWithJavaDetailed(jars, bootstrap, options)).records;
}
