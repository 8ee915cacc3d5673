import { runJavaTool } from './java-tools';
import { KafkaJars } from './maven-jars';
import { describeFailure } from './run-process';

export interface ReferenceRecord {
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: Array<[string, Buffer | string | null]>;
  partition?: number;
  timestamp?: number;
}

export interface ReferenceProduceOptions {
  topic: string;
  records: readonly ReferenceRecord[];
  /** Default 'all'. */
  acks?: 'all' | '1' | '0';
  /** Extra Java producer configs, e.g. { 'linger.ms': '0', 'enable.idempotence': 'false' }. */
  producerProperties?: Record<string, string>;
  timeoutMs?: number;
}

export interface ReferenceMetadata {
  partition: number;
  offset: bigint;
  timestamp: number;
}

const enc = (b: Buffer | string | null | undefined): string =>
  b === null || b === undefined ? '-' : (typeof b === 'string' ? Buffer.from(b, 'utf8') : b).toString('base64');

/** Encodes records in RecordProduce's stdin format (exported for unit tests). */
export function encodeReferenceRecords(records: readonly ReferenceRecord[]): string {
  return records
    .map((r) =>
      [
        r.partition ?? -1,
        r.timestamp ?? -1,
        enc(r.key),
        enc(r.value),
        (r.headers ?? []).map(([k, v]) => `${Buffer.from(k, 'utf8').toString('base64')}:${enc(v)}`).join(','),
      ].join('\t'),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/**
 * Produces exact bytes with the Java client (libs/kafka-testing/java/kafkatesting/RecordProduce.java),
 * one JVM for all records: a reference writer for checking the verifier and for mixed-client tests.
 */
export async function produceWithJava(jars: KafkaJars, bootstrap: string, options: ReferenceProduceOptions): Promise<ReferenceMetadata[]> {
  const args = ['--bootstrap-server', bootstrap, '--topic', options.topic, '--acks', options.acks ?? 'all'];
  for (const [k, v] of Object.entries(options.producerProperties ?? {})) args.push('--producer-property', `${k}=${v}`);
  const result = await runJavaTool(jars, 'kafkatesting.RecordProduce', args, {
    input: encodeReferenceRecords(options.records),
    timeoutMs: options.timeoutMs ?? 120_000,
    heap: '512m',
  });
  if (result.code !== 0) throw new Error(`kafka-testing: Java reference producer failed:\n${describeFailure(result)}`);
  const lines = result.stdout.split('\n').filter((l) => l !== '');
  if (lines.length !== options.records.length) throw new Error(`kafka-testing: reference producer acknowledged ${lines.length} of ${options.records.length} records`);
  return lines.map((l) => {
    const [partition, offset, timestamp] = l.split(' ');
    return { partition: Number(partition), offset: BigInt(offset), timestamp: Number(timestamp) };
  });
}
