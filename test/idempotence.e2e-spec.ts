import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KafkaProducer } from '@app/kafka-producer';
import { checkDelivery, KafkaCluster, type DeliveryCheck, type FaultRule } from '@app/kafka-testing';
import { collectingLogger, describeError, sleep, Workload, type TimedOutcome } from './reliability/support/workload';
import { uniqueTopic } from './support/round-trip';

/**
 * Issue 8's "done when" for idempotence, on a 3-node cluster (RF=3, min.insync.replicas=2, 6
 * partitions) with the producer's defaults (idempotence on, acks=all, 5 requests in flight):
 *  - leaders SIGKILLed and restarted while keyed records stream in;
 *  - Produce responses lost after the broker wrote the records (a fault proxy closes the connection
 *    instead of delivering them).
 * The producer's outcomes are checked against what the Java consumer reads back, by kafka-testing's
 * delivery checker, which shares no code with the producer.
 */

const PARTITIONS = 6;
const KEYS = 60;
const PRODUCE = 0;

/** The counts that must be 0 with idempotence on (the checker is shared with the reliability suite, not with the producer). */
function anomalies(c: DeliveryCheck): Record<string, number> {
  return { lost: c.lost, duplicates: c.duplicates, orderViolations: c.orderViolations, sendOrderViolations: c.sendOrderViolations, offsetMismatches: c.offsetMismatches, foreign: c.foreign };
}
const NO_ANOMALIES = { lost: 0, duplicates: 0, orderViolations: 0, sendOrderViolations: 0, offsetMismatches: 0, foreign: 0 };

describe('the idempotent producer under failure (3 nodes, RF=3, min.insync.replicas=2)', () => {
  let cluster: KafkaCluster;

  beforeAll(async () => {
    cluster = await KafkaCluster.start({
      nodes: 3,
      faultProxy: true,
      brokerConfig: {
        // A SIGKILLed broker is fenced, and its partitions move, after this much silence (default 9 s):
        // shorter means more kills fit in the time this machine can give the test.
        'broker.session.timeout.ms': '4000',
        'broker.heartbeat.interval.ms': '500',
      },
    });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  async function topicRf3(prefix: string): Promise<string> {
    const topic = uniqueTopic(prefix);
    await cluster.createTopic({ name: topic, partitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
    return topic;
  }

  /** Writes the checker's findings, the failing sends and the log dumps of the suspect partitions. */
  async function keepEvidence(name: string, topic: string, check: DeliveryCheck, outcomes: readonly TimedOutcome[], extra: unknown): Promise<string> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `idempotence-evidence-${name}-`));
    fs.writeFileSync(path.join(dir, 'check.json'), JSON.stringify({ topic, check, extra }, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
    const failed = outcomes.filter((o) => o.state === 'failed').map((o) => ({ value: o.value, error: String(o.error) }));
    fs.writeFileSync(path.join(dir, 'failed.json'), JSON.stringify(failed, null, 2));
    for (const p of check.suspectPartitions.slice(0, 3)) {
      const segments = await cluster.dumpLogSegments(topic, p).catch((e: Error) => [{ error: e.message }]);
      fs.writeFileSync(path.join(dir, `dump-partition-${p}.json`), JSON.stringify(segments, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
    }
    return dir;
  }

  it('kill -9 of partition leaders while 50,000+ keyed records stream in: every acknowledged record is read back exactly once, in per-key order, at its acknowledged offset', async () => {
    const topic = await topicRf3('idem-kill');
    const target = 50_000 + KEYS * 100;
    const ratePerSec = 2_000;
    const minKills = 6;
    const maxSendMs = 70_000;
    const logger = collectingLogger();
    // Not through the proxies: this test's faults are the kills, and the proxy would share this
    // process's event loop with the producer.
    const producer = new KafkaProducer({ bootstrapServers: cluster.directBootstrapServers, logger });
    const workload = new Workload(producer, { topic, keys: KEYS });
    const started = Date.now();
    let sending = true;
    const kills: Array<{ node: number; partition: number; atMs: number; downMs: number }> = [];

    const killLoop = async (): Promise<void> => {
      await sleep(2_000);
      for (let i = 0; sending; i++) {
        await cluster.waitInSync(topic, { timeoutMs: 60_000 });
        if (!sending) break;
        const partition = i % PARTITIONS;
        const node = await cluster.leaderOf(topic, partition);
        const atMs = Date.now() - started;
        await cluster.kill(node);
        await sleep(1_500);
        await cluster.restart(node);
        kills.push({ node, partition, atMs, downMs: Date.now() - started - atMs });
        await sleep(1_000);
      }
    };
    const killing = killLoop();
    // A steady rate rather than as fast as possible: records keep arriving through every failover.
    while ((workload.outcomes.length < target || kills.length < minKills) && Date.now() - started < maxSendMs) {
      const due = Math.min(Math.floor(((Date.now() - started) * ratePerSec) / 1000), workload.outcomes.length + ratePerSec);
      while (workload.outcomes.length < due) workload.send();
      await sleep(10);
    }
    sending = false;
    const sendMs = Date.now() - started;
    await killing;
    await workload.settle();
    await producer.close();

    await cluster.waitInSync(topic, { timeoutMs: 60_000 });
    const read = await cluster.consumeWithJava({ topic, timeoutMs: 60_000 });
    const check = checkDelivery(workload.outcomes, read);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `idempotence kill loop: sent ${check.sent}, acked ${check.acked}, failed ${check.failed} (in log anyway ${check.failedButWritten}), lost ${check.lost}, ` +
        `duplicates ${check.duplicates}, order violations ${check.orderViolations} (send order ${check.sendOrderViolations}), offset mismatches ${check.offsetMismatches}, foreign ${check.foreign}, ` +
        `kills ${kills.length} (${kills.map((k) => `n${k.node}/p${k.partition}@${(k.atMs / 1000).toFixed(0)}s`).join(' ')}), ` +
        `longest ack gap ${workload.longestAckGapMs()} ms, sending ${(sendMs / 1000).toFixed(1)} s, total ${seconds} s, read ${read.length}, producer warnings ${logger.lines.length}`,
    );
    if (check.failed > 0) console.log(`failures: ${JSON.stringify(workload.failureSummary())}`);
    if (logger.lines.length > 0) console.log(`producer warnings (${Math.min(10, logger.lines.length)} of ${logger.lines.length}):\n${logger.lines.slice(0, 10).join('\n')}`);
    if (check.lost + check.duplicates + check.orderViolations + check.sendOrderViolations + check.offsetMismatches + check.foreign > 0) {
      const dir = await keepEvidence('kill-loop', topic, check, workload.outcomes, { kills, warnings: logger.lines.slice(0, 200) });
      console.log(`evidence in ${dir}:\n${check.examples.join('\n')}`);
    }

    expect(check.sent).toBeGreaterThanOrEqual(50_000);
    expect(kills.length).toBeGreaterThanOrEqual(minKills);
    expect(check.untypedFailures).toBe(0);
    expect(check.acked + check.failed).toBe(check.sent);
    expect(anomalies(check)).toEqual(NO_ANOMALIES);
  }, 240_000);

  describe('Produce responses lost after the broker wrote the records', () => {
    /**
     * On every broker's proxy: drop its 3rd Produce response, then from its 12th on, 3 in a row (8 on
     * node 1): the later ones are mostly the retries of what the earlier connection losses left
     * unanswered, so a batch is written once and retried several times. Each drop also loses every
     * other response pending on that connection.
     */
    const EXPECTED_DROPS = [1, 8, 1, 3, 1, 3];
    function dropSomeProduceResponses(): FaultRule[] {
      return cluster.proxies.flatMap((proxy, i) => [proxy.dropResponse({ apiKey: PRODUCE, nth: 3 }), proxy.dropResponse({ apiKey: PRODUCE, nth: 12, count: i === 0 ? 8 : 3 })]);
    }

    async function run(prefix: string, options: { enableIdempotence?: boolean }): Promise<{ check: DeliveryCheck; rules: FaultRule[]; drops: Array<{ inFlight?: number }> }> {
      const topic = await topicRf3(prefix);
      for (const p of cluster.proxies) p.events.length = 0;
      const rules = dropSomeProduceResponses();
      const logger = collectingLogger();
      // Small batches (some 30 records), so a few thousand records make many Produce requests (the rules need
      // 20 on node 1) and the in-flight window fills; the drop rules count Produce responses, so batches must
      // not grow under the backlog (batchMaxSize).
      const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, batchSize: 512, batchMaxSize: 512, logger, ...options });
      const workload = new Workload(producer, { topic, keys: KEYS });
      try {
        for (let i = 0; i < 4000; i++) {
          workload.send();
          if (i % 200 === 199) await sleep(5);
        }
        await workload.settle();
      } finally {
        await producer.close();
        for (const p of cluster.proxies) p.resume();
      }
      const read = await cluster.consumeWithJava({ topic, timeoutMs: 60_000 });
      const check = checkDelivery(workload.outcomes, read);
      const drops = cluster.proxies.flatMap((p) => p.eventsOf('drop-response'));
      console.log(
        `${prefix}: sent ${check.sent}, acked ${check.acked}, failed ${check.failed}, lost ${check.lost}, duplicates ${check.duplicates}, ` +
          `order violations ${check.orderViolations} (send order ${check.sendOrderViolations}), offset mismatches ${check.offsetMismatches}; responses dropped ${drops.length} ` +
          `(other requests in flight on the connection at each drop: ${drops.map((d) => d.inFlight).join(',')})`,
      );
      if (check.failed > 0) {
        console.log(`failures: ${JSON.stringify(workload.failureSummary())}`);
        console.log(`first failure: ${describeError(workload.outcomes.find((o) => o.state === 'failed')?.error)}`);
        console.log(`producer warnings (${Math.min(40, logger.lines.length)} of ${logger.lines.length}):\n${logger.lines.slice(0, 40).join('\n')}`);
        console.log(`proxy events: ${JSON.stringify(cluster.proxies.map((p) => p.events.slice(0, 40)))}`);
      }
      if (options.enableIdempotence !== false && check.lost + check.duplicates + check.orderViolations + check.sendOrderViolations + check.offsetMismatches + check.foreign > 0) {
        const dir = await keepEvidence(prefix, topic, check, workload.outcomes, { drops, warnings: logger.lines.slice(0, 200) });
        console.log(`evidence in ${dir}:\n${check.examples.join('\n')}`);
      }
      return { check, rules, drops };
    }

    it('with idempotence (the default): every send resolves and each record is in the log exactly once, in order, at its acknowledged offset', async () => {
      const { check, rules, drops } = await run('idem-drop', {});
      // the faults happened, some of them with other requests in flight on the connection
      expect(rules.map((r) => r.applied)).toEqual(EXPECTED_DROPS);
      expect(drops.length).toBe(17);
      expect(drops.some((d) => (d.inFlight ?? 0) > 0)).toBe(true);
      expect(check.failed).toBe(0);
      expect(check.acked).toBe(4000);
      expect(anomalies(check)).toEqual(NO_ANOMALIES);
    }, 120_000);

    it('control, idempotence off: the same lost responses make the retries write records twice', async () => {
      const { check, drops } = await run('plain-drop', { enableIdempotence: false });
      expect(drops.length).toBe(17);
      expect(check.lost).toBe(0);
      // The broker wrote each batch whose response was dropped; a retry without a producer id and
      // sequence cannot be recognised, so it is written again.
      expect(check.duplicates).toBeGreaterThan(0);
    }, 120_000);
  });
});
