import { randomBytes } from 'node:crypto';
import { KafkaProducer, type ProducerRecord, type RecordMetadata } from '@app/kafka-producer';
import type { ConsumedRecord, KafkaClusterBase } from '@app/kafka-testing';

/** A record shape of the public API and the bytes the Java consumer must read back for it. */
export interface Shape {
  name: string;
  record: Omit<ProducerRecord, 'topic'>;
  expectKey: Buffer | null;
  expectValue: Buffer | null;
  expectHeaders: Array<[string, Buffer | null]>;
  expectTimestamp?: number;
  expectPartition?: number;
}

const binary = Buffer.from([0x00, 0xff, 0x0a, 0x0d, 0x09, 0x2c, 0x3a, 0x22, 0x5c, 0x80]);

/** Every shape the foundation promises: string/Buffer/null keys and values, headers, timestamps, partitions. */
export function recordShapes(partitions: number): Shape[] {
  const big = randomBytes(300_000);
  return [
    { name: 'string key and value', record: { key: 'k-1', value: 'héllo wörld' }, expectKey: Buffer.from('k-1'), expectValue: Buffer.from('héllo wörld'), expectHeaders: [] },
    { name: 'binary key and value', record: { key: binary, value: Buffer.concat([binary, binary]) }, expectKey: binary, expectValue: Buffer.concat([binary, binary]), expectHeaders: [] },
    { name: 'null key (keyless)', record: { key: null, value: 'no key' }, expectKey: null, expectValue: Buffer.from('no key'), expectHeaders: [] },
    { name: 'tombstone (null value)', record: { key: 'deleted', value: null }, expectKey: Buffer.from('deleted'), expectValue: null, expectHeaders: [] },
    { name: 'empty key and empty value', record: { key: '', value: Buffer.alloc(0) }, expectKey: Buffer.alloc(0), expectValue: Buffer.alloc(0), expectHeaders: [] },
    {
      name: 'headers: repeated keys, binary and null values',
      record: { key: 'h', value: 'with headers', headers: [['trace', 'a'], ['trace', 'b'], ['bin', binary], ['empty', Buffer.alloc(0)], ['nul', null], ['ünï', 'cödé']] },
      expectKey: Buffer.from('h'),
      expectValue: Buffer.from('with headers'),
      expectHeaders: [['trace', Buffer.from('a')], ['trace', Buffer.from('b')], ['bin', binary], ['empty', Buffer.alloc(0)], ['nul', null], ['ünï', Buffer.from('cödé')]],
    },
    {
      name: 'headers as an object with an array value',
      record: { value: 'obj headers', headers: { a: '1', b: [Buffer.from([1]), '2'] } },
      expectKey: null,
      expectValue: Buffer.from('obj headers'),
      expectHeaders: [['a', Buffer.from('1')], ['b', Buffer.from([1])], ['b', Buffer.from('2')]],
    },
    { name: 'explicit timestamp', record: { key: 'ts', value: 'at a fixed time', timestamp: 1_600_000_000_123 }, expectKey: Buffer.from('ts'), expectValue: Buffer.from('at a fixed time'), expectHeaders: [], expectTimestamp: 1_600_000_000_123 },
    { name: 'timestamp as a Date', record: { value: 'date', timestamp: new Date(1_650_000_000_000) }, expectKey: null, expectValue: Buffer.from('date'), expectHeaders: [], expectTimestamp: 1_650_000_000_000 },
    { name: 'explicit partition', record: { key: 'p', value: 'to the last partition', partition: partitions - 1 }, expectKey: Buffer.from('p'), expectValue: Buffer.from('to the last partition'), expectHeaders: [], expectPartition: partitions - 1 },
    { name: 'large value (300 KB)', record: { key: 'big', value: big }, expectKey: Buffer.from('big'), expectValue: big, expectHeaders: [] },
  ];
}

export interface RoundTripResult {
  sent: Array<{ shape: Shape; metadata: RecordMetadata }>;
  consumed: ConsumedRecord[];
}

/**
 * Sends every shape (plus a stream of keyed records) with a fresh producer, then reads the topic back
 * with the Java consumer and checks bytes, timestamps, partitions and offsets record by record.
 */
export async function roundTrip(cluster: KafkaClusterBase, topic: string, partitions: number, extra: Partial<ConstructorParameters<typeof KafkaProducer>[0]> = {}): Promise<RoundTripResult> {
  const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, clientId: 'e2e-round-trip', ...extra });
  const shapes = recordShapes(partitions);
  const before = Date.now();
  try {
    const sent: RoundTripResult['sent'] = [];
    for (const shape of shapes) {
      sent.push({ shape, metadata: await producer.send({ topic, ...shape.record }) });
    }
    // and many concurrent sends, which share batches and requests
    const stream = await Promise.all(
      Array.from({ length: 500 }, (_, i) => producer.send({ topic, key: `key-${i % 37}`, value: `value-${i}`, headers: [['i', String(i)]] })),
    );
    stream.forEach((metadata, i) =>
      sent.push({
        shape: { name: `stream ${i}`, record: { value: null }, expectKey: Buffer.from(`key-${i % 37}`), expectValue: Buffer.from(`value-${i}`), expectHeaders: [['i', Buffer.from(String(i))]] },
        metadata,
      }),
    );
    await producer.flush();
    const consumed = await cluster.consumeWithJava({ topic, expectedCount: sent.length, timeoutMs: 60_000 });

    const byPosition = new Map(consumed.map((r) => [`${r.partition}@${r.offset}`, r]));
    for (const { shape, metadata } of sent) {
      const got = byPosition.get(`${metadata.partition}@${metadata.offset}`);
      if (got === undefined) throw new Error(`${shape.name}: nothing at ${topic}[${metadata.partition}]@${metadata.offset}`);
      expectRecord(shape, metadata, got, before);
    }
    if (consumed.length !== sent.length) throw new Error(`Java read ${consumed.length} records, we sent ${sent.length}`);
    return { sent, consumed };
  } finally {
    await producer.close();
  }
}

function expectRecord(shape: Shape, metadata: RecordMetadata, got: ConsumedRecord, before: number): void {
  const where = `${shape.name} (${got.topic}[${got.partition}]@${got.offset})`;
  expect({ where, key: got.key }).toEqual({ where, key: shape.expectKey });
  expect({ where, value: got.value?.equals(shape.expectValue ?? Buffer.alloc(0)) ?? null }).toEqual({ where, value: shape.expectValue === null ? null : true });
  expect({ where, headers: got.headers }).toEqual({ where, headers: shape.expectHeaders });
  expect({ where, timestampType: got.timestampType }).toEqual({ where, timestampType: 'CreateTime' });
  expect({ where, timestamp: got.timestamp }).toEqual({ where, timestamp: metadata.timestamp });
  if (shape.expectTimestamp !== undefined) expect({ where, timestamp: got.timestamp }).toEqual({ where, timestamp: shape.expectTimestamp });
  else expect(got.timestamp).toBeGreaterThanOrEqual(before);
  if (shape.expectPartition !== undefined) expect({ where, partition: metadata.partition }).toEqual({ where, partition: shape.expectPartition });
  expect(metadata.serializedKeySize).toBe(shape.expectKey === null ? -1 : shape.expectKey.length);
  expect(metadata.serializedValueSize).toBe(shape.expectValue === null ? -1 : shape.expectValue.length);
}

let counter = 0;
export function uniqueTopic(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
}
