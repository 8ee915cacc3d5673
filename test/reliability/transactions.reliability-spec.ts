import { KafkaProducer, KafkaTimeoutError, TransactionAbortableError, type KafkaProducerOptions } from '@app/kafka-producer';
import {
  checkDelivery,
  checkTransactions,
  KafkaCluster,
  type ConsumedRecord,
  type ConsumeResult,
  type DeliveryCheck,
  type SendOutcome,
  type TransactionCheck,
  type TransactionOutcome,
} from '@app/kafka-testing';
import { uniqueTopic } from '../support/round-trip';
import { itFull, RssSampler, scaled, SCALE, writeScenarioRow, type ScenarioRow } from './support/rows';
import { TxnProcess } from './support/txn-process';
import type { DriverReply } from './support/txn-driver';
import { collectingLogger, describeError, sleep } from './support/workload';

/**
 * Matrix rows B1–B4 of the reliability plan (§6): transactions on one 3-node cluster (RF 3,
 * min.insync.replicas 2, the transaction state log likewise), each scenario on a 3-partition topic of
 * its own. Whatever the fault, a read_committed reader (the Java consumer) must see every committed
 * transaction whole and nothing of an aborted one; read_uncommitted shows what was written, aborted
 * or not. The outcome of every transaction is what the client was told, recorded before the log is
 * read.
 */

const PARTITIONS = 3;
const SETUP = '3 nodes, RF 3, min.insync 2, transaction state log RF 3 / min ISR 2, 3 partitions';

let cluster: KafkaCluster;
let ids = 0;
const transactionalId = (what: string): string => `rel-${what}-${process.pid}-${Date.now().toString(36)}-${ids++}`;

async function topicRf3(prefix: string): Promise<string> {
  const topic = uniqueTopic(prefix);
  await cluster.createTopic({ name: topic, partitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
  return topic;
}

interface BothReads {
  committed: ConsumeResult;
  uncommitted: ConsumeResult;
}

async function readBoth(topic: string): Promise<BothReads> {
  // one JVM at a time: two at once on a loaded 2-core machine only slow each other down
  const committed = await cluster.consumeWithJavaDetailed({ topic, isolationLevel: 'read_committed', timeoutMs: 180_000 });
  const uncommitted = await cluster.consumeWithJavaDetailed({ topic, isolationLevel: 'read_uncommitted', timeoutMs: 180_000 });
  return { committed, uncommitted };
}

/** Partitions whose last stable offset (read_committed end offset) is behind the high watermark: an open transaction holds them. */
function heldPartitions(reads: BothReads): number[] {
  return Object.keys(reads.uncommitted.endOffsets)
    .map(Number)
    .filter((p) => (reads.committed.endOffsets[p] ?? -1n) < reads.uncommitted.endOffsets[p]);
}

const valuesOf = (records: readonly ConsumedRecord[]): Set<string> => new Set(records.map((r) => r.value?.toString() ?? ''));

/** Every send of a scenario with its outcome, in send order; one transaction's values are consecutive. */
class SendLog {
  readonly outcomes: Array<SendOutcome & { settledAt?: number }> = [];

  record(value: string): SendOutcome & { settledAt?: number } {
    const o: SendOutcome & { settledAt?: number } = { index: this.outcomes.length, value, state: 'pending' };
    this.outcomes.push(o);
    return o;
  }

  /** A send whose promise is watched; never rejects. */
  watch(value: string, promise: Promise<{ partition: number; offset: bigint }>): Promise<void> {
    const o = this.record(value);
    return promise.then(
      (md) => {
        o.state = 'acked';
        o.partition = md.partition;
        o.offset = md.offset;
        o.settledAt = Date.now();
      },
      (e: unknown) => {
        o.state = 'failed';
        o.errorCode = (e as { code?: string })?.code ?? 'untyped';
        o.typedError = typeof (e as { code?: unknown })?.code === 'string';
        o.settledAt = Date.now();
      },
    );
  }

  /** From a txn-driver send reply. */
  fromReply(reply: DriverReply): void {
    for (const r of reply.records ?? []) {
      const o = this.record(r.value);
      if (r.error === undefined) {
        o.state = 'acked';
        o.partition = r.partition;
        o.offset = BigInt(r.offset!);
      } else {
        o.state = 'failed';
        o.errorCode = r.error.code ?? r.error.name;
        o.typedError = r.error.code !== null;
      }
    }
  }

  count(state: SendOutcome['state']): number {
    return this.outcomes.filter((o) => o.state === state).length;
  }

  failures(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const o of this.outcomes) if (o.state === 'failed') out[o.errorCode ?? 'untyped'] = (out[o.errorCode ?? 'untyped'] ?? 0) + 1;
    return out;
  }

  /** The longest one partition went without an acknowledgement (the report's time to recover for a one-broker fault). */
  longestPartitionStallMs(): number | null {
    const byPartition = new Map<number, number[]>();
    for (const o of this.outcomes) {
      if (o.state !== 'acked' || o.settledAt === undefined || o.partition === undefined) continue;
      byPartition.set(o.partition, [...(byPartition.get(o.partition) ?? []), o.settledAt]);
    }
    let stall: number | null = null;
    for (const times of byPartition.values()) stall = Math.max(stall ?? 0, longestGap(times.sort((a, b) => a - b)) ?? 0);
    return stall;
  }

  ackTimes(): number[] {
    return this.outcomes.flatMap((o) => (o.state === 'acked' && o.settledAt !== undefined ? [o.settledAt] : [])).sort((a, b) => a - b);
  }
}

interface Verdict {
  txn: TransactionCheck;
  /** Transactions of unknown outcome that read_committed shows whole (committed after all), and those it shows nothing of. */
  unknownCommitted: number;
  unknownInvisible: number;
  /** The committed transactions' sends against read_committed: offsets as acknowledged, partition order kept. */
  delivery: DeliveryCheck;
  /** Failed sends found under read_uncommitted (records of transactions that were then aborted). */
  failedButWritten: number;
  anomalies: Record<string, number>;
}

function judge(transactions: readonly TransactionOutcome[], log: SendLog, reads: BothReads): Verdict {
  const txn = checkTransactions(transactions, reads.committed.records, reads.uncommitted.records);
  const committedValues = new Set(transactions.filter((t) => t.outcome === 'committed').flatMap((t) => t.values));
  const committedSends = log.outcomes.filter((o) => committedValues.has(o.value));
  const delivery = checkDelivery(
    committedSends,
    reads.committed.records.filter((r) => committedValues.has(r.value?.toString() ?? '')),
  );
  const uncommitted = valuesOf(reads.uncommitted.records);
  const failedButWritten = log.outcomes.filter((o) => o.state === 'failed' && uncommitted.has(o.value)).length;
  const untyped = log.outcomes.filter((o) => o.state === 'failed' && o.typedError === false).length;
  const committedRead = valuesOf(reads.committed.records);
  const unknown = transactions.filter((t) => t.outcome === 'unknown');
  return {
    txn,
    unknownCommitted: unknown.filter((t) => t.values.every((x) => committedRead.has(x))).length,
    unknownInvisible: unknown.filter((t) => !t.values.some((x) => committedRead.has(x))).length,
    delivery,
    failedButWritten,
    anomalies: {
      abortedVisible: txn.abortedVisible,
      partiallyVisible: txn.partiallyVisible,
      committedMissing: txn.committedMissing,
      duplicates: txn.duplicates,
      foreign: txn.foreign,
      sendOrderViolations: delivery.sendOrderViolations,
      offsetMismatches: delivery.offsetMismatches,
      untypedFailures: untyped,
      unsettled: log.count('pending'),
    },
  };
}

const NO_ANOMALIES = {
  abortedVisible: 0,
  partiallyVisible: 0,
  committedMissing: 0,
  duplicates: 0,
  foreign: 0,
  sendOrderViolations: 0,
  offsetMismatches: 0,
  untypedFailures: 0,
  unsettled: 0,
};

function transactionExtra(v: Verdict): Record<string, number> {
  return {
    transactions: v.txn.transactions,
    committed: v.txn.committed,
    aborted: v.txn.aborted,
    unknown: v.txn.unknown,
    'unknown, committed after all': v.unknownCommitted,
    'unknown, not visible': v.unknownInvisible,
    'aborted visible (G1a)': v.txn.abortedVisible,
    'partially visible': v.txn.partiallyVisible,
    'committed missing': v.txn.committedMissing,
    'aborted values under read_uncommitted': v.txn.abortedWrittenUncommitted,
  };
}

type RowBase = Pick<ScenarioRow, 'id' | 'name' | 'producer' | 'faults' | 'faultCount' | 'timeToRecoverMs' | 'longestAckGapMs' | 'throughput' | 'peakRssMiB' | 'durationMs'>;

/** `alsoRequired`: the scenario's own conditions for passing, beyond every anomaly count being 0. */
function row(base: RowBase, log: SendLog, v: Verdict, extra: Record<string, number | string | boolean>, alsoRequired: boolean, notes?: string): ScenarioRow {
  const passed = Object.values(v.anomalies).every((n) => n === 0) && alsoRequired;
  return {
    ...base,
    setup: SETUP,
    sent: log.outcomes.length,
    acked: log.count('acked'),
    failed: log.count('failed'),
    lost: v.txn.committedMissing,
    duplicates: v.txn.duplicates,
    orderViolations: v.delivery.sendOrderViolations,
    offsetMismatches: v.delivery.offsetMismatches,
    failedButWritten: v.failedButWritten,
    failures: log.failures(),
    extra: { ...transactionExtra(v), ...extra },
    passed,
    notes: [notes, v.txn.examples.length > 0 ? `Examples: ${v.txn.examples.slice(0, 5).join('; ')}` : undefined].filter((s) => s !== undefined).join(' ') || undefined,
  };
}

function longestGap(times: readonly number[]): number | null {
  if (times.length < 2) return null;
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i] - times[i - 1]);
  return gap;
}

/** Values of one transaction attempt, spread round-robin over the partitions. */
function transactionValues(prefix: string, n: number, attempt: number, size: number): Array<{ value: string; partition: number }> {
  return Array.from({ length: size }, (_, i) => ({ value: `${prefix}:t${n}.${attempt}:${i}`, partition: i % PARTITIONS }));
}

/** What a scenario may do around one transaction attempt (faults timed to its requests). */
interface AttemptHooks {
  /** Before the first send. */
  beforeSends?: () => Promise<void>;
  /** Wait until every send of the attempt settled before committing (so only the commit's own requests are left). */
  settleSendsFirst?: boolean;
  /** Runs alongside commitTransaction(). */
  duringCommit?: () => Promise<void>;
}

/**
 * Transactions one after another, each committed; an attempt that fails abortably is aborted and the
 * transaction is sent again with new values (both attempts are recorded, the failed one as aborted).
 * A producer that turns fatal is replaced (counted: under broker faults alone that is a defect).
 */
class TransactionLoop {
  producer: KafkaProducer;
  readonly transactions: TransactionOutcome[] = [];
  readonly commitTimes: number[] = [];
  readonly counters = { abortedAndRedone: 0, commitCallTimeouts: 0, abortCallTimeouts: 0, fnCommitOutlived: 0, fatal: 0 };
  readonly fatalErrors: string[] = [];
  committedRecords = 0;

  constructor(
    private readonly options: KafkaProducerOptions<string, string>,
    private readonly topic: string,
    private readonly log: SendLog,
  ) {
    this.producer = new KafkaProducer(options);
  }

  init(): Promise<void> {
    return this.producer.initTransactions();
  }

  /** Calls commit (or abort) again after a maxBlockMs timeout: the call goes on inside the producer, and calling it again waits for the same outcome. */
  private async settle(call: 'commit' | 'abort'): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await (call === 'commit' ? this.producer.commitTransaction() : this.producer.abortTransaction());
        return;
      } catch (e) {
        if (!(e instanceof KafkaTimeoutError) || attempt >= 5) throw e;
        this.counters[call === 'commit' ? 'commitCallTimeouts' : 'abortCallTimeouts']++;
      }
    }
  }

  /**
   * Transaction n of `size` records, retried until it commits: by hand (begin, send, commit) or, with
   * `viaFn`, through transaction(fn). A transaction() that rejects with the timeout of its commit has
   * an unknown outcome (the commit goes on; the next transaction() waits for it), so n is not sent again.
   */
  async commit(prefix: string, n: number, size: number, hooks: AttemptHooks = {}, viaFn = false): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const records = transactionValues(prefix, n, attempt, size);
      const t: TransactionOutcome = { id: `t${n}.${attempt}`, values: records.map((r) => r.value), outcome: 'unknown' };
      this.transactions.push(t);
      const sends: Array<Promise<void>> = [];
      const send = (tx: { send: KafkaProducer['send'] }): void => {
        for (const r of records) sends.push(this.log.watch(r.value, tx.send({ topic: this.topic, partition: r.partition, value: r.value })));
      };
      try {
        if (viaFn) {
          let during: Promise<void> | undefined;
          try {
            await this.producer.transaction(async (tx) => {
              await hooks.beforeSends?.();
              send(tx);
              if (hooks.settleSendsFirst === true) await Promise.all(sends);
              // the commit starts as fn returns
              during = hooks.duringCommit?.();
            });
          } finally {
            await Promise.all([during, ...sends]);
          }
        } else {
          this.producer.beginTransaction();
          await hooks.beforeSends?.();
          send(this.producer);
          if (hooks.settleSendsFirst === true) await Promise.all(sends);
          try {
            await Promise.all([this.settle('commit'), hooks.duringCommit?.()]);
          } finally {
            await Promise.all(sends);
          }
        }
        t.outcome = 'committed';
        this.committedRecords += size;
        this.commitTimes.push(Date.now());
        return;
      } catch (e) {
        if (viaFn && e instanceof KafkaTimeoutError) {
          this.counters.fnCommitOutlived++;
          return;
        }
        let failure = e;
        if (e instanceof TransactionAbortableError) {
          // a record of it failed for good: abort (transaction() already did), and send it again with new values
          try {
            if (!viaFn) await this.settle('abort');
            t.outcome = 'aborted';
            this.counters.abortedAndRedone++;
            continue;
          } catch (abortError) {
            failure = abortError;
          }
        }
        // neither committed nor aborted as far as this client knows
        this.counters.fatal++;
        this.fatalErrors.push(`${t.id}: ${describeError(failure)}`);
        await this.producer.close({ timeoutMs: 10_000 }).catch(() => undefined);
        this.producer = new KafkaProducer(this.options);
        await this.producer.initTransactions();
      }
    }
  }

  close(): Promise<void> {
    return this.producer.close({ timeoutMs: 30_000 }).catch(() => undefined);
  }
}

beforeAll(async () => {
  cluster = await KafkaCluster.start({
    nodes: 3,
    faultProxy: SCALE === 'full',
    brokerConfig: {
      // A SIGKILLed broker is fenced, and its partitions move, after this much silence (default 9 s).
      'broker.session.timeout.ms': '4000',
      'broker.heartbeat.interval.ms': '500',
      'transaction.state.log.replication.factor': '3',
      'transaction.state.log.min.isr': '2',
      // How often the coordinator looks for transactions past their timeout (default 10 s): B2 measures
      // how long an abandoned transaction holds the last stable offset, and would mostly measure this.
      'transaction.abort.timed.out.transaction.cleanup.interval.ms': '1000',
    },
  });
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('B4 abort path', () => {
  it('aborting every third transaction: read_committed sees none of their values and every committed transaction whole; read_uncommitted sees all of them', async () => {
    const started = Date.now();
    const rss = new RssSampler();
    const topic = await topicRf3('rel-b4');
    const count = scaled(60, 300);
    const size = scaled(30, 99);
    const producer = new KafkaProducer({ bootstrapServers: cluster.directBootstrapServers, transactionalId: transactionalId('b4'), lingerMs: 5, logger: collectingLogger() });
    const log = new SendLog();
    const transactions: TransactionOutcome[] = [];
    try {
      await producer.initTransactions();
      for (let n = 0; n < count; n++) {
        const records = transactionValues('b4', n, 0, size);
        const abort = n % 3 === 2;
        const values = records.map((r) => r.value);
        // both APIs: begin/commit/abort by hand, and transaction(fn), which aborts when fn throws
        if (n % 2 === 0) {
          producer.beginTransaction();
          await Promise.all(records.map((r) => log.watch(r.value, producer.send({ topic, partition: r.partition, value: r.value }))));
          if (abort) await producer.abortTransaction();
          else await producer.commitTransaction();
        } else {
          await producer
            .transaction(async (tx) => {
              await Promise.all(records.map((r) => log.watch(r.value, tx.send({ topic, partition: r.partition, value: r.value }))));
              if (abort) throw new Error('abort this one');
            })
            .catch((e: Error) => {
              if (!abort || e.message !== 'abort this one') throw e;
            });
        }
        transactions.push({ id: `t${n}`, values, outcome: abort ? 'aborted' : 'committed' });
      }
    } finally {
      await producer.close();
    }
    const sendMs = Date.now() - started;
    // sampled while producing: the harness's own read-back of the log is no part of it
    const peakRssMiB = rss.stop();
    const reads = await readBoth(topic);
    const v = judge(transactions, log, reads);
    const abortedValues = transactions.filter((t) => t.outcome === 'aborted').reduce((n, t) => n + t.values.length, 0);
    const r = row(
      {
        id: 'B4',
        name: 'Abort path: every 3rd transaction aborted',
        producer: `transactional, ${count} transactions of ${size} records over ${PARTITIONS} partitions`,
        faults: 'none (aborts are the subject)',
        faultCount: 0,
        timeToRecoverMs: null,
        longestAckGapMs: longestGap(log.ackTimes()),
        throughput: (log.count('acked') * 1000) / sendMs,
        peakRssMiB,
        durationMs: Date.now() - started,
      },
      log,
      v,
      { 'aborted values': abortedValues },
      v.txn.abortedWrittenUncommitted === abortedValues && log.count('failed') === 0,
    );
    writeScenarioRow(r);
    console.log(`B4: ${JSON.stringify(r.extra)}`);
    expect(v.anomalies).toEqual(NO_ANOMALIES);
    expect(v.txn.aborted).toBe(Math.floor(count / 3));
    // the aborted records were written (the abort came after every send was acknowledged), then fenced off by the marker
    expect(v.txn.abortedWrittenUncommitted).toBe(abortedValues);
    expect(log.count('failed')).toBe(0);
  });
});

describe('B2 transactional producer killed mid-transaction, and fenced', () => {
  const children: TxnProcess[] = [];
  const start = (id: string, transactionTimeoutMs?: number): TxnProcess => {
    const child = TxnProcess.start({ bootstrapServers: cluster.directBootstrapServers, transactionalId: id, transactionTimeoutMs });
    children.push(child);
    return child;
  };
  afterAll(async () => {
    for (const c of children) await c.kill();
  });

  it('SIGKILLed with a transaction open: a new producer with the same transactionalId aborts it in initTransactions(); an abandoned one is aborted at its timeout; a live older instance is fenced and writes nothing visible', async () => {
    const started = Date.now();
    const rss = new RssSampler();
    const topic = await topicRf3('rel-b2');
    const log = new SendLog();
    const transactions: TransactionOutcome[] = [];
    const size = scaled(30, 300);
    const newer: KafkaProducer[] = [];
    const producerFor = (id: string, extra: Partial<KafkaProducerOptions<string, string>> = {}): KafkaProducer => {
      const p = new KafkaProducer({ bootstrapServers: cluster.directBootstrapServers, transactionalId: id, lingerMs: 5, logger: collectingLogger(), ...extra });
      newer.push(p);
      return p;
    };
    const inTransaction = async (producer: KafkaProducer, name: string): Promise<void> => {
      const records = transactionValues(name, 0, 0, size);
      await producer.transaction(async (tx) => {
        await Promise.all(records.map((r) => log.watch(r.value, tx.send({ topic, partition: r.partition, value: r.value }))));
      });
      transactions.push({ id: name, values: records.map((r) => r.value), outcome: 'committed' });
    };
    const childSends = async (child: TxnProcess, name: string): Promise<DriverReply> => {
      const records = transactionValues(name, 0, 0, size);
      const reply = await child.run({ op: 'send', topic, records });
      log.fromReply(reply);
      return reply;
    };
    const extra: Record<string, number | string | boolean> = {};
    let kills = 0;
    try {
      // 1. killed mid-transaction, then a new instance with the same id
      const killedId = transactionalId('b2-killed');
      const first = start(killedId);
      await first.ok({ op: 'init' });
      await first.ok({ op: 'begin' });
      expect((await childSends(first, 'b2-before')).ok).toBe(true);
      await first.ok({ op: 'commit' });
      transactions.push({ id: 'b2-before', values: transactionValues('b2-before', 0, 0, size).map((r) => r.value), outcome: 'committed' });
      await first.ok({ op: 'begin' });
      expect((await childSends(first, 'b2-open')).ok).toBe(true);
      transactions.push({ id: 'b2-open', values: transactionValues('b2-open', 0, 0, size).map((r) => r.value), outcome: 'aborted' });
      const whileOpen = await readBoth(topic);
      // the open transaction holds the last stable offset of every partition it wrote to
      expect(heldPartitions(whileOpen)).toEqual([0, 1, 2]);
      await first.kill();
      kills++;
      const killedAt = Date.now();
      const successor = producerFor(killedId);
      await successor.initTransactions();
      const initMs = Date.now() - killedAt;
      const afterInit = await readBoth(topic);
      extra['initTransactions() after the kill (ms)'] = initMs;
      extra['LSO advanced when initTransactions() resolved'] = heldPartitions(afterInit).length === 0;
      // InitProducerId is answered only once the coordinator has written the old transaction's abort markers
      expect(heldPartitions(afterInit)).toEqual([]);
      await inTransaction(successor, 'b2-after');

      // 2. killed mid-transaction and never replaced: the coordinator aborts it at its transaction timeout
      const timeoutMs = 10_000;
      const abandoned = start(transactionalId('b2-abandoned'), timeoutMs);
      await abandoned.ok({ op: 'init' });
      await abandoned.ok({ op: 'begin' });
      expect((await childSends(abandoned, 'b2-abandoned')).ok).toBe(true);
      transactions.push({ id: 'b2-abandoned', values: transactionValues('b2-abandoned', 0, 0, size).map((r) => r.value), outcome: 'aborted' });
      const lastWriteAt = Date.now();
      await abandoned.kill();
      kills++;
      let held = [0, 1, 2];
      while (held.length > 0 && Date.now() - lastWriteAt < timeoutMs + 60_000) {
        held = heldPartitions(await readBoth(topic));
        if (held.length > 0) await sleep(500);
      }
      extra['LSO advance of an abandoned transaction, from its last write (ms)'] = Date.now() - lastWriteAt;
      extra['its transactionTimeoutMs'] = timeoutMs;
      expect(held).toEqual([]);

      // 3. two live instances: the older one is fenced by the newer's initTransactions()
      const fencedId = transactionalId('b2-fenced');
      const older = start(fencedId);
      await older.ok({ op: 'init' });
      await older.ok({ op: 'begin' });
      expect((await childSends(older, 'b2-zombie')).ok).toBe(true);
      transactions.push({ id: 'b2-zombie', values: transactionValues('b2-zombie', 0, 0, size).map((r) => r.value), outcome: 'aborted' });
      const younger = producerFor(fencedId);
      await younger.initTransactions();
      const late = await childSends(older, 'b2-zombie-late');
      transactions.push({ id: 'b2-zombie-late', values: transactionValues('b2-zombie-late', 0, 0, size).map((r) => r.value), outcome: 'aborted' });
      const commit = await older.run({ op: 'commit' });
      const after = await older.run({ op: 'begin' });
      extra['the older instance was fenced on'] = !late.ok ? 'send' : !commit.ok ? 'commit' : 'nothing';
      extra['its first error'] = (!late.ok ? late.error : commit.error)?.name ?? 'none';
      // whichever call meets the new epoch first fails with the fatal fenced error, and so does every call after it
      expect([late, commit].some((r) => !r.ok && r.error?.name === 'ProducerFencedError')).toBe(true);
      expect(commit.ok).toBe(false);
      expect(after).toMatchObject({ ok: false, error: { name: 'ProducerFencedError' }, state: 'FATAL_ERROR' });
      await inTransaction(younger, 'b2-fresh');
    } finally {
      for (const p of newer) await p.close({ timeoutMs: 10_000 }).catch(() => undefined);
      for (const c of children) await c.kill();
    }
    // sampled while producing: the harness's own read-back of the log is no part of it
    const peakRssMiB = rss.stop();
    const reads = await readBoth(topic);
    const v = judge(transactions, log, reads);
    const lateWritten = transactionValues('b2-zombie-late', 0, 0, size).filter((r) => valuesOf(reads.uncommitted.records).has(r.value)).length;
    extra["fenced instance's later sends in the log (read_uncommitted)"] = lateWritten;
    const r = row(
      {
        id: 'B2',
        name: 'Transactional producer killed mid-transaction; fencing',
        producer: `transactional, in a child process (SIGKILL); transactions of ${size} records`,
        faults: `${kills} producer SIGKILLs mid-transaction, 1 live instance fenced`,
        faultCount: kills + 1,
        timeToRecoverMs: typeof extra['initTransactions() after the kill (ms)'] === 'number' ? extra['initTransactions() after the kill (ms)'] : null,
        longestAckGapMs: null,
        throughput: (log.count('acked') * 1000) / (Date.now() - started),
        peakRssMiB,
        durationMs: Date.now() - started,
      },
      log,
      v,
      extra,
      v.txn.abortedWrittenUncommitted >= 3 * size,
      'Time to recover: from the SIGKILL to the new instance\'s initTransactions() resolving (the LSO had advanced by then). Throughput is not a subject here.',
    );
    writeScenarioRow(r);
    console.log(`B2: ${JSON.stringify(r.extra)}`);
    expect(v.anomalies).toEqual(NO_ANOMALIES);
    // the killed and the fenced instances' records were written, and stay hidden behind abort markers
    expect(v.txn.abortedWrittenUncommitted).toBeGreaterThanOrEqual(3 * size);
  });
});

interface BounceVariant {
  id: string;
  name: string;
  prefix: string;
  /** Settings that differ from the defaults, and how the row names them. */
  producer: Partial<KafkaProducerOptions<string, string>>;
  producerNote: string;
  total: number;
  minKills: number;
}

/**
 * Transactions one after another, each across the 3 partitions, while a broker is SIGKILLed and
 * restarted every ~10 s (only when every replica is in sync); the producer's retries ride most kills
 * out, and a transaction that fails abortably is aborted and sent again with new values.
 */
async function bounce(variant: BounceVariant): Promise<void> {
  const started = Date.now();
  const rss = new RssSampler();
  const topic = await topicRf3(`rel-${variant.prefix}`);
  const size = scaled(100, 500);
  const { total, minKills } = variant;
  // a guard against a stuck run, not a speed bound: the counts decide when sending ends
  const maxSendMs = scaled(300_000, 900_000);
  const killEveryMs = 10_000;
  const logger = collectingLogger();
  const log = new SendLog();
  const loop = new TransactionLoop({ bootstrapServers: cluster.directBootstrapServers, transactionalId: transactionalId(variant.prefix), lingerMs: 5, logger, ...variant.producer }, topic, log);
  const kills: Array<{ node: number; at: number; restartedAt: number }> = [];
  let skippedTicks = 0;
  let sending = true;

  const killLoop = async (): Promise<void> => {
    await sleep(5_000);
    for (let i = 0; sending; ) {
      const tick = Date.now();
      try {
        // only with every replica (of the data and of the transaction log) in sync: a kill then can never lose an acknowledged write
        await cluster.waitInSync(topic, { timeoutMs: 30_000 });
        await cluster.waitInSync('__transaction_state', { timeoutMs: 30_000 });
      } catch {
        skippedTicks++;
        continue;
      }
      if (!sending) break;
      const node = cluster.nodeIds[i++ % cluster.nodeIds.length];
      const at = Date.now();
      await cluster.kill(node);
      await sleep(2_000);
      await cluster.restart(node);
      kills.push({ node, at, restartedAt: Date.now() });
      const wait = killEveryMs - (Date.now() - tick);
      for (let waited = 0; waited < wait && sending; waited += 250) await sleep(250);
    }
  };

  const killing = killLoop();
  try {
    await loop.init();
    // both APIs in turn: begin/send/commit by hand, and transaction(fn)
    for (let n = 0; (loop.committedRecords < total || kills.length < minKills) && Date.now() - started < maxSendMs; n++) await loop.commit(variant.prefix, n, size, {}, n % 2 === 1);
  } finally {
    sending = false;
    await killing;
    await loop.close();
  }
  const sendMs = Date.now() - started;
  await cluster.waitInSync(topic, { timeoutMs: 120_000 });
  // sampled while producing: the harness's own read-back of the log is no part of it
  const peakRssMiB = rss.stop();
  const reads = await readBoth(topic);
  const v = judge(loop.transactions, log, reads);
  const lastKill = kills[kills.length - 1];
  const acks = log.ackTimes();
  const nextAck = lastKill === undefined ? undefined : acks.find((t) => t >= lastKill.restartedAt);
  const killToCommit = kills.map((k) => (loop.commitTimes.find((t) => t >= k.at) ?? Number.NaN) - k.at).filter((x) => Number.isFinite(x));
  const r = row(
    {
      id: variant.id,
      name: variant.name,
      producer: `transactional${variant.producerNote}, transactions of ${size} records over ${PARTITIONS} partitions, one after another, by hand and through transaction(fn) in turn; aborted and redone with new values when one fails`,
      faults: `${kills.length} kill -9 + restart (${kills.map((k) => `n${k.node}`).join(' ')})${skippedTicks > 0 ? `, ${skippedTicks} ticks skipped (replicas not in sync)` : ''}`,
      faultCount: kills.length,
      // a transaction stalls on its slowest partition, so every partition waits out a failover alike
      timeToRecoverMs: log.longestPartitionStallMs(),
      longestAckGapMs: longestGap(acks),
      throughput: (loop.committedRecords * 1000) / sendMs,
      peakRssMiB,
      durationMs: Date.now() - started,
    },
    log,
    v,
    {
      'committed records': loop.committedRecords,
      'transactions aborted and redone': loop.counters.abortedAndRedone,
      'commit calls past maxBlockMs, called again': loop.counters.commitCallTimeouts,
      'abort calls past maxBlockMs, called again': loop.counters.abortCallTimeouts,
      'transaction() calls past maxBlockMs (outcome left to the next)': loop.counters.fnCommitOutlived,
      'fatal errors (producer replaced)': loop.counters.fatal,
      'last restart to the next acknowledgement (ms)': lastKill === undefined || nextAck === undefined ? 'none' : nextAck - lastKill.restartedAt,
      'longest kill-to-next-commit (ms)': killToCommit.length > 0 ? Math.max(...killToCommit) : 0,
      'longest gap between commits (ms)': longestGap(loop.commitTimes) ?? 0,
      'producer warnings': logger.lines.length,
    },
    loop.counters.fatal === 0 && kills.length >= minKills,
    loop.fatalErrors.length > 0 ? `Fatal: ${loop.fatalErrors.slice(0, 3).join(' | ')}` : undefined,
  );
  writeScenarioRow(r);
  console.log(`${variant.id}: ${r.faults}; ${JSON.stringify(r.extra)}; failures ${JSON.stringify(r.failures)}; throughput ${r.throughput.toFixed(0)} rec/s`);
  if (logger.lines.length > 0) console.log(`${variant.id} producer warnings (${Math.min(15, logger.lines.length)} of ${logger.lines.length}):\n${logger.lines.slice(0, 15).join('\n')}`);
  expect(loop.fatalErrors).toEqual([]);
  expect(kills.length).toBeGreaterThanOrEqual(minKills);
  expect(v.anomalies).toEqual(NO_ANOMALIES);
}

describe('B1 transactions while brokers are SIGKILLed and restarted', () => {
  it('every committed transaction whole under read_committed, nothing of an aborted one, no duplicates, while a broker is hard-bounced every ~10 s', async () => {
    await bounce({ id: 'B1', name: 'Transactions while a broker is hard-bounced', prefix: 'b1', producer: {}, producerNote: '', total: scaled(20_000, 100_000), minKills: scaled(2, 6) });
  });

  it('with a delivery timeout shorter than a failover, records fail and their transactions are aborted and sent again: still none of an aborted one visible, every committed one whole', async () => {
    await bounce({
      id: 'B1b',
      name: 'Transactions while a broker is hard-bounced, delivery timeout shorter than a failover',
      prefix: 'b1b',
      // a killed leader's partitions move after broker.session.timeout.ms (4 s) and its restart: batches to it outlive 5 s
      producer: { requestTimeoutMs: 3_000, deliveryTimeoutMs: 5_000 },
      producerNote: ' (requestTimeoutMs 3000, deliveryTimeoutMs 5000)',
      total: scaled(10_000, 50_000),
      minKills: scaled(2, 4),
    });
  });
});

describe('B3 requests held past the client timeout', () => {
  const END_TXN = 26;
  const PRODUCE = 0;
  const REQUEST_TIMEOUT_MS = 5_000;
  const MAX_BLOCK_MS = 3_000;
  /** Held 10 s longer than the client waits for an answer. */
  const HOLD_MS = REQUEST_TIMEOUT_MS + 10_000;
  type Variant = 'EndTxn request' | 'EndTxn response' | 'Produce request' | 'Produce response' | 'none';
  const VARIANTS: Variant[] = ['EndTxn request', 'EndTxn response', 'Produce request', 'Produce response', 'none'];

  itFull('an EndTxn or Produce request (or its answer) held 10 s past the request timeout: no torn transaction, nothing aborted visible, and the producer goes on', async () => {
    const started = Date.now();
    const rss = new RssSampler();
    const topic = await topicRf3('rel-b3');
    const size = 60;
    const count = 30;
    const logger = collectingLogger();
    const log = new SendLog();
    // through the fault proxies (bootstrapServers), unlike the other scenarios
    const loop = new TransactionLoop(
      // maxBlockMs below the request timeout: a held EndTxn outlives the commit call, which is called again (or, for transaction(fn), left to the next one)
      { bootstrapServers: cluster.bootstrapServers, transactionalId: transactionalId('b3'), lingerMs: 5, requestTimeoutMs: REQUEST_TIMEOUT_MS, maxBlockMs: MAX_BLOCK_MS, logger },
      topic,
      log,
    );
    const held: Record<string, number> = {};
    const holdStartedAt: number[] = [];
    /**
     * Holds every frame of the direction on every proxy until one of the api key was held, then lifts
     * the rule: what was held stays held past the client's timeout (the proxy drops it when the
     * client closes that connection); the client's retry gets through.
     */
    const holdOne = async (variant: Variant): Promise<void> => {
      const apiKey = variant.startsWith('EndTxn') ? END_TXN : PRODUCE;
      const direction = variant.endsWith('request') ? 'request' : 'response';
      const seen = (): number => cluster.proxies.reduce((n, p) => n + ((direction === 'request' ? p.counts().requests : p.counts().responses)[apiKey] ?? 0), 0);
      const before = seen();
      const rules = cluster.proxies.map((p) => p.delay(HOLD_MS, { direction }));
      holdStartedAt.push(Date.now());
      try {
        for (const deadline = Date.now() + 20_000; seen() === before && Date.now() < deadline; ) await sleep(20);
      } finally {
        for (const rule of rules) rule.remove();
      }
      if (seen() > before) held[variant] = (held[variant] ?? 0) + 1;
    };
    try {
      await loop.init();
      for (let n = 0; n < count; n++) {
        const variant = VARIANTS[n % VARIANTS.length];
        // each variant by hand and through transaction(fn), in turn
        const viaFn = Math.floor(n / VARIANTS.length) % 2 === 1;
        if (variant === 'none') await loop.commit('b3', n, size, {}, viaFn);
        else if (variant.startsWith('EndTxn')) await loop.commit('b3', n, size, { settleSendsFirst: true, duringCommit: () => holdOne(variant) }, viaFn);
        else {
          let hold: Promise<void> = Promise.resolve();
          const hooks: AttemptHooks = {
            beforeSends: async () => {
              hold = holdOne(variant);
              await sleep(0);
            },
            duringCommit: () => hold,
          };
          await loop.commit('b3', n, size, hooks, viaFn);
        }
      }
    } finally {
      await loop.close();
      for (const p of cluster.proxies) p.resume();
    }
    const sendMs = Date.now() - started;
    // sampled while producing: the harness's own read-back of the log is no part of it
    const peakRssMiB = rss.stop();
    const reads = await readBoth(topic);
    const v = judge(loop.transactions, log, reads);
    const faults = Object.values(held).reduce((a, b) => a + b, 0);
    const endTxnRequests = cluster.proxies.reduce((n, p) => n + (p.counts().requests[END_TXN] ?? 0), 0);
    const heldEndTxn = (held['EndTxn request'] ?? 0) + (held['EndTxn response'] ?? 0);
    const r = row(
      {
        id: 'B3',
        name: 'EndTxn / Produce held past the request timeout',
        producer: `transactional, requestTimeoutMs ${REQUEST_TIMEOUT_MS}, maxBlockMs ${MAX_BLOCK_MS}, through the fault proxies; ${count} transactions of ${size} records, by hand and through transaction(fn)`,
        faults: `${faults} holds of ${HOLD_MS} ms (${Object.entries(held).map(([k, n]) => `${k} × ${n}`).join(', ')})`,
        faultCount: faults,
        timeToRecoverMs: null,
        longestAckGapMs: longestGap(log.ackTimes()),
        throughput: (loop.committedRecords * 1000) / sendMs,
        peakRssMiB,
        durationMs: Date.now() - started,
      },
      log,
      v,
      {
        'EndTxn requests sent': endTxnRequests,
        'transactions aborted and redone': loop.counters.abortedAndRedone,
        'commit calls past maxBlockMs, called again': loop.counters.commitCallTimeouts,
        'transaction() calls past maxBlockMs (outcome left to the next)': loop.counters.fnCommitOutlived,
        'fatal errors (producer replaced)': loop.counters.fatal,
        'longest gap between commits (ms)': longestGap(loop.commitTimes) ?? 0,
        'producer warnings': logger.lines.length,
      },
      loop.counters.fatal === 0 && endTxnRequests >= v.txn.committed + v.txn.aborted + heldEndTxn,
      `The proxy drops a held frame when the client closes its connection at the request timeout, so a held request never reaches the broker late; a held response is of a request the broker carried out. ${loop.fatalErrors.length > 0 ? `Fatal: ${loop.fatalErrors.slice(0, 3).join(' | ')}` : ''}`.trim(),
    );
    writeScenarioRow(r);
    console.log(`B3: ${r.faults}; ${JSON.stringify(r.extra)}; failures ${JSON.stringify(r.failures)}`);
    if (logger.lines.length > 0) console.log(`B3 producer warnings (${Math.min(15, logger.lines.length)} of ${logger.lines.length}):\n${logger.lines.slice(0, 15).join('\n')}`);
    expect(loop.fatalErrors).toEqual([]);
    expect(v.anomalies).toEqual(NO_ANOMALIES);
    expect(Object.keys(held).sort()).toEqual(VARIANTS.filter((x) => x !== 'none').sort());
    // every held EndTxn (or its lost answer) was sent again: once per transaction attempt, plus the retries
    expect(endTxnRequests).toBeGreaterThanOrEqual(v.txn.committed + v.txn.aborted + heldEndTxn);
  });
});

describe('B3b a broker frozen mid-commit, its requests answered late', () => {
  const REQUEST_TIMEOUT_MS = 8_000;
  /** Past the request timeout and the broker session timeout: the node is fenced, its leaderships and coordinators move, and what it held is carried out (or refused) when it wakes. */
  const PAUSE_MS = 15_000;

  itFull('SIGSTOP of each node in turn while a commit is in flight, SIGCONT 15 s later: the requests it held are answered late, and still no torn transaction, nothing aborted visible', async () => {
    const started = Date.now();
    const rss = new RssSampler();
    const topic = await topicRf3('rel-b3b');
    const size = 60;
    const rounds = 6;
    const logger = collectingLogger();
    const log = new SendLog();
    const loop = new TransactionLoop({ bootstrapServers: cluster.directBootstrapServers, transactionalId: transactionalId('b3b'), lingerMs: 5, requestTimeoutMs: REQUEST_TIMEOUT_MS, logger }, topic, log);
    const pauses: Array<{ node: number; at: number; resumedAt: number }> = [];
    const freeze = async (node: number): Promise<void> => {
      await sleep(5);
      const at = Date.now();
      cluster.pause(node);
      try {
        await sleep(PAUSE_MS);
      } finally {
        cluster.resume(node);
      }
      pauses.push({ node, at, resumedAt: Date.now() });
    };
    try {
      await loop.init();
      let n = 0;
      for (let round = 0; round < rounds; round++) {
        await cluster.waitInSync(topic, { timeoutMs: 120_000 });
        await cluster.waitInSync('__transaction_state', { timeoutMs: 120_000 });
        const node = cluster.nodeIds[round % cluster.nodeIds.length];
        // odd rounds: every record acknowledged first, so only EndTxn and the markers meet the frozen node
        await loop.commit('b3b', n++, size, { settleSendsFirst: round % 2 === 1, duringCommit: () => freeze(node) }, Math.floor(round / 2) % 2 === 1);
        // a few unhindered transactions while the node catches up
        for (let k = 0; k < 3; k++) await loop.commit('b3b', n++, size, {}, k % 2 === 1);
      }
    } finally {
      await loop.close();
      for (const node of cluster.nodeIds) cluster.resume(node);
    }
    const sendMs = Date.now() - started;
    await cluster.waitInSync(topic, { timeoutMs: 120_000 });
    // sampled while producing: the harness's own read-back of the log is no part of it
    const peakRssMiB = rss.stop();
    const reads = await readBoth(topic);
    const v = judge(loop.transactions, log, reads);
    const r = row(
      {
        id: 'B3b',
        name: 'A broker frozen (SIGSTOP) mid-commit, its requests answered late',
        producer: `transactional, requestTimeoutMs ${REQUEST_TIMEOUT_MS}; ${rounds} frozen commits (every node, by hand and through transaction(fn)) among ${rounds * 4} transactions of ${size} records`,
        faults: `${pauses.length} SIGSTOP of ${PAUSE_MS} ms during a commit (${pauses.map((p) => `n${p.node}`).join(' ')})`,
        faultCount: pauses.length,
        timeToRecoverMs: log.longestPartitionStallMs(),
        longestAckGapMs: longestGap(log.ackTimes()),
        throughput: (loop.committedRecords * 1000) / sendMs,
        peakRssMiB,
        durationMs: Date.now() - started,
      },
      log,
      v,
      {
        'transactions aborted and redone': loop.counters.abortedAndRedone,
        'commit calls past maxBlockMs, called again': loop.counters.commitCallTimeouts,
        'transaction() calls past maxBlockMs (outcome left to the next)': loop.counters.fnCommitOutlived,
        'fatal errors (producer replaced)': loop.counters.fatal,
        'longest gap between commits (ms)': longestGap(loop.commitTimes) ?? 0,
        'producer warnings': logger.lines.length,
      },
      loop.counters.fatal === 0 && pauses.length === rounds,
      loop.fatalErrors.length > 0 ? `Fatal: ${loop.fatalErrors.slice(0, 3).join(' | ')}` : undefined,
    );
    writeScenarioRow(r);
    console.log(`B3b: ${r.faults}; ${JSON.stringify(r.extra)}; failures ${JSON.stringify(r.failures)}`);
    if (logger.lines.length > 0) console.log(`B3b producer warnings (${Math.min(15, logger.lines.length)} of ${logger.lines.length}):\n${logger.lines.slice(0, 15).join('\n')}`);
    expect(loop.fatalErrors).toEqual([]);
    expect(pauses).toHaveLength(rounds);
    expect(v.anomalies).toEqual(NO_ANOMALIES);
  });
});
