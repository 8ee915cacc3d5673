import { randomBytes } from 'node:crypto';
import { vm } from './real-process';
import {
  jsonSerializer,
  KafkaProducer,
  KafkaProtocolError,
  partitionForKey,
  ProducerClosedError,
  RecordTooLargeError,
  stringSerializer,
  type ProducerInterceptor,
  type RecordMetadata,
} from '@app/kafka-producer';
import type { KafkaClusterBase } from '@app/kafka-testing';
import { uniqueTopic } from './round-trip';

/** Counts callbacks as they arrive; `within` waits for the expected number, failing after a timeout. */
function callbacks(expected: number): { arrived(): void; within(timeoutMs: number): Promise<void> } {
  let count = 0;
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (done = resolve));
  return {
    arrived() {
      if (++count >= expected) done();
    },
    async within(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${count} of ${expected} callbacks arrived within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([all, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * The producer pipeline's behaviour, each outcome read back by the Java consumer. Run on the shared
 * 1-node cluster (producer-pipeline.e2e-spec.ts) and on a 3-node cluster (three-node.e2e-spec.ts).
 */
export function pipelineSuite(getCluster: () => KafkaClusterBase): void {
  let cluster: KafkaClusterBase;
  beforeAll(() => {
    cluster = getCluster();
  });

  async function topicWith(partitions: number, configs?: Record<string, string>): Promise<string> {
    const topic = uniqueTopic('pipeline');
    await cluster.createTopic({ name: topic, partitions, replicationFactor: 1, configs });
    return topic;
  }

  it('acks=0 completes records once written, with offset -1 as in Java, and they still arrive', async () => {
    const topic = await topicWith(1);
    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, acks: 0 });
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => producer.send({ topic, value: `zero-${i}` })));
    await producer.close();
    expect(results.every((r) => r.offset === -1n && r.partition === 0)).toBe(true);
    const consumed = await cluster.consumeWithJava({ topic, expectedCount: 100 });
    expect(consumed.map((r) => r.value?.toString())).toEqual(results.map((_, i) => `zero-${i}`));
  });

  it('acks=1 reports the leader-assigned offsets', async () => {
    const topic = await topicWith(1);
    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, acks: 1 });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => producer.send({ topic, value: `one-${i}` })));
    await producer.close();
    expect(results.map((r) => r.offset)).toEqual(results.map((_, i) => BigInt(i)));
  });

  it('splits a batch the broker rejects as too large and delivers every record, in order', async () => {
    const topic = await topicWith(1, { 'max.message.bytes': '2000' });
    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, batchSize: 64 * 1024, lingerMs: 50 });
    const values = Array.from({ length: 300 }, (_, i) => `record-${String(i).padStart(4, '0')}-${'x'.repeat(80)}`);
    await producer.send({ topic, value: 'metadata first' });
    const results = await Promise.all(values.map((value) => producer.send({ topic, value })));
    // one record that alone exceeds the topic's limit fails on its own with the broker's error
    await expect(producer.send({ topic, value: 'y'.repeat(5000) })).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    await producer.close();
    expect(results.map((r) => r.offset)).toEqual(values.map((_, i) => BigInt(i + 1)));
    const consumed = await cluster.consumeWithJava({ topic, expectedCount: 301 });
    expect(consumed.slice(1).map((r) => r.value?.toString())).toEqual(values);
  });

  it('splits a compressed batch too (the split batches are decompressed and recompressed)', async () => {
    const topic = await topicWith(1, { 'max.message.bytes': '3000' });
    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, batchSize: 64 * 1024, lingerMs: 50, compressionType: 'gzip' });
    await producer.send({ topic, value: 'metadata first' });
    // random bytes do not compress, so the gzip batch stays far above the topic's limit
    const values = Array.from({ length: 100 }, () => randomBytes(150));
    const results = await Promise.all(values.map((value) => producer.send({ topic, value })));
    await producer.close();
    expect(results.map((r) => r.offset)).toEqual(values.map((_, i) => BigInt(i + 1)));
    const consumed = await cluster.consumeWithJava({ topic, expectedCount: 101 });
    expect(consumed.slice(1).every((r, i) => r.value!.equals(values[i]))).toBe(true);
  });

  it('rejects a single record larger than maxRequestSize or bufferMemory before any I/O', async () => {
    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, maxRequestSize: 1000 });
    await expect(producer.send({ topic: 'never-created', value: Buffer.alloc(2000) })).rejects.toThrow(RecordTooLargeError);
    await producer.close();
    const small = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, bufferMemory: 1000 });
    await expect(small.send({ topic: 'never-created', value: Buffer.alloc(1500) })).rejects.toThrow(/bufferMemory/);
    await small.close();
  });

  it('uses a custom partitioner, and falls back to the built-in one when it returns -1', async () => {
    const topic = await topicWith(4);
    const producer = new KafkaProducer({
      bootstrapServers: cluster.bootstrapServers,
      partitioner: {
        partition: (_topic, key, _value, clusterView) => (key?.toString() === 'vip' ? clusterView.partitionCountForTopic(_topic) - 1 : -1),
      },
    });
    const vip = await producer.send({ topic, key: 'vip', value: 'a' });
    const other = await producer.send({ topic, key: 'k-123', value: 'b' });
    await producer.close();
    expect(vip.partition).toBe(3);
    expect(other.partition).toBe(partitionForKey(Buffer.from('k-123'), 4));
  });

  it('puts concurrent sends to many partitions of one broker into one Produce request, and reports Java-named metrics', async () => {
    const topic = await topicWith(12);
    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, lingerMs: 20 });
    await producer.send({ topic, value: 'metadata first' });
    const before = producer.metrics();
    await Promise.all(Array.from({ length: 12 }, (_, p) => producer.send({ topic, partition: p, value: `to ${p}` })));
    const after = producer.metrics();
    const health = producer.health();
    await producer.close();
    expect(after['record-send-total'] - before['record-send-total']).toBe(12);
    // 12 records in 12 partition batches: one request per broker carried them
    const brokers = cluster.bootstrapServers.length;
    expect(after['records-per-request-avg']).toBeGreaterThan(12 / brokers / 2);
    for (const name of ['record-send-rate', 'record-error-rate', 'record-retry-rate', 'batch-size-avg', 'records-per-request-avg', 'record-queue-time-avg', 'record-queue-time-max', 'request-latency-avg', 'request-latency-max', 'buffer-available-bytes', 'bufferpool-wait-ratio', 'requests-in-flight', 'compression-rate-avg', 'produce-throttle-time-avg']) {
      expect(after).toHaveProperty([name]);
    }
    expect(after['buffer-total-bytes']).toBe(32 * 1024 * 1024);
    expect(after['request-latency-avg']).toBeGreaterThan(0);
    expect(after['compression-rate-avg']).toBe(1);
    expect(health).toMatchObject({ state: 'ready', queuedRecords: 0, inFlightRequests: 0, lastError: null });
    expect(health.connectedBrokers).toHaveLength(brokers);
  });

  it('serializes keys and values with typed serializers', async () => {
    const topic = await topicWith(1);
    const producer = new KafkaProducer<string, { id: number; tags: string[] }>({
      bootstrapServers: cluster.bootstrapServers,
      keySerializer: stringSerializer,
      valueSerializer: jsonSerializer,
    });
    const m = await producer.send({ topic, key: 'order-1', value: { id: 1, tags: ['a', 'b'] } });
    await producer.close();
    expect(m.serializedValueSize).toBe(Buffer.byteLength('{"id":1,"tags":["a","b"]}'));
    const [record] = await cluster.consumeWithJava({ topic, expectedCount: 1 });
    expect(JSON.parse(record.value!.toString())).toEqual({ id: 1, tags: ['a', 'b'] });
  });

  it('runs interceptors: onSend may change the record, onAcknowledgement sees every outcome, a throwing one is skipped', async () => {
    const topic = await topicWith(1);
    const acknowledged: Array<RecordMetadata | Error> = [];
    const stamping: ProducerInterceptor<any, any> = {
      onSend: (record) => ({ ...record, headers: [...((record.headers as Array<[string, string]>) ?? []), ['stamped', 'yes']] }),
      onAcknowledgement: (metadata, error) => acknowledged.push(error ?? metadata!),
    };
    const broken: ProducerInterceptor<any, any> = {
      onSend: () => {
        throw new Error('interceptor bug');
      },
      onAcknowledgement: () => {
        throw new Error('interceptor bug');
      },
    };
    const warnings = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, interceptors: [stamping, broken] });
    await producer.send({ topic, value: 'a' });
    await expect(producer.send({ topic, value: 'b', partition: 9 })).rejects.toThrow(/partition 9 of topic .* does not exist: the topic has 1 partitions/);
    await producer.close();
    warnings.mockRestore();
    expect(acknowledged).toHaveLength(2);
    expect(acknowledged[1]).toBeInstanceOf(Error);
    const [record] = await cluster.consumeWithJava({ topic, expectedCount: 1 });
    expect(record.headers).toEqual([['stamped', Buffer.from('yes')]]);
  });

  it('close({ timeoutMs: 0 }) fails pending records at once with a clear error, and send after close fails', async () => {
    const topic = await topicWith(1);
    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, lingerMs: 30_000 });
    producer.send({ topic, value: 'warm' }, () => undefined);
    await producer.flush();
    const pending = Array.from({ length: 10 }, (_, i) => producer.send({ topic, value: `p${i}` }));
    const outcomes = Promise.allSettled(pending);
    await producer.close({ timeoutMs: 0 });
    for (const o of await outcomes) {
      expect(o.status).toBe('rejected');
      expect((o as PromiseRejectedResult).reason).toBeInstanceOf(ProducerClosedError);
    }
    await expect(producer.send({ topic, value: 'late' })).rejects.toThrow(ProducerClosedError);
  });

  it('a caller that passes a callback and ignores the promise never sees an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    vm.realProcess.on('unhandledRejection', onUnhandled);
    try {
      const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, maxBlockMs: 1000 });
      const errors: Array<Error | null> = [];
      const bothCalledBack = callbacks(2);
      const callback = (e: Error | null): void => {
        errors.push(e);
        bothCalledBack.arrived();
      };
      producer.send({ topic: 'bad topic name', value: 'x' }, callback);
      producer.send({ topic: uniqueTopic('cb'), value: 'x', partition: 42 }, callback);
      // maxBlockMs bounds the slower failure; the rest is room for a loaded machine
      await bothCalledBack.within(15_000);
      await producer.close();
      expect(errors).toHaveLength(2);
      expect(errors.every((e) => e instanceof Error)).toBe(true);
      // an unhandled rejection is reported after the microtasks of the turn that rejected
      await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
    } finally {
      vm.realProcess.off('unhandledRejection', onUnhandled);
    }
  });

  it('reports a non-retriable broker error as KafkaProtocolError with the Kafka error name, at once', async () => {
    const topic = await topicWith(1, { 'message.timestamp.after.max.ms': '60000' });
    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers });
    const error = await producer.send({ topic, value: 'from the future', timestamp: Date.now() + 24 * 3600 * 1000 }).catch((e: Error) => e);
    const ok = await producer.send({ topic, value: 'now' });
    await producer.close();
    expect(error).toBeInstanceOf(KafkaProtocolError);
    expect(error).toMatchObject({ code: 'INVALID_TIMESTAMP', errorCode: 32, retriable: false });
    expect((error as Error).message).toContain(topic);
    expect(ok.offset).toBe(0n);
  });
}
