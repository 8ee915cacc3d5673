import { KafkaProducer, type KafkaProducerOptions, type ProducerRecord } from '@app/kafka-producer';
import { KafkaCluster, type FaultRule } from '@app/kafka-testing';
import { uniqueTopic } from '../support/round-trip';
import { finishScenario } from './support/finish';
import { itFull, RssSampler, scaled, SCALE } from './support/rows';
import { collectingLogger, collectUnhandledRejections, sleep, Workload } from './support/workload';

/**
 * The broker-fault rows of the matrix (../shared/notes/reliability-plan.md §6, A1–A5, A7, A10) on one
 * 3-node cluster: RF 3, min.insync.replicas 2, 6 partitions, the producer's defaults (idempotent,
 * acks=all, 5 requests in flight) unless a row says otherwise. Each scenario streams keyed records
 * while its fault runs, reads the topic back with the Java consumer and writes its row.
 */

const PARTITIONS = 6;
const PRODUCE = 0;
const SETUP = `3 nodes, RF 3, min.insync.replicas 2, ${PARTITIONS} partitions`;

describe(`broker faults on 3 nodes (${SCALE} scale)`, () => {
  let cluster: KafkaCluster;
  const unhandled = collectUnhandledRejections();

  beforeAll(async () => {
    cluster = await KafkaCluster.start({
      nodes: 3,
      faultProxy: true,
      // a restart after kill -9 replays logs and catches up; on a loaded 2-core machine it can take minutes
      startupTimeoutMs: 180_000,
      brokerConfig: {
        // A SIGKILLed broker is fenced, and its partitions move, after this much silence (default 9 s):
        // shorter fits more faults in the time this machine gives the suite.
        'broker.session.timeout.ms': '4000',
        'broker.heartbeat.interval.ms': '500',
        'auto.create.topics.enable': 'false',
      },
    });
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  async function topicRf3(prefix: string): Promise<string> {
    const topic = uniqueTopic(prefix);
    await cluster.createTopic({ name: topic, partitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
    return topic;
  }

  /** Every node back up and every replica of `topic` in sync, so the next scenario starts clean. */
  async function healed(topic: string): Promise<void> {
    for (const id of cluster.nodeIds) {
      if (cluster.nodeState(id) === 'paused') cluster.resume(id);
      if (cluster.nodeState(id) === 'stopped') await cluster.restart(id);
    }
    await cluster.waitInSync(topic, { timeoutMs: 120_000 });
  }

  interface FaultReport {
    faults: string;
    faultCount: number;
    lastFaultEndedAt: number | null;
    extra?: Record<string, number | string | boolean>;
  }

  interface Scenario {
    id: string;
    name: string;
    prefix: string;
    producer?: Partial<KafkaProducerOptions<Buffer | string | null, Buffer | string | null>>;
    producerLabel: string;
    /** Through the fault proxies (only the proxy-fault rows need it). */
    viaProxy?: boolean;
    minRecords: number;
    ratePerSec: number;
    maxPending?: number;
    idempotent?: boolean;
    /** Adds to every record (e.g. a padding header; the value stays the workload's identity). */
    decorate?: (r: ProducerRecord) => ProducerRecord;
    /** Runs while records stream; sending stops once it has returned and minRecords were sent. */
    fault(topic: string, workload: Workload): Promise<FaultReport>;
    /** Extra conditions on the outcome. */
    require?(workload: Workload, fault: FaultReport, peakRssMiB: number): Record<string, boolean>;
    /** Figures for the row's extra column (evaluated after require). */
    figures?(workload: Workload): Record<string, number>;
    /** Records sent after the fault and the stream, which must all be acknowledged (the producer works again). */
    afterwards?: number;
  }

  async function run(s: Scenario): Promise<void> {
    const topic = await topicRf3(s.prefix);
    const logger = collectingLogger();
    const producer = new KafkaProducer({ bootstrapServers: s.viaProxy === true ? cluster.bootstrapServers : cluster.directBootstrapServers, logger, ...s.producer });
    const workload = new Workload(producer, { topic, decorate: s.decorate });
    const rss = new RssSampler();
    const unhandledBefore = unhandled.length;
    const sendStartedAt = Date.now();
    let faultDone = false;
    // A fault that fails (a restart that times out on a starved machine) still gets its row, marked failed.
    const faultPromise = (async (): Promise<FaultReport & { error?: string }> => {
      try {
        return await s.fault(topic, workload);
      } catch (e) {
        return { faults: 'fault injection failed', faultCount: 0, lastFaultEndedAt: null, error: (e as Error).message };
      } finally {
        faultDone = true;
      }
    })();
    await workload.stream({ count: Number.MAX_SAFE_INTEGER, ratePerSec: s.ratePerSec, maxPending: s.maxPending, until: () => faultDone && workload.outcomes.length >= s.minRecords });
    const fault = await faultPromise;
    let afterAcked = 0;
    if (s.afterwards !== undefined) {
      // Once the cluster is back and what was accepted during the fault has settled (the backlog still
      // holds bufferMemory for a while, and with maxBlockMs 1 s new sends would rightly fail waiting for it),
      // new sends must all go through.
      await workload.settle();
      const from = workload.outcomes.length;
      for (let i = 0; i < s.afterwards; i++) workload.send();
      await workload.settle();
      afterAcked = workload.outcomes.slice(from).filter((o) => o.state === 'acked').length;
    }
    await workload.settle();
    const sendEndedAt = Date.now();
    await producer.close();
    const peakRssMiB = rss.stop();
    await healed(topic);
    const newUnhandled = unhandled.length - unhandledBefore;
    const { anomalies, row } = await finishScenario(cluster, {
      id: s.id,
      name: s.name,
      setup: SETUP,
      producer: s.producerLabel,
      topic,
      workload,
      idempotent: s.idempotent ?? true,
      ...fault,
      sendStartedAt,
      sendEndedAt,
      peakRssMiB,
      require: {
        ...(fault.error !== undefined ? { [`the fault ran as planned (${fault.error})`]: false } : {}),
        'no unhandled rejection': newUnhandled === 0,
        ...(s.afterwards !== undefined ? { [`all ${s.afterwards} sends after the fault acknowledged`]: afterAcked === s.afterwards } : {}),
        ...s.require?.(workload, fault, peakRssMiB),
      },
      extra: { ...fault.extra, ...s.figures?.(workload), ...(s.afterwards !== undefined ? { 'acked after the fault': afterAcked } : {}), 'producer warnings': logger.lines.length },
    });
    expect({ id: s.id, ...anomalies, unmet: row.notes?.match(/Unmet: [^.]*/)?.[0] ?? null }).toEqual({
      id: s.id,
      ...Object.fromEntries(Object.keys(anomalies).map((k) => [k, 0])),
      unmet: null,
    });
  }

  const noFailures = (w: Workload): Record<string, boolean> => ({ 'no send failed': w.outcomes.every((o) => o.state !== 'failed') });

  it('A1 leader kill loop: kill -9 the leader of a partition (only when all replicas are in sync), restart it, again and again', async () => {
    const kills = scaled(2, 8);
    await run({
      id: 'A1',
      name: 'Leader kill loop (kill -9, restart)',
      prefix: 'rel-a1',
      producerLabel: 'defaults',
      minRecords: scaled(20_000, 200_000),
      ratePerSec: scaled(1_500, 2_500),
      async fault(topic) {
        let done = 0;
        await sleep(2_000);
        for (let i = 0; done < kills; i++) {
          await cluster.waitInSync(topic, { timeoutMs: 120_000 });
          const node = await cluster.leaderOf(topic, i % PARTITIONS);
          await cluster.kill(node);
          await sleep(2_000);
          await cluster.restart(node);
          done++;
          await sleep(1_000);
        }
        return { faults: `${done} kill -9 of a leader, each restarted 2 s later`, faultCount: done, lastFaultEndedAt: null };
      },
      require: noFailures,
    });
  });

  itFull('A2 clean rolling restarts: SIGTERM and restart each node in turn, 3 rounds; no send fails', async () => {
    await run({
      id: 'A2',
      name: 'Clean rolling restarts (SIGTERM, restart)',
      prefix: 'rel-a2',
      producerLabel: 'defaults',
      minRecords: 100_000,
      ratePerSec: 2_000,
      async fault(topic) {
        let done = 0;
        await sleep(2_000);
        for (let round = 0; round < 3; round++) {
          for (const node of cluster.nodeIds) {
            await cluster.waitInSync(topic, { timeoutMs: 120_000 });
            await cluster.stopNode(node);
            await cluster.restart(node);
            done++;
          }
        }
        return { faults: `${done} controlled shutdowns and restarts (3 rounds)`, faultCount: done, lastFaultEndedAt: null };
      },
      require: noFailures,
    });
  });

  it('A3 paused leader: SIGSTOP the leader of a partition past the broker session timeout, then SIGCONT; no send fails', async () => {
    const rounds = scaled(1, 3);
    const pauseMs = scaled(10_000, 20_000);
    await run({
      id: 'A3',
      name: `Leader paused ${pauseMs / 1000} s (SIGSTOP, SIGCONT)`,
      prefix: 'rel-a3',
      producerLabel: 'defaults (requestTimeoutMs 30 s, deliveryTimeoutMs 120 s)',
      minRecords: scaled(10_000, 60_000),
      ratePerSec: 1_000,
      async fault(topic) {
        let done = 0;
        await sleep(2_000);
        for (let i = 0; i < rounds; i++) {
          await cluster.waitInSync(topic, { timeoutMs: 120_000 });
          const node = await cluster.leaderOf(topic, i % PARTITIONS);
          cluster.pause(node);
          await sleep(pauseMs);
          cluster.resume(node);
          done++;
          await sleep(3_000);
        }
        return { faults: `${done} SIGSTOP of a leader for ${pauseMs / 1000} s (session timeout 4 s)`, faultCount: done, lastFaultEndedAt: null };
      },
      require: noFailures,
    });
  });

  it('A4 every broker paused past the delivery timeout: each record ends acknowledged or timed out, and the producer works afterwards', async () => {
    const pauseMs = scaled(25_000, 40_000);
    const deliveryTimeoutMs = 15_000;
    let pausedAt = 0;
    await run({
      id: 'A4',
      name: `All brokers paused ${pauseMs / 1000} s, past the delivery timeout`,
      prefix: 'rel-a4',
      producer: { deliveryTimeoutMs, requestTimeoutMs: 5_000 },
      producerLabel: `deliveryTimeoutMs ${deliveryTimeoutMs}, requestTimeoutMs 5000`,
      minRecords: scaled(8_000, 30_000),
      ratePerSec: 500,
      afterwards: 600,
      async fault() {
        await sleep(3_000);
        pausedAt = Date.now();
        for (const id of cluster.nodeIds) cluster.pause(id);
        await sleep(pauseMs);
        for (const id of cluster.nodeIds) cluster.resume(id);
        return { faults: `SIGSTOP of all 3 nodes for ${pauseMs / 1000} s`, faultCount: 3, lastFaultEndedAt: Date.now() };
      },
      require(w) {
        const failed = w.outcomes.filter((o) => o.state === 'failed');
        // The delivery timeout runs from the batch's creation, as in Java, so a record appended to a batch
        // that could not be sent fails sooner after its own send. Before the pause batches drained within
        // milliseconds, so nothing may fail until a delivery timeout after the pause began.
        const firstFailure = Math.min(...failed.map((o) => o.settledAt as number));
        const longest = Math.max(...failed.map((o) => (o.settledAt as number) - o.sentAt));
        return {
          'some records timed out (the pause was longer than the delivery timeout)': failed.length > 0,
          'every failure is a delivery timeout': failed.every((o) => o.errorCode === 'DELIVERY_TIMEOUT'),
          'no failure before a delivery timeout had passed since the pause began': firstFailure >= pausedAt + deliveryTimeoutMs - 1_000,
          'no record waited for its failure more than deliveryTimeoutMs + 10 s': longest <= deliveryTimeoutMs + 10_000,
        };
      },
    });
  });

  it('A5 lost Produce responses inside and beyond the 5-request window (fault proxy): no duplicate, order kept', async () => {
    const rules: FaultRule[] = [];
    await run({
      id: 'A5',
      name: 'Produce responses lost after the broker wrote them',
      prefix: 'rel-a5',
      viaProxy: true,
      producer: { requestTimeoutMs: 3_000, batchSize: 512, batchMaxSize: 1024 },
      producerLabel: 'requestTimeoutMs 3000, 512-byte batches (so many Produce requests are in flight)',
      minRecords: scaled(10_000, 30_000),
      ratePerSec: 1_500,
      async fault() {
        await sleep(2_000);
        // Inside the window: one response at a time on each broker; beyond it: 8 in a row on node 1,
        // retries included, more than the broker's 5 remembered batches per producer.
        for (const id of cluster.nodeIds) rules.push(cluster.proxy(id).dropResponse({ apiKey: PRODUCE, nth: 10, count: 1 }));
        await sleep(3_000);
        rules.push(cluster.proxy(cluster.nodeIds[0]).dropResponse({ apiKey: PRODUCE, nth: 5, count: 8 }));
        await sleep(10_000);
        for (const r of rules) r.remove();
        const drops = cluster.proxies.reduce((n, p) => n + p.eventsOf('drop-response').length, 0);
        const inFlight = cluster.proxies.flatMap((p) => p.eventsOf('drop-response').map((e) => e.inFlight ?? 0));
        return {
          faults: `${drops} Produce responses dropped (connection closed instead), up to ${Math.max(0, ...inFlight)} other requests in flight`,
          faultCount: drops,
          lastFaultEndedAt: null,
        };
      },
      require: (w, f) => ({ 'Produce responses were dropped': f.faultCount > 0, ...noFailures(w) }),
    });
  });

  it('A7 all brokers down with a small bufferMemory: memory stays bounded, sends fail after maxBlockMs with BufferExhaustedError, and the producer recovers after the restart', async () => {
    const downMs = scaled(15_000, 60_000);
    const maxBlockMs = 1_000;
    const bufferMemory = 1024 * 1024;
    const pad = Buffer.alloc(1024, 0x61);
    let rssBeforeMiB = 0;
    let outageMs = 0;
    let figures: Record<string, number> = {};
    await run({
      id: 'A7',
      name: `All brokers killed for ${downMs / 1000} s, bufferMemory 1 MiB`,
      prefix: 'rel-a7',
      producer: { bufferMemory, maxBlockMs, batchSize: 16_384 },
      producerLabel: 'bufferMemory 1 MiB, maxBlockMs 1000, 1 KiB header per record',
      minRecords: scaled(8_000, 40_000),
      ratePerSec: 400,
      maxPending: 5_000,
      afterwards: 500,
      decorate: (r) => ({ ...r, headers: { pad } }),
      async fault() {
        await sleep(3_000);
        rssBeforeMiB = process.memoryUsage().rss / 1048576;
        const killedAt = Date.now();
        for (const id of cluster.nodeIds) await cluster.kill(id);
        await sleep(downMs);
        await Promise.all(cluster.nodeIds.map((id) => cluster.restart(id)));
        outageMs = Date.now() - killedAt;
        return {
          faults: `kill -9 of all 3 nodes for ${downMs / 1000} s`,
          faultCount: 3,
          lastFaultEndedAt: Date.now(),
          extra: { 'RSS when killed (MiB)': Math.round(rssBeforeMiB), 'outage until every node served again (ms)': outageMs },
        };
      },
      require(w, _fault, peakRssMiB) {
        const exhausted = w.outcomes.filter((o) => o.errorCode === 'BUFFER_EXHAUSTED');
        // Two ways to it: a send that waited maxBlockMs for memory, and one refused at once because the
        // sends already waiting hold bufferMemory (a Node send cannot block, so the waiting must be bounded too).
        const refused = exhausted.filter((o) => /outpacing/.test((o.error as Error).message));
        const waits = exhausted.filter((o) => !refused.includes(o)).map((o) => (o.settledAt as number) - o.sentAt);
        const timedOut = w.outcomes.filter((o) => o.errorCode === 'DELIVERY_TIMEOUT');
        const other = w.outcomes.filter((o) => o.state === 'failed' && o.errorCode !== 'BUFFER_EXHAUSTED' && o.errorCode !== 'DELIVERY_TIMEOUT');
        figures = { 'sends that waited maxBlockMs': waits.length, 'sends refused at once (waiting sends hold bufferMemory)': refused.length, 'longest wait for memory (ms)': Math.max(0, ...waits) };
        return {
          'sends failed with BufferExhaustedError while the brokers were down': exhausted.length > 0,
          'none that waited failed before maxBlockMs': waits.every((ms) => ms >= maxBlockMs - 20),
          'each that waited failed within maxBlockMs + 10 s': waits.every((ms) => ms <= maxBlockMs + 10_000),
          // the default deliveryTimeoutMs (120 s) outlasts the outage unless a restart took very long
          'records accepted before the kill delivered after the restart (or timed out, only if the outage outlasted the delivery timeout)':
            timedOut.length === 0 || outageMs > 120_000 - 5_000,
          'no other failure': other.length === 0,
          // bufferMemory bounds the records; what else grows is the failed sends' bookkeeping
          'peak RSS within 128 MiB of the RSS when the brokers were killed': peakRssMiB - rssBeforeMiB < 128,
        };
      },
      figures: () => figures,
    });
  });

  it('A10 controller failover: kill -9 the active KRaft controller (which also leads partitions in combined mode); no send fails', async () => {
    const kills = scaled(1, 4);
    await run({
      id: 'A10',
      name: 'Active controller killed (kill -9, restart)',
      prefix: 'rel-a10',
      producerLabel: 'defaults',
      minRecords: scaled(10_000, 60_000),
      ratePerSec: 1_500,
      async fault(topic) {
        let done = 0;
        const controllers: number[] = [];
        await sleep(2_000);
        while (done < kills) {
          await cluster.waitInSync(topic, { timeoutMs: 120_000 });
          const node = await activeController();
          controllers.push(node);
          await cluster.kill(node);
          await sleep(2_000);
          await cluster.restart(node);
          done++;
          await sleep(2_000);
        }
        return { faults: `${done} kill -9 of the active controller (nodes ${controllers.join(', ')})`, faultCount: done, lastFaultEndedAt: null };
      },
      require: noFailures,
    });
  });

  itFull('A10b quorum lost: kill 2 of the 3 voters; sends stall, then every record is delivered after the restart', async () => {
    const downMs = 20_000;
    await run({
      id: 'A10b',
      name: `Quorum lost: 2 of 3 nodes killed for ${downMs / 1000} s`,
      prefix: 'rel-a10b',
      producerLabel: 'defaults',
      minRecords: 30_000,
      ratePerSec: 1_000,
      async fault(topic) {
        await sleep(2_000);
        await cluster.waitInSync(topic, { timeoutMs: 120_000 });
        const survivors = cluster.nodeIds.slice(0, 1);
        const victims = cluster.nodeIds.filter((id) => !survivors.includes(id));
        for (const id of victims) await cluster.kill(id);
        await sleep(downMs);
        await Promise.all(victims.map((id) => cluster.restart(id)));
        return { faults: `kill -9 of nodes ${victims.join(' and ')} for ${downMs / 1000} s (quorum and min.insync lost)`, faultCount: victims.length, lastFaultEndedAt: Date.now() };
      },
      require: noFailures,
    });
  });

  /** The KRaft leader, from the Java MetadataQuorumCommand (DescribeQuorum). */
  async function activeController(): Promise<number> {
    const r = await cluster.runJavaTool('org.apache.kafka.tools.MetadataQuorumCommand', ['--bootstrap-server', '{bootstrap}', 'describe', '--status'], { timeoutMs: 60_000 });
    const m = /LeaderId:\s*(\d+)/.exec(r.stdout);
    if (m === null) throw new Error(`no LeaderId in MetadataQuorumCommand output: ${r.stdout} ${r.stderr}`);
    return Number(m[1]);
  }
});
