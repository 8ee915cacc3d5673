import { closeProducers, producerOn, recordingLogger, ScriptedCluster, track, turns, type Tracked } from '../../test/support/scripted-cluster';
import { KafkaProtocolError } from '../errors';
import { AuthenticationError, ConnectionError } from '../network/errors';
import { BufferExhaustedError } from './buffer-pool';
import { InvalidRecordError, KafkaTimeoutError, ProducerClosedError, ProducerFatalError } from './errors';
import type { KafkaProducer } from './kafka-producer';
import type { DeliveryFailure, DeliveryReport, ProducerState } from './producer-events';
import type { RecordMetadata } from './types';

jest.setTimeout(30_000);

afterEach(async () => {
  await closeProducers();
});

const KB = 'x'.repeat(1000);
const values = (n: number, prefix = 'v'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
/** A 1 KB value that still says which send it was. */
const kbValue = (i: number): string => `${String(i).padStart(6, '0')}:${KB}`;
const indexOf = (value: string | null): number => Number(value!.slice(0, 6));

describe('close()', () => {
  it('completes every send made before the topic metadata was known, in send order, before it resolves', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster);
    const sends = values(10).map((value) => track(producer.send({ topic: 'orders', value })));

    await producer.close();

    expect(sends.map((s) => s.state)).toEqual(Array(10).fill('fulfilled'));
    expect(sends.map((s) => s.error)).not.toContainEqual(expect.any(ProducerClosedError));
    expect(cluster.log('orders', 0)).toEqual(values(10));
  });

  it('with timeoutMs 0 rejects queued, in-flight and metadata-waiting records with ProducerClosedError and resolves without waiting for the broker', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster, { maxInFlightRequestsPerConnection: 1, lingerMs: 0 });
    await producer.send({ topic: 'orders', value: 'warm-up' });
    const hold = cluster.hold({ api: 'Produce' });
    const inFlight = track(producer.send({ topic: 'orders', value: 'in-flight' }));
    await hold.waitForHeld(1);
    // the one request allowed per connection is out, so these stay queued
    const queued = [track(producer.send({ topic: 'orders', value: 'queued-1' })), track(producer.send({ topic: 'orders', value: 'queued-2' }))];
    const waiting = track(producer.send({ topic: 'unknown-topic', value: 'waiting' }));
    await turns(3);
    expect(producer.health().queuedRecords).toBe(2);

    // the held response is never released: close can only resolve by not waiting for it
    await producer.close({ timeoutMs: 0 });

    for (const t of [inFlight, ...queued, waiting]) {
      expect(t.state).toBe('rejected');
      expect(t.error).toBeInstanceOf(ProducerClosedError);
    }
    expect(cluster.log('orders', 0)).toEqual(['warm-up']);
    expect(producer.health().state).toBe('closed');
  });

  it('with timeoutMs 200 rejects a record whose response never comes with ProducerClosedError once 200 ms have passed, then resolves', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster);
    await producer.send({ topic: 'orders', value: 'warm-up' });
    const hold = cluster.hold({ api: 'Produce' });
    const pending = track(producer.send({ topic: 'orders', value: 'held' }));
    await hold.waitForHeld(1);

    const closeStarted = Date.now();
    const closing = track(producer.close({ timeoutMs: 200 }));
    await turns(5);
    expect(pending.state).toBe('pending');
    expect(closing.state).toBe('pending');
    await cluster.waitUntil(() => closing.state !== 'pending', 'close() to settle');

    expect(closing.state).toBe('fulfilled');
    expect(pending.state).toBe('rejected');
    expect(pending.error).toBeInstanceOf(ProducerClosedError);
    // timers may fire a millisecond early; the bound is the timeout, not how soon after it
    expect(pending.settledAt! - closeStarted).toBeGreaterThanOrEqual(195);
  });
});

describe('a burst beyond bufferMemory', () => {
  const options = { bufferMemory: 256 * 1024, batchSize: 16 * 1024 };

  /** Warms the topic up, then sends 3,000 x 1 KB in one synchronous burst. */
  async function burst(producer: KafkaProducer<string, string>): Promise<Array<Tracked<RecordMetadata>>> {
    await producer.send({ topic: 'events', value: 'warm-up', partition: 0 });
    const sends: Array<Tracked<RecordMetadata>> = [];
    for (let i = 0; i < 3000; i++) sends.push(track(producer.send({ topic: 'events', value: kbValue(i) })));
    return sends;
  }

  /**
   * What a burst may do (memory-waits.ts WaitBudget): records past bufferMemory wait for memory, up to
   * another bufferMemory of waiting bytes; beyond that, send() fails at once with BufferExhaustedError.
   * Every record accepted must be written, each partition in send order.
   */
  function expectAcceptedWrittenInOrder(cluster: ScriptedCluster, sends: Array<Tracked<RecordMetadata>>, rejectedAtOnce: Set<number>): void {
    const accepted = sends.map((_, i) => i).filter((i) => !rejectedAtOnce.has(i));
    for (const i of accepted) expect(sends[i].state).toBe('fulfilled');
    for (const i of rejectedAtOnce) expect(sends[i].error).toBeInstanceOf(BufferExhaustedError);
    const written: number[] = [];
    for (const log of cluster.logs('events')) {
      const indexes = log.filter((v) => v !== 'warm-up').map(indexOf);
      expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
      written.push(...indexes);
    }
    expect(written.sort((a, b) => a - b)).toEqual(accepted);
  }

  /** Indexes of the sends that already failed inside send() (no broker answer can have come yet). */
  async function failedAtOnce(sends: Array<Tracked<RecordMetadata>>): Promise<Set<number>> {
    await Promise.resolve();
    await Promise.resolve();
    return new Set(sends.flatMap((s, i) => (s.state === 'rejected' ? [i] : [])));
  }

  it('close() resolves only after every accepted send resolved, and each partition was written in send order', async () => {
    const cluster = new ScriptedCluster({ topics: { events: 3 } });
    const producer = producerOn(cluster, options);
    const sends = await burst(producer);
    const rejected = await failedAtOnce(sends);
    // some sends wait for memory: the close must wait for them too
    expect(producer.health().waitingRecords).toBeGreaterThan(0);

    await producer.close();

    expect(sends.filter((s) => s.state === 'pending')).toHaveLength(0);
    expectAcceptedWrittenInOrder(cluster, sends, rejected);
  });

  it('flush() does not resolve while any send of the burst is still pending', async () => {
    const cluster = new ScriptedCluster({ topics: { events: 3 } });
    const producer = producerOn(cluster, options);
    const sends = await burst(producer);
    const rejected = await failedAtOnce(sends);
    expect(producer.health().waitingRecords).toBeGreaterThan(0);

    await producer.flush();

    expect(sends.filter((s) => s.state === 'pending')).toHaveLength(0);
    expectAcceptedWrittenInOrder(cluster, sends, rejected);
  });
});

describe('send() callbacks', () => {
  it('a callback that throws is logged as an error and neither raises an unhandled rejection nor affects other records', async () => {
    // An unhandled rejection while a test runs fails it: Jest's own handler sits on the real process
    // (the sandbox's process object never sees the event), so the turns below give one time to surface.
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    cluster.scriptPartition('orders', 0, 'ok', { errorCode: 87, message: 'rejected on purpose' });
    const logger = recordingLogger();
    const producer = producerOn(cluster, { logger, lingerMs: 0 });
    const ok = producer.send({ topic: 'orders', value: 'a' }, () => {
      throw new Error('callback bug on success');
    });
    const other = track(producer.send({ topic: 'orders', value: 'b' }));
    await ok;
    await producer.flush();
    // the second request is answered with a non-retriable error: the failure path's callback throws too
    const failing = producer.send({ topic: 'orders', value: 'c' }, () => {
      throw new Error('callback bug on failure');
    });
    await expect(failing).rejects.toBeInstanceOf(KafkaProtocolError);
    const after = await producer.send({ topic: 'orders', value: 'd' });
    await turns(3);

    expect(logger.error).toHaveBeenCalledWith(expect.stringContaining('callback threw'), expect.objectContaining({ error: expect.objectContaining({ message: 'callback bug on success' }) }));
    expect(logger.error).toHaveBeenCalledWith(expect.stringContaining('callback threw'), expect.objectContaining({ error: expect.objectContaining({ message: 'callback bug on failure' }) }));
    expect(other.state).toBe('fulfilled');
    expect(after.offset).toBe(2n);
    expect(cluster.log('orders', 0)).toEqual(['a', 'b', 'd']);
  });
});

describe('sends waiting for metadata', () => {
  it('are bounded: beyond bufferMemory they fail at once with BufferExhaustedError, the rest with a METADATA_TIMEOUT after maxBlockMs', async () => {
    const cluster = new ScriptedCluster({ topics: {} });
    const producer = producerOn(cluster, { bufferMemory: 64 * 1024, maxBlockMs: 300 });
    const sentAt = Date.now();
    const sends = Array.from({ length: 200 }, (_, i) => track(producer.send({ topic: 'never-created', value: kbValue(i) })));
    await Promise.resolve();
    await Promise.resolve();

    const atOnce = sends.flatMap((s, i) => (s.state === 'rejected' ? [i] : []));
    expect(atOnce.length).toBeGreaterThan(0);
    expect(atOnce.length).toBeLessThan(200);
    // the waiting records hold at most bufferMemory: the first ones wait, every later one fails
    expect(atOnce[0]).toBe(200 - atOnce.length);
    for (const i of atOnce) expect(sends[i].error).toBeInstanceOf(BufferExhaustedError);
    expect(producer.health().waitingRecords).toBe(200 - atOnce.length);

    await cluster.waitUntil(() => sends.every((s) => s.state !== 'pending'), 'every send to settle');
    for (const s of sends.slice(0, atOnce[0])) {
      expect(s.error).toBeInstanceOf(KafkaTimeoutError);
      expect((s.error as KafkaTimeoutError).code).toBe('METADATA_TIMEOUT');
      expect(s.settledAt! - sentAt).toBeGreaterThanOrEqual(295);
    }
    expect(producer.health().waitingRecords).toBe(0);
  });

  it("time out naming the broker's answer for the topic: a METADATA_TIMEOUT whose cause is UNKNOWN_TOPIC_OR_PARTITION for that topic", async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster, { maxBlockMs: 300 });

    const unknown = track(producer.send({ topic: 'no-such-topic', value: 'v' }));
    await cluster.waitForSettled([unknown]);

    expect(unknown.error).toBeInstanceOf(KafkaTimeoutError);
    expect((unknown.error as KafkaTimeoutError).code).toBe('METADATA_TIMEOUT');
    const cause = (unknown.error as Error).cause;
    expect(cause).toBeInstanceOf(KafkaProtocolError);
    expect((cause as KafkaProtocolError).code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect((cause as Error).message).toContain('no-such-topic');
    await expect(producer.send({ topic: 'orders', value: 'still works' })).resolves.toMatchObject({ partition: 0 });
  });
});

describe('records refused before any I/O', () => {
  it('a record whose value is undefined rejects with InvalidRecordError instead of going out as a tombstone; null is still a tombstone', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster);

    const undefinedValue = track(producer.send({ topic: 'orders', key: 'k', value: undefined as unknown as string }));
    await cluster.waitForSettled([undefinedValue]);

    expect(undefinedValue.error).toBeInstanceOf(InvalidRecordError);
    expect(undefinedValue.error!.message).toBe('the value for topic orders is undefined: pass null to send a record without a value (a tombstone)');
    await producer.send({ topic: 'orders', key: 'k', value: null as unknown as string });
    expect(cluster.log('orders', 0)).toEqual([null]);
  });

  it.each([
    ['a Map', new Map([['trace', 'x']]), 'an object (Map)'],
    ['a Set', new Set(['trace']), 'an object (Set)'],
    ['a Buffer', Buffer.from('trace'), 'an object (Buffer)'],
  ])('headers given as %s reject with InvalidRecordError (their entries would otherwise be dropped without a word)', async (_what, headers, described) => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster);

    const sent = track(producer.send({ topic: 'orders', value: 'v', headers: headers as never }));
    await cluster.waitForSettled([sent]);

    expect(sent.error).toBeInstanceOf(InvalidRecordError);
    expect(sent.error!.message).toBe(`headers must be a list of pairs or a plain object, got ${described}`);
    expect(cluster.produceRequests()).toHaveLength(0);
  });

  it('headers as a plain object, or one without a prototype, are sent as before', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster);
    const bare = Object.assign(Object.create(null) as Record<string, string>, { trace: 'b' });

    await producer.send({ topic: 'orders', value: 'plain', headers: { trace: 'a' } });
    await producer.send({ topic: 'orders', value: 'bare', headers: bare });

    expect(cluster.log('orders', 0)).toEqual(['plain', 'bare']);
  });

  it('a custom partitioner that throws rejects the record with InvalidRecordError keeping its error as cause, whether metadata was known or awaited; the next record goes through', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 2 } });
    const failure = new Error('no partition for you');
    const producer = producerOn(cluster, {
      partitioner: {
        partition: (_topic, key) => {
          if (key?.toString() === 'bad') throw failure;
          return 1;
        },
      },
    });

    const beforeMetadata = track(producer.send({ topic: 'orders', key: 'bad', value: 'waited' }));
    await cluster.waitForSettled([beforeMetadata]);
    const afterMetadata = track(producer.send({ topic: 'orders', key: 'bad', value: 'known' }));
    await cluster.waitForSettled([afterMetadata]);

    for (const t of [beforeMetadata, afterMetadata]) {
      expect(t.error).toBeInstanceOf(InvalidRecordError);
      expect(t.error!.message).toBe('the custom partitioner threw for topic orders: no partition for you');
      expect(t.error!.cause).toBe(failure);
    }
    await expect(producer.send({ topic: 'orders', key: 'good', value: 'v' })).resolves.toMatchObject({ partition: 1 });
    expect(cluster.log('orders', 1)).toEqual(['v']);
  });

  it("an interceptor's onSend that returns something other than a record rejects the send with InvalidRecordError naming the interceptor", async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster, { interceptors: [{ onSend: (record) => (record.key === 'garbage' ? (42 as never) : record) }] });

    await expect(producer.send({ topic: 'orders', key: 'garbage', value: 'v' })).rejects.toThrow(new InvalidRecordError("an interceptor's onSend returned a number instead of a record"));
    await producer.send({ topic: 'orders', key: 'fine', value: 'v' });
    expect(cluster.log('orders', 0)).toEqual(['v']);
  });

  it('an undefined record is described as undefined in the error', async () => {
    const producer = producerOn(new ScriptedCluster({ topics: { orders: 1 } }));
    await expect(producer.send(undefined as never)).rejects.toThrow(new InvalidRecordError('record must be an object, got undefined'));
  });
});

describe('health()', () => {
  it('lists as connected only the brokers whose connection is up', async () => {
    const cluster = new ScriptedCluster({ brokers: [1, 2], topics: { orders: { partitions: 2, leaders: [1, 2] } } });
    cluster.setDown(2);
    const producer = producerOn(cluster);
    await producer.send({ topic: 'orders', partition: 0, value: 'a' });

    expect(producer.health().connectedBrokers).toEqual([1]);
    expect(producer.health().knownBrokers).toBe(2);

    cluster.bringUp(2);
    await producer.send({ topic: 'orders', partition: 1, value: 'b' });
    expect(producer.health().connectedBrokers.sort()).toEqual([1, 2]);
  });

  it('goes degraded with lastError after a failed Produce request and back to ready, lastError null, after the next fully successful response', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster, { retryBackoffMs: 10 });
    const changes: Array<{ state: ProducerState; reason: Error | null; lastError: Error | null }> = [];
    producer.onStateChange((c) => changes.push({ state: c.state, reason: c.reason, lastError: producer.health().lastError }));
    await producer.send({ topic: 'orders', value: 'a' });
    expect(producer.health()).toMatchObject({ state: 'ready', lastError: null });

    cluster.scriptRequests({ api: 'Produce' }, 'disconnect');
    await producer.send({ topic: 'orders', value: 'b' });

    expect(changes.map((c) => c.state)).toEqual(['ready', 'degraded', 'ready']);
    expect(changes[1].reason).toBeInstanceOf(ConnectionError);
    expect(changes[1].lastError).toBe(changes[1].reason);
    expect(producer.health()).toMatchObject({ state: 'ready', lastError: null });
    expect(cluster.log('orders', 0)).toEqual(['a', 'b']);
  });

  it('goes degraded with lastError after a partition error in a Produce response (the batch is retried), and ready again after the next fully successful response', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const producer = producerOn(cluster, { retryBackoffMs: 10 });
    const states: ProducerState[] = [];
    let lastErrorWhileDegraded: Error | null = null;
    producer.onStateChange((c) => {
      states.push(c.state);
      if (c.state === 'degraded') lastErrorWhileDegraded = producer.health().lastError;
    });
    await producer.send({ topic: 'orders', value: 'a' });

    cluster.scriptPartition('orders', 0, { errorCode: 7 });
    await producer.send({ topic: 'orders', value: 'b' });

    expect(states).toEqual(['ready', 'degraded', 'ready']);
    expect(lastErrorWhileDegraded).toBeInstanceOf(KafkaProtocolError);
    expect(producer.health()).toMatchObject({ state: 'ready', lastError: null });
  });
});

describe('authentication failures', () => {
  it('when metadata cannot be fetched because authentication failed, waiting sends fail at once with that error and the producer is fatal', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 1 } });
    const refusal = new AuthenticationError('broker-1:9092', 'SASL authentication failed: bad credentials');
    cluster.failAny(refusal);
    const producer = producerOn(cluster);
    const states: ProducerState[] = [];
    producer.onStateChange((c) => states.push(c.state));

    const sends = values(5).map((value) => track(producer.send({ topic: 'orders', value })));
    // far below maxBlockMs (60 s) and deliveryTimeoutMs (120 s): nothing waits for a timeout
    await cluster.waitUntil(() => sends.every((s) => s.state !== 'pending'), 'the sends to fail', 5_000);

    for (const s of sends) {
      expect(s.error).toBe(refusal);
      expect((s.error as AuthenticationError).code).toBe('AUTHENTICATION_FAILED');
    }
    expect(producer.health().state).toBe('fatal');
    expect(producer.health().lastError).toBe(refusal);
    expect(states).toContain('fatal');
    await expect(producer.send({ topic: 'orders', value: 'late' })).rejects.toBeInstanceOf(ProducerFatalError);
  });

  it("when the leader's broker refuses authentication, its records fail at once with that error while other brokers' records succeed", async () => {
    const cluster = new ScriptedCluster({ brokers: [1, 2], topics: { orders: { partitions: 2, leaders: [1, 2] } } });
    const refusal = new AuthenticationError('broker-2:9092', 'SASL authentication failed: bad credentials');
    cluster.setNodeError(2, refusal);
    const producer = producerOn(cluster);

    const refused = values(3, 'r').map((value) => track(producer.send({ topic: 'orders', partition: 1, value })));
    const fine = track(producer.send({ topic: 'orders', partition: 0, value: 'ok' }));
    await cluster.waitUntil(() => [...refused, fine].every((s) => s.state !== 'pending'), 'the sends to settle', 5_000);

    for (const s of refused) expect(s.error).toBe(refusal);
    expect(fine.state).toBe('fulfilled');
    expect(cluster.log('orders', 1)).toEqual([]);
  });
});

describe('delivery events', () => {
  it('onDelivery and onDeliveryError are called once per acknowledged and per failed record, and not after unsubscribing', async () => {
    const cluster = new ScriptedCluster({ topics: { orders: 2 } });
    cluster.scriptPartition('orders', 1, { errorCode: 87, message: 'rejected on purpose' });
    const producer = producerOn(cluster);
    const delivered: DeliveryReport[] = [];
    const failed: DeliveryFailure[] = [];
    const stopDelivered = producer.onDelivery((r) => delivered.push(r));
    const stopFailed = producer.onDeliveryError((f) => failed.push(f));

    const sends = [
      ...values(5, 'ok').map((value) => producer.send({ topic: 'orders', partition: 0, value })),
      ...values(3, 'bad').map((value) => producer.send({ topic: 'orders', partition: 1, value })),
    ];
    await Promise.allSettled(sends);
    await turns(2);

    expect(delivered.map((r) => [r.partition, r.offset])).toEqual([0n, 1n, 2n, 3n, 4n].map((o) => [0, o]));
    expect(failed).toHaveLength(3);
    for (const f of failed) {
      expect(f).toMatchObject({ topic: 'orders', partition: 1 });
      expect((f.error as KafkaProtocolError).errorCode).toBe(87);
    }

    stopDelivered();
    stopFailed();
    await producer.send({ topic: 'orders', partition: 0, value: 'unobserved' });
    await turns(2);
    expect(delivered).toHaveLength(5);
    expect(failed).toHaveLength(3);
  });
});
