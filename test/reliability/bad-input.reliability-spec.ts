import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { KafkaError, KafkaProducer, type ProducerInterceptor, type ProducerRecord, type Serializer } from '@app/kafka-producer';
import { freePorts, KafkaCluster, type ConsumedRecord } from '@app/kafka-testing';
import { writeBadInputRow, type BadInputRow } from './support/rows';
import { collectingLogger, describeError } from './support/workload';

/**
 * Bad input (issue #10, plan §4 rows 1-8 and 17, matrix C): every case is a typed error within a
 * bounded time, and a send after it on the same producer is acknowledged. One 1-node broker with
 * auto-create off; one producer (`main`) takes every case it can, so the follow-ups prove that no
 * bad record left it stuck, poisoned or storming. Where a bad record could have reached the broker,
 * the topics are read back with the Java consumer at the end and must not hold it.
 *
 * Bounds, on a loaded 2-core machine: a check made before any I/O gets 1 s (it takes microseconds);
 * an answer that needs one broker round trip gets 10 s, which is well under the 120 s delivery
 * timeout a retried error would run into; the metadata waits are maxBlockMs (3 s) plus 3 s of slack.
 */

const MAX_BLOCK_MS = 3000;
const LOCAL_MS = 1000;
const ROUND_TRIP_MS = 10_000;
const METADATA_WAIT_MS = MAX_BLOCK_MS + 3000;
/** A call with no outcome after this long is a hang, recorded as such. */
const HANG_MS = 30_000;
const LIMITED_MAX_MESSAGE_BYTES = 10_000;

/** A call that neither threw nor settled within HANG_MS: a hang, which must fail its row rather than the whole run. */
class NoOutcome extends Error {
  constructor(ms: number) {
    super(`no outcome within ${ms} ms`);
    this.name = 'NoOutcome';
  }
}

interface Attempt {
  surfaced: BadInputRow['surfaced'];
  error: unknown;
  ms: number;
}

/** Calls `call` and tells how it ended: a synchronous throw, a rejection, or a resolution. */
async function attempt(call: () => Promise<unknown>): Promise<Attempt> {
  const started = performance.now();
  let promise: Promise<unknown>;
  try {
    promise = call();
  } catch (e) {
    return { surfaced: 'throws', error: e, ms: performance.now() - started };
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new NoOutcome(HANG_MS)), HANG_MS)))]);
    return { surfaced: 'resolves', error: null, ms: performance.now() - started };
  } catch (e) {
    return { surfaced: 'rejects', error: e, ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

const errorName = (e: unknown): string => (e === null ? 'none' : e instanceof Error ? e.name : typeof e);
const errorCode = (e: unknown): string => (e instanceof KafkaError ? e.code : e === null ? 'none' : 'untyped');
const retriable = (e: unknown): boolean | null => (e instanceof KafkaError ? e.retriable : null);
const marker = (id: string): string => `bad:${id}`;

interface Expected {
  surfaced: BadInputRow['surfaced'];
  /** The error's class name ('none' when the call resolves). */
  errorName: string;
  code: string;
  retriable?: boolean;
  /** What the message (with its causes) must say: the thing that was wrong. */
  message?: RegExp;
}

interface Case {
  id: string;
  input: string;
  boundMs: number;
  /** At least this long (a wait that must last maxBlockMs). */
  minMs?: number;
  call: () => Promise<unknown>;
  expected: Expected;
  /** Sends one good record on the producer the case used; true once it is acknowledged. */
  followUp: () => Promise<boolean>;
  /** The topic whose log must not hold this case's marker; undefined where nothing could be written. */
  logTopic?: string;
  /** Further checks of the case, by name (true = holds). */
  extra?: () => Promise<Record<string, boolean>> | Record<string, boolean>;
}

interface Outcome {
  row: BadInputRow;
  checks: Record<string, boolean>;
  logTopic?: string;
  /** The marker must be in the log instead (an interceptor failure does not stop the record). */
  mustBeWritten?: boolean;
}

describe('bad input: a typed error within a bound, and the producer keeps working', () => {
  let cluster: KafkaCluster;
  let main: KafkaProducer;
  const mainLog = collectingLogger();
  const topic = 'bad-input';
  const limited = 'bad-input-limited';
  const outcomes: Outcome[] = [];
  const followUps = new Map<string, string[]>();
  const toClose: KafkaProducer[] = [];

  /** One good record on `producer`, with a value the read-back expects in `logTopic`. */
  async function sendsAgain(producer: KafkaProducer, id: string, to = topic, partition?: number): Promise<boolean> {
    const value = `ok:${id}`;
    const r = await attempt(() => producer.send({ topic: to, key: value, value, partition }));
    if (r.surfaced !== 'resolves') return false;
    followUps.set(to, [...(followUps.get(to) ?? []), value]);
    return true;
  }

  async function runCase(c: Case, options: { mustBeWritten?: boolean } = {}): Promise<Outcome> {
    const a = await attempt(c.call);
    const described = a.error === null ? '' : describeError(a.error);
    const checks: Record<string, boolean> = {
      [`surfaced ${c.expected.surfaced}`]: a.surfaced === c.expected.surfaced,
      [`error ${c.expected.errorName}`]: errorName(a.error) === c.expected.errorName,
      [`code ${c.expected.code}`]: errorCode(a.error) === c.expected.code,
      [`within ${c.boundMs} ms`]: a.ms <= c.boundMs,
      ...(c.minMs !== undefined ? { [`not before ${c.minMs} ms`]: a.ms >= c.minMs } : {}),
      ...(c.expected.retriable !== undefined ? { [`retriable ${c.expected.retriable}`]: retriable(a.error) === c.expected.retriable } : {}),
      ...(c.expected.message !== undefined ? { [`message says ${c.expected.message.source}`]: c.expected.message.test(described) } : {}),
    };
    const stillWorks = await c.followUp();
    checks['follow-up acknowledged'] = stillWorks;
    Object.assign(checks, (await c.extra?.()) ?? {});
    const row: BadInputRow = {
      id: c.id,
      input: c.input,
      surfaced: a.surfaced,
      errorName: errorName(a.error),
      errorCode: errorCode(a.error),
      retriable: retriable(a.error),
      ms: Math.round(a.ms * 10) / 10,
      boundMs: c.boundMs,
      producerStillWorks: stillWorks,
      nothingWritten: null,
      message: described || 'resolved',
      passed: Object.values(checks).every(Boolean),
    };
    // written now so a run that dies later keeps the row; the read-back rewrites it
    writeBadInputRow(row);
    const outcome: Outcome = { row, checks, logTopic: c.logTopic, mustBeWritten: options.mustBeWritten };
    outcomes.push(outcome);
    return outcome;
  }

  /** The jest side of a case: every check by name, so a failure says which one broke. */
  function expectPassed(o: Outcome): void {
    expect({ id: o.row.id, failed: Object.entries(o.checks).filter(([, ok]) => !ok).map(([name]) => name), message: o.row.message }).toEqual({
      id: o.row.id,
      failed: [],
      message: o.row.message,
    });
  }

  const onMain = (id: string, input: string, record: () => ProducerRecord | unknown, expected: Expected, boundMs = LOCAL_MS): Case => ({
    id,
    input,
    boundMs,
    call: () => main.send(record() as ProducerRecord),
    expected,
    followUp: () => sendsAgain(main, id),
    logTopic: topic,
  });

  const invalidRecord = (message: RegExp): Expected => ({ surfaced: 'rejects', errorName: 'InvalidRecordError', code: 'INVALID_RECORD', retriable: false, message });

  beforeAll(async () => {
    cluster = await KafkaCluster.start({ nodes: 1, brokerConfig: { 'auto.create.topics.enable': 'false' } });
    await cluster.createTopics([
      { name: topic, partitions: 3, replicationFactor: 1 },
      { name: limited, partitions: 1, replicationFactor: 1, configs: { 'max.message.bytes': String(LIMITED_MAX_MESSAGE_BYTES) } },
    ]);
    main = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, clientId: 'bad-input', maxBlockMs: MAX_BLOCK_MS, logger: mainLog });
    // metadata of both topics known before the first case, so each case measures only itself
    expect(await sendsAgain(main, 'warm-up')).toBe(true);
    expect(await sendsAgain(main, 'warm-up', limited)).toBe(true);
  });

  afterAll(async () => {
    for (const p of [main, ...toClose]) await p?.close({ timeoutMs: 5000 }).catch(() => undefined);
    await cluster?.stop();
  });

  // ------------------------------------------------------------------ sizes

  it('C1 a record larger than maxRequestSize fails alone with RecordTooLargeError, before any I/O', async () => {
    expectPassed(
      await runCase(
        onMain('C1', 'value of maxRequestSize + 1 bytes (1 MiB + 1)', () => ({ topic, key: marker('C1'), value: Buffer.alloc(1048577, 1) }), {
          surfaced: 'rejects',
          errorName: 'RecordTooLargeError',
          code: 'RECORD_TOO_LARGE',
          retriable: false,
          message: /\d+ bytes .*maxRequestSize/,
        }),
      ),
    );
  });

  it('C2 a record larger than bufferMemory (but within maxRequestSize) fails alone with RecordTooLargeError', async () => {
    const small = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, clientId: 'bad-input-small', bufferMemory: 256 * 1024, maxBlockMs: MAX_BLOCK_MS, logger: collectingLogger() });
    toClose.push(small);
    expectPassed(
      await runCase({
        id: 'C2',
        input: '512 KiB value, bufferMemory 256 KiB',
        boundMs: LOCAL_MS,
        call: () => small.send({ topic, key: marker('C2'), value: Buffer.alloc(512 * 1024, 2) }),
        expected: { surfaced: 'rejects', errorName: 'RecordTooLargeError', code: 'RECORD_TOO_LARGE', retriable: false, message: /\d+ bytes .*bufferMemory/ },
        followUp: () => sendsAgain(small, 'C2'),
        logTopic: topic,
      }),
    );
  });

  it("C3 one record within the client's limits but over the topic's max.message.bytes: the broker's MESSAGE_TOO_LARGE, not retried", async () => {
    const retriesBefore = main.metrics()['record-retry-total'];
    expectPassed(
      await runCase({
        id: 'C3',
        input: `20 kB record, topic max.message.bytes ${LIMITED_MAX_MESSAGE_BYTES}`,
        boundMs: ROUND_TRIP_MS,
        call: () => main.send({ topic: limited, key: marker('C3'), value: Buffer.alloc(20_000, 3) }),
        expected: { surfaced: 'rejects', errorName: 'KafkaProtocolError', code: 'MESSAGE_TOO_LARGE', retriable: false, message: /MESSAGE_TOO_LARGE.*bad-input-limited-0.*1 record\(s\) is \d+ bytes.*max\.message\.bytes/ },
        // the same partition: a final failure of an idempotent batch must not leave it stuck
        followUp: () => sendsAgain(main, 'C3', limited),
        logTopic: limited,
        extra: () => ({ 'not retried': main.metrics()['record-retry-total'] === retriesBefore }),
      }),
    );
  });

  it("C4 many records within max.message.bytes each whose batches exceed it: batches are split and every record lands, in order", async () => {
    const count = 30;
    const values = Array.from({ length: count }, (_, i) => `split:${String(i).padStart(2, '0')}:${'x'.repeat(6000)}`);
    const splitsBefore = main.metrics()['batch-split-total'];
    const sends: Array<Promise<unknown>> = [];
    const o = await runCase({
      id: 'C4',
      input: `${count} x 6 kB records sent at once to a topic with max.message.bytes ${LIMITED_MAX_MESSAGE_BYTES}`,
      boundMs: ROUND_TRIP_MS * 2,
      call: () => {
        for (const value of values) sends.push(main.send({ topic: limited, value, partition: 0 }));
        return Promise.all(sends);
      },
      expected: { surfaced: 'resolves', errorName: 'none', code: 'none' },
      followUp: () => sendsAgain(main, 'C4', limited),
      extra: async () => ({ 'batches were split': main.metrics()['batch-split-total'] > splitsBefore }),
    });
    splitValues.push(...values);
    expectPassed(o);
  });
  const splitValues: string[] = [];

  // ------------------------------------------------------------------ topics and partitions

  it.each([
    ['C5', '"bad topic!"', 'bad topic!', /"bad topic!" has characters/],
    ['C6', '".."', '..', /"\.\." is not allowed/],
    ['C7', 'of 250 characters', 'a'.repeat(250), /250 characters, more than 249/],
  ])('%s invalid topic name %s is refused before any I/O with InvalidRecordError', async (id, label, name, message) => {
    // nothing to read back: no such topic can exist
    expectPassed(await runCase({ ...onMain(id, `topic ${label}`, () => ({ topic: name, value: marker(id) }), invalidRecord(message)), logTopic: undefined }));
  });

  it('C8 an unknown topic (auto-create off) fails after maxBlockMs with a timeout whose cause names the topic; the topic is not created', async () => {
    const unknown = 'bad-input-no-such-topic';
    expectPassed(
      await runCase({
        id: 'C8',
        input: `unknown topic, auto.create.topics.enable=false, maxBlockMs ${MAX_BLOCK_MS}`,
        boundMs: METADATA_WAIT_MS,
        minMs: MAX_BLOCK_MS - 50,
        call: () => main.send({ topic: unknown, value: marker('C8') }),
        expected: { surfaced: 'rejects', errorName: 'KafkaTimeoutError', code: 'METADATA_TIMEOUT', retriable: true, message: /caused by UNKNOWN_TOPIC_OR_PARTITION.*bad-input-no-such-topic/ },
        followUp: () => sendsAgain(main, 'C8'),
        extra: async () => {
          const md = await cluster.metadata([unknown]);
          return { 'topic not created': md.topics.every((t) => t.name !== unknown || t.errorCode === 3) };
        },
      }),
    );
  });

  it('C9 an explicit partition >= the partition count fails fast once metadata is known (Java waits maxBlockMs)', async () => {
    expectPassed(
      await runCase(
        onMain('C9', 'partition 3 of a 3-partition topic', () => ({ topic, key: marker('C9'), value: marker('C9'), partition: 3 }), invalidRecord(/partition 3 of topic bad-input does not exist: the topic has 3 partitions/), ROUND_TRIP_MS),
      ),
    );
  });

  // ------------------------------------------------------------------ serializers and interceptors

  describe('serializers and interceptors that throw', () => {
    const BOOM = 'boom';
    const WRONG_TYPE = 'wrong-type';
    const throwingOnBoom: Serializer<string> = {
      serialize(_topic, data) {
        if (data === BOOM) throw new Error(`serializer refuses ${BOOM}`);
        // a serializer bug: a string where bytes are due
        if (data === WRONG_TYPE) return data as unknown as Buffer;
        return Buffer.from(data, 'utf8');
      },
    };
    let ackThrew = 0;
    const interceptor: ProducerInterceptor<string, string> = {
      onSend(record) {
        if (record.key === 'intercept-boom') throw new Error('onSend refuses the record');
        if (record.key === 'intercept-garbage') return 42 as never;
        return record;
      },
      onAcknowledgement(metadata) {
        if (metadata !== null && metadata.serializedKeySize === 'ack-boom'.length) {
          ackThrew++;
          throw new Error('onAcknowledgement fails');
        }
      },
    };
    const log = collectingLogger();
    let serde: KafkaProducer<string, string>;

    beforeAll(() => {
      serde = new KafkaProducer<string, string>({
        bootstrapServers: cluster.bootstrapServers,
        clientId: 'bad-input-serde',
        keySerializer: throwingOnBoom,
        valueSerializer: throwingOnBoom,
        interceptors: [interceptor],
        partitioner: {
          partition: (_topic, key) => {
            if (key?.toString() === 'partition-boom') throw new Error('partitioner refuses the key');
            return -1;
          },
        },
        maxBlockMs: MAX_BLOCK_MS,
        logger: log,
      });
      toClose.push(serde as unknown as KafkaProducer);
    });

    const again = (id: string) => (): Promise<boolean> => sendsAgain(serde as unknown as KafkaProducer, id);

    it('C10 a key serializer that throws: InvalidRecordError naming the key and the topic, with the serializer error as cause', async () => {
      expectPassed(
        await runCase({
          id: 'C10',
          input: 'key serializer throws',
          boundMs: LOCAL_MS,
          call: () => serde.send({ topic, key: BOOM, value: marker('C10') }),
          expected: invalidRecord(/cannot serialize the key for topic bad-input.*caused by untyped: serializer refuses boom/),
          followUp: again('C10'),
          logTopic: topic,
        }),
      );
    });

    it('C11 a value serializer that throws: InvalidRecordError naming the value and the topic', async () => {
      expectPassed(
        await runCase({
          id: 'C11',
          input: 'value serializer throws',
          boundMs: LOCAL_MS,
          call: () => serde.send({ topic, key: marker('C11'), value: BOOM }),
          expected: invalidRecord(/cannot serialize the value for topic bad-input.*serializer refuses boom/),
          followUp: again('C11'),
          logTopic: topic,
        }),
      );
    });

    it('C12 an onSend interceptor that throws is logged and skipped (as Java and our README say): the record is sent as given', async () => {
      const warnings = log.lines.length;
      expectPassed(
        await runCase(
          {
            id: 'C12',
            input: 'interceptor onSend throws',
            boundMs: ROUND_TRIP_MS,
            call: () => serde.send({ topic, key: 'intercept-boom', value: marker('C12') }),
            expected: { surfaced: 'resolves', errorName: 'none', code: 'none' },
            followUp: again('C12'),
            logTopic: topic,
            extra: () => ({ 'logged a warning': log.lines.slice(warnings).some((l) => /interceptor onSend threw/.test(l)) }),
          },
          { mustBeWritten: true },
        ),
      );
    });

    it('C13 an onAcknowledgement interceptor that throws is logged and skipped: the send still resolves', async () => {
      const warnings = log.lines.length;
      expectPassed(
        await runCase(
          {
            id: 'C13',
            input: 'interceptor onAcknowledgement throws',
            boundMs: ROUND_TRIP_MS,
            call: () => serde.send({ topic, key: 'ack-boom', value: marker('C13') }),
            expected: { surfaced: 'resolves', errorName: 'none', code: 'none' },
            followUp: again('C13'),
            logTopic: topic,
            extra: () => ({ 'the interceptor threw': ackThrew === 1, 'logged a warning': log.lines.slice(warnings).some((l) => /onAcknowledgement threw/.test(l)) }),
          },
          { mustBeWritten: true },
        ),
      );
    });

    it('C31 a custom partitioner that throws: InvalidRecordError naming the partitioner and the topic, with its error as cause', async () => {
      expectPassed(
        await runCase({
          id: 'C31',
          input: 'custom partitioner throws',
          boundMs: LOCAL_MS,
          call: () => serde.send({ topic, key: 'partition-boom', value: marker('C31') }),
          expected: invalidRecord(/the custom partitioner threw for topic bad-input: partitioner refuses the key <- caused by untyped: partitioner refuses the key/),
          followUp: again('C31'),
          logTopic: topic,
        }),
      );
    });

    it("C35 an onSend interceptor that returns a number instead of a record: InvalidRecordError naming the interceptor", async () => {
      expectPassed(
        await runCase({
          id: 'C35',
          input: 'interceptor onSend returns a number',
          boundMs: LOCAL_MS,
          call: () => serde.send({ topic, key: 'intercept-garbage', value: marker('C35') }),
          expected: invalidRecord(/an interceptor's onSend returned a number instead of a record/),
          followUp: again('C35'),
          logTopic: topic,
        }),
      );
    });

    it('C32 a value serializer that returns a string instead of a Buffer: InvalidRecordError naming the serializer', async () => {
      expectPassed(
        await runCase({
          id: 'C32',
          input: 'value serializer returns a string',
          boundMs: LOCAL_MS,
          call: () => serde.send({ topic, key: marker('C32'), value: WRONG_TYPE }),
          expected: invalidRecord(/the value serializer for topic bad-input returned a string, not a Buffer or null/),
          followUp: again('C32'),
          logTopic: topic,
        }),
      );
    });
  });

  // ------------------------------------------------------------------ lifecycle and connectivity

  it('C14 send after close() rejects with ProducerClosedError; the producer stays closed, others are unaffected', async () => {
    const closing = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, clientId: 'bad-input-closed', logger: collectingLogger() });
    expect(await sendsAgain(closing, 'C14-before-close')).toBe(true);
    await closing.close();
    expectPassed(
      await runCase({
        id: 'C14',
        input: 'send after close() (follow-up on the shared producer)',
        boundMs: LOCAL_MS,
        call: () => closing.send({ topic, key: marker('C14'), value: marker('C14') }),
        expected: { surfaced: 'rejects', errorName: 'ProducerClosedError', code: 'PRODUCER_CLOSED', retriable: false, message: /closing or closed/ },
        followUp: () => sendsAgain(main, 'C14'),
        logTopic: topic,
        extra: async () => ({ 'a second close() resolves': (await attempt(() => closing.close())).surfaced === 'resolves' }),
      }),
    );
  });

  it('C15 unreachable bootstrap servers: send fails after maxBlockMs with a typed timeout naming the connection failure; close() returns; once the address answers the same producer delivers', async () => {
    // two addresses: the first starts answering later, the second never does
    const [port, neverPort] = await freePorts(2);
    const dead = `127.0.0.1:${port}`;
    const log = collectingLogger();
    const producer = new KafkaProducer({ bootstrapServers: [dead], clientId: 'bad-input-unreachable', maxBlockMs: MAX_BLOCK_MS, logger: log });
    toClose.push(producer);
    const abandoned = new KafkaProducer({ bootstrapServers: [`127.0.0.1:${neverPort}`], clientId: 'bad-input-unreachable-close', maxBlockMs: MAX_BLOCK_MS, logger: collectingLogger() });
    let forwarder: net.Server | null = null;
    try {
      expectPassed(
        await runCase({
          id: 'C15',
          input: `bootstrap ${dead} (nothing listens), maxBlockMs ${MAX_BLOCK_MS}`,
          boundMs: METADATA_WAIT_MS,
          minMs: MAX_BLOCK_MS - 50,
          call: () => producer.send({ topic, key: marker('C15'), value: marker('C15') }),
          expected: { surfaced: 'rejects', errorName: 'KafkaTimeoutError', code: 'METADATA_TIMEOUT', retriable: true, message: new RegExp(`not present in metadata after ${MAX_BLOCK_MS} ms.*caused by.*127\\.0\\.0\\.1:${port}`) },
          followUp: async () => {
            // the address starts answering (a forwarder to the real broker): the producer's own metadata
            // retries find it, so the follow-up waits for that instead of racing it with a 3 s maxBlockMs
            forwarder = await forward(port, cluster.bootstrapServers[0]);
            const until = Date.now() + 20_000;
            while (producer.health().state !== 'ready' && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
            return sendsAgain(producer, 'C15');
          },
          logTopic: topic,
          extra: async () => {
            // a producer that never reached a broker, with a send pending: close() waits for it (maxBlockMs) and returns
            const pending = attempt(() => abandoned.send({ topic, key: marker('C15'), value: marker('C15') }));
            const closed = await attempt(() => abandoned.close());
            const sent = await pending;
            return {
              'close() with a pending send returns within maxBlockMs + 3 s': closed.surfaced === 'resolves' && closed.ms <= METADATA_WAIT_MS,
              'its pending send failed typed': sent.surfaced === 'rejects' && sent.error instanceof KafkaError,
            };
          },
        }),
      );
    } finally {
      await abandoned.close().catch(() => undefined);
      await producer.close({ timeoutMs: 5000 }).catch(() => undefined);
      await new Promise<void>((r) => (forwarder === null ? r() : (forwarder as net.Server).close(() => r())));
    }
  });

  it('C33 a bootstrap address whose port cannot exist is a ProducerConfigError at construction, not a timeout on every send', async () => {
    expectPassed(
      await runCase({
        id: 'C33',
        input: 'bootstrap 127.0.0.1:99999 (follow-up on the shared producer)',
        boundMs: LOCAL_MS,
        call: () => new KafkaProducer({ bootstrapServers: ['127.0.0.1:99999'] }).send({ topic, key: marker('C33'), value: marker('C33') }),
        expected: { surfaced: 'throws', errorName: 'ProducerConfigError', code: 'INVALID_CONFIG', retriable: false, message: /"127\.0\.0\.1:99999" has port 99999, outside 1-65535/ },
        followUp: () => sendsAgain(main, 'C33'),
        logTopic: topic,
      }),
    );
  });

  // ------------------------------------------------------------------ record fields

  it.each([
    ['C16', 'a number', 42, /value for topic bad-input: expected a Buffer, Uint8Array or string, got a number/],
    ['C17', 'an object', { id: 1 }, /value for topic bad-input: expected a Buffer, Uint8Array or string, got an object \(Object\)/],
    ['C18', 'undefined', undefined, /value for topic bad-input is undefined: pass null/],
  ])('%s value %s without a value serializer: InvalidRecordError naming the value', async (id, what, value, message) => {
    expectPassed(await runCase(onMain(id, `value ${what}, no serializer`, () => ({ topic, key: marker(id), value }), invalidRecord(message))));
  });

  it.each([
    ['C19', 'negative (-1)', -1],
    ['C20', 'NaN', Number.NaN],
    ['C21', 'Infinity', Number.POSITIVE_INFINITY],
    ['C22', 'not an integer (1.5)', 1.5],
  ])('%s timestamp %s: InvalidRecordError naming the timestamp', async (id, what, timestamp) => {
    expectPassed(await runCase(onMain(id, `timestamp ${what}`, () => ({ topic, key: marker(id), value: marker(id), timestamp }), invalidRecord(/timestamp must be a non-negative integer/))));
  });

  it("C23 a timestamp 2 h ahead (past the broker's message.timestamp.after.max.ms of 1 h): INVALID_TIMESTAMP, not retried", async () => {
    const retriesBefore = main.metrics()['record-retry-total'];
    expectPassed(
      await runCase({
        id: 'C23',
        input: 'timestamp now + 2 h',
        boundMs: ROUND_TRIP_MS,
        call: () => main.send({ topic, key: marker('C23'), value: marker('C23'), partition: 1, timestamp: Date.now() + 2 * 3600_000 }),
        expected: { surfaced: 'rejects', errorName: 'KafkaProtocolError', code: 'INVALID_TIMESTAMP', retriable: false, message: /INVALID_TIMESTAMP.*bad-input-1/ },
        followUp: () => sendsAgain(main, 'C23', topic, 1),
        logTopic: topic,
        extra: () => ({ 'not retried': main.metrics()['record-retry-total'] === retriesBefore }),
      }),
    );
  });

  it('C34 a good record in the same batch as one the broker refuses (INVALID_TIMESTAMP) fails with it, as in Java, with a message naming the record that was refused; nothing of the batch is written', async () => {
    let bad: Promise<unknown> | undefined;
    const o = await runCase({
      id: 'C34',
      input: 'good record batched after one with timestamp now + 2 h (same partition, same tick)',
      boundMs: ROUND_TRIP_MS,
      call: () => {
        bad = main.send({ topic, key: 'bad:C34-future', value: 'bad:C34-future', partition: 2, timestamp: Date.now() + 2 * 3600_000 });
        bad.catch(() => undefined);
        return main.send({ topic, key: marker('C34'), value: marker('C34'), partition: 2 });
      },
      expected: { surfaced: 'rejects', errorName: 'KafkaProtocolError', code: 'INVALID_TIMESTAMP', retriable: false, message: /bad-input-2: .*record 0: Timestamp \d+ of message/ },
      followUp: () => sendsAgain(main, 'C34', topic, 2),
      logTopic: topic,
      extra: async () => ({ 'the refused record failed too': (await attempt(() => bad!)).surfaced === 'rejects' }),
    });
    expectPassed(o);
  });

  it.each([
    ['C24', 'headers a number', 42, /headers must be a list of pairs or a plain object, got a number/],
    ['C25', 'headers a Map', new Map([['trace', 'x']]), /headers must be a list of pairs or a plain object, got an object \(Map\)/],
    ['C26', 'a header with a non-string key', [[7, 'x']], /\[key, value\] pairs with string keys/],
    ['C27', 'a header with a number value', { trace: 5 }, /header "trace" must be a Buffer, string or null, got a number/],
  ])('%s %s: InvalidRecordError naming the header', async (id, what, headers, message) => {
    expectPassed(await runCase(onMain(id, what, () => ({ topic, key: marker(id), value: marker(id), headers }), invalidRecord(message))));
  });

  it.each([
    ['C28', 'a null record', null, /record must be an object, got null/],
    ['C29', 'an undefined record', undefined, /record must be an object, got undefined/],
    ['C30', 'a record without a topic', { value: marker('C30') }, /topic must be a string, got undefined/],
  ])('%s %s: InvalidRecordError', async (id, what, record, message) => {
    expectPassed(await runCase({ ...onMain(id, what, () => record, invalidRecord(message)), logTopic: record === null || record === undefined ? undefined : topic }));
  });

  // ------------------------------------------------------------------ the log

  it('nothing of a refused record is in the log; every follow-up, the split records and the intercepted ones are', async () => {
    const logs = new Map<string, ConsumedRecord[]>();
    for (const t of [topic, limited]) logs.set(t, await cluster.consumeWithJava({ topic: t, timeoutMs: 60_000 }));
    const wrong: string[] = [];
    for (const o of outcomes) {
      if (o.logTopic === undefined) continue;
      const records = logs.get(o.logTopic)!;
      const m = marker(o.row.id);
      // 'bad:C34' and its companions 'bad:C34-…', never 'bad:C3' for 'bad:C34'
      const ours = (b: Buffer | null): boolean => b !== null && (b.toString() === m || b.toString().startsWith(`${m}-`));
      const present = records.some((r) => ours(r.key) || ours(r.value));
      const ok = o.mustBeWritten === true ? present : !present;
      // an interceptor case has nothing bad to keep out: its check is that the record arrived
      o.row.nothingWritten = o.mustBeWritten === true ? null : !present;
      if (!ok) {
        o.checks[o.mustBeWritten === true ? 'record in the log' : 'nothing written'] = false;
        o.row.passed = false;
        wrong.push(`${o.row.id}: ${present ? 'in the log' : 'missing from the log'}`);
      }
      writeBadInputRow(o.row);
    }
    for (const [t, values] of followUps) {
      const got = new Set(logs.get(t)!.map((r) => r.value?.toString()));
      for (const v of values) if (!got.has(v)) wrong.push(`follow-up ${v} missing from ${t}`);
    }
    const split = logs.get(limited)!.filter((r) => r.value?.toString().startsWith('split:')).map((r) => r.value!.toString());
    if (JSON.stringify(split) !== JSON.stringify(splitValues)) wrong.push(`split records: ${split.length} of ${splitValues.length}, in send order: ${JSON.stringify(split) === JSON.stringify([...split].sort())}`);
    expect(wrong).toEqual([]);
  });
});

/** A TCP forwarder from 127.0.0.1:port to `target` (host:port): an address that starts answering. */
function forward(port: number, target: string): Promise<net.Server> {
  const [host, targetPort] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, host);
    client.pipe(upstream).pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  return new Promise((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve(server)));
}
