import { KafkaProducer, type KafkaProducerOptions } from '@app/kafka-producer';
import { checkDelivery, deliveryAnomalies, KafkaCluster, type FaultProxy, type FaultProxyEvent, type FaultProxyEventKind, type FaultRule } from '@app/kafka-testing';
import { uniqueTopic } from '../support/round-trip';
import { RssSampler, scaled, SCALE, writeScenarioRow, type ScenarioRow } from './support/rows';
import { collectingLogger, collectUnhandledRejections, describeError, sleep, Workload } from './support/workload';

/**
 * The wire-fault rows of the matrix (../shared/notes/reliability-plan.md §6 F2–F4 and A6, §4 rows
 * 15–16) on one broker behind its FaultProxy: responses cut mid-frame or corrupted, correlation ids
 * rewritten, responses reordered, a 2 GiB length prefix, Produce requests corrupted on the way in,
 * and connections reset every second. The producer runs with its defaults (idempotent, acks=all,
 * 5 requests in flight). Every fault is retriable, so every record must be acknowledged exactly once
 * at the offset the log has it at; what was injected is counted from the proxy's events.
 */

const PARTITIONS = 6;
const PRODUCE = 0;
const METADATA = 3;
const API_VERSIONS = 18;
const INIT_PRODUCER_ID = 22;
const SETUP = `1 node, RF 1, ${PARTITIONS} partitions, through the fault proxy`;
const MiB = 1024 * 1024;

interface ScenarioSpec {
  id: string;
  name: string;
  /** Records (the warm-up one included) and their offered rate; with `forMs`, send for that long instead. */
  count: number;
  ratePerSec: number;
  forMs?: number;
  producer?: Partial<KafkaProducerOptions<string, string>>;
  producerNote?: string;
  /** Adds the fault rules once the producer is streaming; they are removed when the stream ends. */
  inject: (proxy: FaultProxy) => FaultRule[];
  /** Rules in place before the producer exists, for its bootstrap (ApiVersions, Metadata, InitProducerId); removed with the others. */
  atStart?: (proxy: FaultProxy) => FaultRule[];
  /** The event kinds that count as injected faults. */
  kinds: FaultProxyEventKind[];
  /** Further conditions of the scenario (name → holds), and figures of its own. */
  require?: (r: ScenarioRun) => Record<string, boolean>;
  extra?: (r: ScenarioRun) => Record<string, number | string | boolean>;
}

interface ScenarioRun {
  events: FaultProxyEvent[];
  faults: FaultProxyEvent[];
  /** How many of these faults' connections the producer closed itself (rather than the proxy or the broker). */
  closedByProducer: (faults: FaultProxyEvent[]) => number;
  reconnects: number;
  sendMs: number;
  rssGrowthMiB: number;
  retries: number;
  settled: boolean;
}

const inFlightRewrites = (r: ScenarioRun): number => r.faults.filter((f) => f.detail?.includes('of another request in flight') === true).length;

describe(`wire faults on 1 node (${SCALE} scale)`, () => {
  let cluster: KafkaCluster;
  const unhandled = collectUnhandledRejections();

  beforeAll(async () => {
    cluster = await KafkaCluster.start({ nodes: 1, faultProxy: true, brokerConfig: { 'auto.create.topics.enable': 'false' } });
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  async function settleWithin(workload: Workload, ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([workload.settle().then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
    clearTimeout(timer);
    return settled;
  }

  /** Streams the workload under the spec's faults, checks the log with the Java consumer and writes the row. */
  async function run(spec: ScenarioSpec): Promise<{ row: ScenarioRow; anomalies: Record<string, number>; run: ScenarioRun }> {
    const topic = uniqueTopic(`wire-${spec.id}`);
    await cluster.createTopic({ name: topic, partitions: PARTITIONS, replicationFactor: 1 });
    const proxy = cluster.proxies[0];
    const setupEvent = proxy.events.length;
    const startRules = spec.atStart?.(proxy) ?? [];
    const logger = collectingLogger();
    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, clientId: `wire-${spec.id}`, logger, ...spec.producer });
    const workload = new Workload(producer, { topic, tag: spec.id });
    // One record acknowledged first, so the faults meet a producer that is streaming, not bootstrapping.
    workload.send();
    await settleWithin(workload, 60_000);
    const firstEvent = proxy.events.length;
    const rssBefore = process.memoryUsage().rss;
    const rss = new RssSampler(20);
    const rules = [...startRules, ...spec.inject(proxy)];
    const sendStartedAt = Date.now();
    const forMs = spec.forMs ?? Infinity;
    await workload.stream({ count: spec.count, ratePerSec: spec.ratePerSec, maxPending: 5000, until: () => Date.now() - sendStartedAt >= forMs });
    const sendEndedAt = Date.now();
    for (const r of rules) r.remove();
    // Generous: a retried batch may wait out its backoff and a reconnect on a machine shared with brokers.
    const settled = await settleWithin(workload, 150_000);
    const retries = producer.metrics()['record-retry-total'];
    await producer.close({ timeoutMs: 10_000 });
    const peakRssMiB = rss.stop();
    const events = proxy.events.slice(setupEvent);
    const faults = events.filter((e) => spec.kinds.includes(e.kind));
    const r: ScenarioRun = {
      events,
      faults,
      closedByProducer: (some) => {
        const byProducer = new Set(events.filter((e) => e.kind === 'close' && e.detail === 'client closed').map((e) => e.connectionId));
        return some.filter((f) => byProducer.has(f.connectionId)).length;
      },
      reconnects: proxy.events.slice(firstEvent).filter((e) => e.kind === 'connect').length,
      sendMs: sendEndedAt - sendStartedAt,
      rssGrowthMiB: Math.round((peakRssMiB - rssBefore / MiB) * 10) / 10,
      retries,
      settled,
    };

    const read = await cluster.consumeWithJava({ topic, timeoutMs: 120_000 });
    const check = checkDelivery(workload.outcomes, read);
    const anomalies = { ...deliveryAnomalies(check, { idempotent: true }), failed: check.failed, unhandledRejections: unhandled.length };
    const required = spec.require?.(r) ?? {};
    const unmet = Object.entries({ faultsInjected: faults.length > 0, settled, ...required }).filter(([, ok]) => !ok).map(([k]) => k);
    const byKind = new Map<string, number>();
    for (const f of faults) byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
    const lastFaultAt = faults.length === 0 ? null : Math.max(...faults.map((f) => f.at));
    const row: ScenarioRow = {
      id: spec.id,
      name: spec.name,
      setup: SETUP,
      producer: spec.producerNote ?? 'defaults (idempotent, acks=all, 5 in flight)',
      sent: check.sent,
      acked: check.acked,
      failed: check.failed,
      lost: check.lost,
      duplicates: check.duplicates,
      orderViolations: check.orderViolations + check.sendOrderViolations,
      offsetMismatches: check.offsetMismatches,
      failedButWritten: check.failedButWritten,
      faults: [...byKind].map(([k, n]) => `${n} ${k}`).join(', ') || 'none',
      faultCount: faults.length,
      timeToRecoverMs: lastFaultAt === null ? null : workload.firstAckAfter(lastFaultAt),
      longestAckGapMs: workload.longestAckGapMs(),
      throughput: Math.round(check.acked / Math.max(0.001, r.sendMs / 1000)),
      peakRssMiB,
      durationMs: r.sendMs,
      failures: workload.failureSummary(),
      extra: {
        reconnects: r.reconnects,
        faultConnectionsClosedByProducer: r.closedByProducer(faults),
        recordRetries: r.retries,
        rssGrowthMiB: r.rssGrowthMiB,
        ...(check.unsettled > 0 ? { unsettled: check.unsettled } : {}),
        ...(check.foreign > 0 ? { foreign: check.foreign } : {}),
        ...(unhandled.length > 0 ? { unhandledRejections: unhandled.length } : {}),
        ...spec.extra?.(r),
      },
      passed: Object.values(anomalies).every((n) => n === 0) && unmet.length === 0,
      notes:
        [
          unmet.length > 0 ? `Unmet: ${unmet.join(', ')}.` : undefined,
          check.examples.length > 0 ? `First anomalies: ${check.examples.slice(0, 3).join('; ')}.` : undefined,
          check.failed > 0 ? `First failure: ${workload.firstFailure()}.` : undefined,
          unhandled.length > 0 ? `Unhandled rejection: ${describeError(unhandled[0])}.` : undefined,
        ]
          .filter((x) => x !== undefined)
          .join(' ') || undefined,
    };
    writeScenarioRow(row);
    if (!row.passed) console.log(`${spec.id}: ${row.notes ?? ''}\nproducer log: ${logger.lines.slice(0, 10).join('\n')}\nproxy events: ${JSON.stringify(events.slice(0, 40))}`);
    return { row, anomalies, run: r };
  }

  /** The assertions every scenario shares: all of it delivered once, at the offsets acknowledged, in order. */
  function expectClean(result: { row: ScenarioRow; anomalies: Record<string, number> }): void {
    expect(result.row.faultCount).toBeGreaterThan(0);
    expect(result.anomalies).toEqual(Object.fromEntries(Object.keys(result.anomalies).map((k) => [k, 0])));
    expect(result.row.acked).toBe(result.row.sent);
    expect(result.row.notes).toBeUndefined();
    expect(result.row.passed).toBe(true);
  }

  // Kafka responses carry no checksum: a flipped base_offset or error code is, for any client (Java's
  // too), a valid answer that says something else. F2 corrupts the byte whose change the protocol does
  // detect: a Produce response's header tagged-field count (flexible header v1, payload byte 4), which
  // 0xff turns into a varint running into the body and a count of fields the frame cannot hold.
  it('F2: responses cut mid-frame or corrupted, 1 in N: the connection is dropped, the records retried, each lands once where it was acknowledged', async () => {
    const every = scaled(40, 250);
    const result = await run({
      id: 'F2',
      name: `Live corruption: 1 in ${every} Produce responses truncated, 1 in ${every} corrupted (header byte)`,
      count: scaled(20_000, 200_000),
      ratePerSec: scaled(2000, 4000),
      inject: (proxy) => [
        proxy.truncateResponse({ apiKey: PRODUCE, nth: every, every, count: Infinity, fraction: 0.5 }),
        proxy.corrupt({ apiKey: PRODUCE, nth: Math.ceil(every / 2), every, count: Infinity, offset: 4 }),
      ],
      kinds: ['truncate', 'corrupt'],
      require: (r) => {
        const corrupted = r.faults.filter((f) => f.kind === 'corrupt');
        return { producerClosedEveryCorruptedConnection: r.closedByProducer(corrupted) === corrupted.length };
      },
    });
    expectClean(result);
  }, 600_000);

  it('F2b: the same faults in the handshake and in metadata (ApiVersions cut or answered with 2 GiB, Metadata and InitProducerId answered with a wrong id) while connections churn: every record delivered once', async () => {
    const result = await run({
      id: 'F2b',
      name: 'Handshake and metadata faults: ApiVersions truncated or oversized (2 of 3 reconnects), Metadata with a wrong correlation id, InitProducerId and the first Metadata faulted at bootstrap; connections reset every 1–2 s',
      count: scaled(20_000, 60_000),
      ratePerSec: 2000,
      atStart: (proxy) => [proxy.wrongCorrelationId({ apiKey: INIT_PRODUCER_ID, to: 'unknown' }), proxy.truncateResponse({ apiKey: METADATA, bytes: 6 })],
      // Churn makes the reconnects whose ApiVersions exchange the other rules then break.
      inject: (proxy) => [
        proxy.churn({ minMs: 1000, maxMs: 2000 }),
        proxy.truncateResponse({ apiKey: API_VERSIONS, nth: 2, every: 3, count: Infinity, bytes: 5 }),
        proxy.oversizedFrame({ apiKey: API_VERSIONS, nth: 3, every: 3, count: Infinity, holdMs: 3000 }),
        proxy.wrongCorrelationId({ apiKey: METADATA, every: 2, count: Infinity }),
      ],
      kinds: ['truncate', 'oversized-frame', 'wrong-correlation-id', 'churn-reset'],
      extra: (r) => ({ handshakeFaults: r.faults.filter((f) => f.apiKey === API_VERSIONS).length, bootstrapFaults: r.faults.filter((f) => f.apiKey === INIT_PRODUCER_ID || f.apiKey === METADATA).length }),
      require: (r) => ({
        handshakeFaulted: r.faults.some((f) => f.apiKey === API_VERSIONS),
        initProducerIdFaulted: r.faults.some((f) => f.apiKey === INIT_PRODUCER_ID),
      }),
    });
    expectClean(result);
  }, 600_000);

  it('F3a: a response carrying another in-flight request\'s correlation id is a protocol error: reconnect, and no promise resolves with another request\'s answer', async () => {
    const every = scaled(30, 150);
    const result = await run({
      id: 'F3a',
      name: `Wrong correlation id: 1 in ${every} Produce responses rewritten to another in-flight (or unknown) id; requests delayed 20 ms`,
      count: scaled(12_000, 100_000),
      ratePerSec: scaled(2000, 4000),
      // Requests held 20 ms on the way in are in flight (the proxy registers them before the delay) when an
      // earlier response comes back, so the rewritten id can name a request the producer is waiting for.
      inject: (proxy) => [proxy.delay(20, { direction: 'request' }), proxy.wrongCorrelationId({ apiKey: PRODUCE, nth: every, every, count: Infinity, to: 'in-flight' })],
      kinds: ['wrong-correlation-id'],
      extra: (r) => ({ rewrittenToAnInFlightId: inFlightRewrites(r) }),
      require: (r) => ({ producerClosedEveryConnection: r.closedByProducer(r.faults) === r.faults.length, someRewrittenToAnInFlightId: inFlightRewrites(r) > 0 }),
    });
    expectClean(result);
  }, 600_000);

  it('F3b: two responses swapped on a connection: reconnect, retried, nothing misattributed', async () => {
    const every = scaled(30, 150);
    const result = await run({
      id: 'F3b',
      name: `Reordered responses: 1 in ${every} Produce responses delivered after the next response; requests delayed 20 ms`,
      count: scaled(12_000, 100_000),
      ratePerSec: scaled(2000, 4000),
      inject: (proxy) => [proxy.delay(20, { direction: 'request' }), proxy.swapResponses({ apiKey: PRODUCE, nth: every, every, count: Infinity, holdMs: 1000 })],
      kinds: ['swap'],
      extra: (r) => ({ heldWithoutASecondResponse: r.events.filter((e) => e.kind === 'swap-timeout').length }),
      require: (r) => ({ producerClosedEveryConnection: r.closedByProducer(r.faults) === r.faults.length }),
    });
    expectClean(result);
  }, 600_000);

  it('F4: a 2 GiB (and a negative) response length is refused before anything is allocated; the producer drops the connection itself and delivers everything', async () => {
    const every = scaled(60, 200);
    const result = await run({
      id: 'F4',
      name: `Oversized frame: length prefix 0x7fffffff, and 0x80000000 (negative), instead of 1 in ${every} Produce responses, connection held open 10 s`,
      count: scaled(10_000, 60_000),
      ratePerSec: scaled(2000, 3000),
      inject: (proxy) => [
        proxy.oversizedFrame({ apiKey: PRODUCE, nth: every, every: 2 * every, count: scaled(3, 10), length: 0x7fffffff, holdMs: 10_000 }),
        proxy.oversizedFrame({ apiKey: PRODUCE, nth: 2 * every, every: 2 * every, count: scaled(3, 10), length: 0x80000000, holdMs: 10_000 }),
      ],
      kinds: ['oversized-frame'],
      require: (r) => ({
        // The proxy keeps each poisoned connection open 10 s: only the producer can have closed it before.
        producerClosedEveryPoisonedConnection: r.closedByProducer(r.faults) === r.faults.length,
        rssGrowthBelow200MiB: r.rssGrowthMiB < 200,
        bothLengths: new Set(r.faults.map((f) => /\((-?\d+) as int32\)/.exec(f.detail ?? '')?.[1])).size === 2,
      }),
    });
    expectClean(result);
    expect(result.run.rssGrowthMiB).toBeLessThan(200);
  }, 600_000);

  // Row 16. The last byte of a Produce request (v9+) before its three tagged-field counts is the last
  // byte of the last partition's record batch, which the batch CRC covers: the broker must answer
  // CORRUPT_MESSAGE for that partition (or close), and the retry must give exactly one copy.
  it('F5: a Produce request corrupted on the way in is refused by the broker and retried: exactly one copy lands', async () => {
    const every = scaled(30, 150);
    const result = await run({
      id: 'F5',
      name: `Request corruption: one record-batch byte flipped in 1 in ${every} Produce requests`,
      count: scaled(12_000, 100_000),
      ratePerSec: scaled(2000, 4000),
      inject: (proxy) => [proxy.corrupt({ direction: 'request', apiKey: PRODUCE, nth: every, every, count: Infinity, offset: -4 })],
      kinds: ['corrupt'],
    });
    expectClean(result);
  }, 600_000);

  it('A6: every connection reset after 0.5–1.5 s of life: nothing lost, nothing duplicated, order kept', async () => {
    const durationMs = scaled(20_000, 180_000);
    const ratePerSec = 2000;
    const result = await run({
      id: 'A6',
      name: `Connection churn: every connection reset (RST) after a random 0.5–1.5 s, for ${durationMs / 1000} s`,
      count: Infinity,
      forMs: durationMs,
      ratePerSec,
      inject: (proxy) => [proxy.churn({ minMs: 500, maxMs: 1500 })],
      kinds: ['churn-reset'],
      extra: (r) => ({ reconnectsPerMin: Math.round((r.reconnects / Math.max(1, r.sendMs)) * 60_000), offeredRate: ratePerSec }),
    });
    expectClean(result);
    expect(result.run.reconnects).toBeGreaterThan(0);
  }, 900_000);

  it('left no unhandled rejection behind', async () => {
    await sleep(0);
    expect(unhandled.map((u) => describeError(u))).toEqual([]);
  });
});
