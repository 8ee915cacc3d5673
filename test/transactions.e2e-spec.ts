import { InvalidTransactionStateError, KafkaProducer, ProducerFencedError, TransactionAbortedError, type DeliveryFailure, type KafkaProducerOptions, type RecordMetadata, type TransactionEnd } from '@app/kafka-producer';
import { KafkaCluster, type ConsumedRecord } from '@app/kafka-testing';
import { committedOffsets } from './support/group-offsets';
import { uniqueTopic } from './support/round-trip';

/**
 * Transactions against real brokers of both generations: a broker formatted with transaction.version=0
 * speaks only the first protocol (AddPartitionsToTxn before Produce, EndTxn without an epoch bump), one
 * with transaction.version=2 (the 4.x default) the KIP-890 one. The same suite must pass on both; what
 * tells them apart from the outside is the epoch in the log: v2 bumps it at every EndTxn.
 * Everything is read back by the Java consumer in both isolation levels and by the log dump tool.
 */

jest.setTimeout(120_000);

const values = (records: readonly ConsumedRecord[]): string[] => records.map((r) => r.value?.toString() ?? '<null>');
let ids = 0;
const transactionalId = (what: string): string => `e2e-${what}-${process.pid}-${Date.now().toString(36)}-${ids++}`;

function producerFor(cluster: KafkaCluster, txnId: string, extra: Partial<KafkaProducerOptions<string, string>> = {}): KafkaProducer {
  return new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, transactionalId: txnId, lingerMs: 5, ...extra });
}

async function readBoth(cluster: KafkaCluster, topic: string): Promise<{ committed: string[]; uncommitted: string[] }> {
  // one JVM at a time: two at once on a loaded 2-core machine only slow each other down
  const committed = await cluster.consumeWithJava({ topic, isolationLevel: 'read_committed' });
  const uncommitted = await cluster.consumeWithJava({ topic, isolationLevel: 'read_uncommitted' });
  return { committed: values(committed).sort(), uncommitted: values(uncommitted).sort() };
}

describe.each([
  { level: 2, generation: 'transactions v2 (KIP-890)' },
  { level: 0, generation: 'transactions v1' },
])('a transactional producer on a broker with transaction.version=$level ($generation)', ({ level }) => {
  let cluster: KafkaCluster;
  const open: KafkaProducer[] = [];
  const track = (p: KafkaProducer): KafkaProducer => (open.push(p), p);

  beforeAll(async () => {
    cluster = await KafkaCluster.start({ features: { 'transaction.version': level } });
  }, 120_000);

  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close({ timeoutMs: 10_000 }).catch(() => undefined)));
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('makes committed records visible to read_committed readers, and aborted ones never, though read_uncommitted readers see both', async () => {
    const topic = uniqueTopic(`txn-visibility-v${level}`);
    await cluster.createTopic({ name: topic, partitions: 2 });
    const producer = track(producerFor(cluster, transactionalId('visibility')));
    const ends: TransactionEnd[] = [];
    producer.onTransactionEnd((e) => ends.push(e));
    await producer.initTransactions();
    expect(producer.transactionState).toBe('READY');

    producer.beginTransaction();
    const committed = await Promise.all(['c1', 'c2', 'c3'].map((value, i) => producer.send({ topic, partition: i % 2, value })));
    await producer.commitTransaction();

    producer.beginTransaction();
    await Promise.all(['a1', 'a2'].map((value, i) => producer.send({ topic, partition: i % 2, value })));
    await producer.abortTransaction();

    await producer.transaction(async (tx) => {
      await tx.send({ topic, partition: 1, value: 'c4' });
    });

    expect(committed.every((m) => m.offset >= 0n)).toBe(true);
    const read = await readBoth(cluster, topic);
    expect(read.committed).toEqual(['c1', 'c2', 'c3', 'c4']);
    expect(read.uncommitted).toEqual(['a1', 'a2', 'c1', 'c2', 'c3', 'c4']);
    expect(ends.map((e) => e.outcome)).toEqual(["committed", "aborted", "committed"]);
  });

  it(`writes the batches and markers of the ${level === 2 ? 'v2 protocol: a new epoch after every EndTxn' : 'v1 protocol: one epoch for every transaction'}`, async () => {
    const topic = uniqueTopic(`txn-epochs-v${level}`);
    await cluster.createTopic({ name: topic, partitions: 1 });
    const producer = track(producerFor(cluster, transactionalId('epochs')));
    for (let t = 0; t < 3; t++) {
      await producer.transaction(async (tx) => {
        await Promise.all([0, 1].map((i) => tx.send({ topic, value: `t${t}-${i}` })));
      });
    }
    await producer.close();
    const batches = (await cluster.dumpLogSegments(topic, 0)).flatMap((s) => s.batches);
    const data = batches.filter((b) => !b.isControl);
    const markers = batches.filter((b) => b.isControl);
    expect(data.every((b) => b.isTransactional && b.isValid)).toBe(true);
    expect(markers).toHaveLength(3); // one COMMIT marker per transaction
    expect(new Set(batches.map((b) => b.producerId)).size).toBe(1);
    const epochsOfData = [...new Set(data.map((b) => b.producerEpoch))];
    if (level === 2) {
      // each transaction's data carries the epoch its predecessor's EndTxn handed out
      expect(epochsOfData).toHaveLength(3);
      expect(epochsOfData[1]).toBe(epochsOfData[0] + 1);
      expect(epochsOfData[2]).toBe(epochsOfData[1] + 1);
    } else {
      expect(epochsOfData).toHaveLength(1);
    }
  });

  it('resolves a send once the broker has written it, yet read_committed readers see it only after commit', async () => {
    const topic = uniqueTopic(`txn-pending-v${level}`);
    await cluster.createTopic({ name: topic, partitions: 1 });
    const producer = track(producerFor(cluster, transactionalId('pending')));
    await producer.initTransactions();
    producer.beginTransaction();
    const metadata = await producer.send({ topic, value: 'pending' });
    expect(metadata.offset).toBe(0n);
    // the open transaction holds the last stable offset at 0: a read_committed reader stops before it
    expect(values(await cluster.consumeWithJava({ topic, isolationLevel: 'read_committed' }))).toEqual([]);
    expect(values(await cluster.consumeWithJava({ topic, isolationLevel: 'read_uncommitted' }))).toEqual(['pending']);
    await producer.commitTransaction();
    expect(values(await cluster.consumeWithJava({ topic, isolationLevel: 'read_committed' }))).toEqual(['pending']);
  });

  it('commitTransaction() flushes first: records still lingering are written before the commit', async () => {
    const topic = uniqueTopic(`txn-flush-v${level}`);
    await cluster.createTopic({ name: topic, partitions: 3 });
    // a linger far longer than the test: only the commit's flush can send these
    const producer = track(producerFor(cluster, transactionalId('flush'), { lingerMs: 600_000 }));
    await producer.initTransactions();
    producer.beginTransaction();
    const sends = Array.from({ length: 300 }, (_, i) => producer.send({ topic, key: `k${i}`, value: `v${i}` }));
    const settled: RecordMetadata[] = [];
    for (const s of sends) void s.then((m) => settled.push(m));
    await producer.commitTransaction();
    expect(settled).toHaveLength(300);
    expect((await cluster.consumeWithJava({ topic, isolationLevel: 'read_committed' })).length).toBe(300);
  });

  it('fails records that had not been sent when the transaction is aborted with TransactionAbortedError, on the promise and the delivery surface', async () => {
    const topic = uniqueTopic(`txn-abort-queued-v${level}`);
    await cluster.createTopic({ name: topic, partitions: 1 });
    const producer = track(producerFor(cluster, transactionalId('abort-queued'), { lingerMs: 600_000 }));
    const failures: DeliveryFailure[] = [];
    producer.onDeliveryError((f) => failures.push(f));
    await producer.initTransactions();
    producer.beginTransaction();
    const sends = ['q1', 'q2', 'q3'].map((value) => producer.send({ topic, value }).then(
      () => 'delivered',
      (e: unknown) => e,
    ));
    await producer.abortTransaction();
    const outcomes = await Promise.all(sends);
    for (const o of outcomes) expect(o).toBeInstanceOf(TransactionAbortedError);
    expect(failures.map((f) => f.error)).toEqual(outcomes);
    // the producer goes on: the next transaction commits (not awaited inside: with this linger only the commit's flush sends it)
    let after: Promise<RecordMetadata> | undefined;
    await producer.transaction((tx) => {
      after = tx.send({ topic, value: 'after' });
    });
    await expect(after).resolves.toMatchObject({ partition: 0 });
    const read = await readBoth(cluster, topic);
    expect(read.committed).toEqual(['after']);
  });

  it('fences the older of two producers with one transactional id: ProducerFencedError on its next call, its open transaction aborted', async () => {
    const topic = uniqueTopic(`txn-fencing-v${level}`);
    await cluster.createTopic({ name: topic, partitions: 1 });
    const id = transactionalId('fencing');
    const older = track(producerFor(cluster, id));
    await older.initTransactions();
    older.beginTransaction();
    await older.send({ topic, value: 'zombie-1' });

    const newer = track(producerFor(cluster, id));
    await newer.initTransactions(); // aborts the older one's open transaction on the coordinator

    const next = await older.send({ topic, value: 'zombie-2' }).then(() => null, (e: unknown) => e);
    const commit = await older.commitTransaction().then(() => null, (e: unknown) => e);
    // one of them meets the new epoch first; from then on every call fails with the same fatal error
    expect([next, commit].some((e) => e instanceof ProducerFencedError)).toBe(true);
    await expect(older.send({ topic, value: 'zombie-3' })).rejects.toBeInstanceOf(ProducerFencedError);
    expect(() => older.beginTransaction()).toThrow(ProducerFencedError);
    expect(older.transactionState).toBe('FATAL_ERROR');
    expect(older.health().state).toBe('fatal');

    await newer.transaction(async (tx) => {
      await tx.send({ topic, value: 'fresh' });
    });
    const read = await readBoth(cluster, topic);
    expect(read.committed).toEqual(['fresh']);
    expect(read.uncommitted).toContain('zombie-1');
    expect(read.uncommitted).not.toContain('zombie-3');
  });

  it("makes offsets sent in a transaction the group's committed offsets only when it commits", async () => {
    const topic = uniqueTopic(`txn-offsets-v${level}`);
    await cluster.createTopic({ name: topic, partitions: 2 });
    const group = `group-${topic}`;
    const producer = track(producerFor(cluster, transactionalId('offsets')));
    await producer.initTransactions();

    producer.beginTransaction();
    await producer.send({ topic, partition: 0, value: 'aborted' });
    await producer.sendOffsetsToTransaction([{ topic, partition: 0, offset: 40n }], group);
    await producer.abortTransaction();
    expect(await committedOffsets(cluster, group)).toEqual(new Map());

    await producer.transaction(async (tx) => {
      await tx.send({ topic, partition: 1, value: 'committed' });
      await tx.sendOffsets(
        [
          { topic, partition: 0, offset: 7n },
          { topic, partition: 1, offset: 11, metadata: 'from another library' },
        ],
        { groupId: group, generationId: -1, memberId: '', groupInstanceId: null },
      );
    });
    expect(await committedOffsets(cluster, group)).toEqual(
      new Map([
        [`${topic}:0`, 7n],
        [`${topic}:1`, 11n],
      ]),
    );
  });

  it('rejects calls the state does not allow with an error that names the call and the state, and loses nothing already accepted', async () => {
    const topic = uniqueTopic(`txn-illegal-v${level}`);
    await cluster.createTopic({ name: topic, partitions: 1 });
    const producer = track(producerFor(cluster, transactionalId('illegal')));
    expect(() => producer.beginTransaction()).toThrow(InvalidTransactionStateError);
    expect(() => producer.beginTransaction()).toThrow(/beginTransaction.*UNINITIALIZED/);
    await producer.initTransactions();
    await expect(producer.send({ topic, value: 'outside' })).rejects.toThrow(/send.*READY/);
    await expect(producer.commitTransaction()).rejects.toThrow(/commitTransaction.*READY/);
    producer.beginTransaction();
    const accepted = producer.send({ topic, value: 'inside' });
    expect(() => producer.beginTransaction()).toThrow(/beginTransaction.*IN_TRANSACTION/);
    await expect(producer.initTransactions()).rejects.toThrow(/initTransactions.*IN_TRANSACTION/);
    await producer.commitTransaction();
    await expect(accepted).resolves.toMatchObject({ offset: 0n });
    expect(values(await cluster.consumeWithJava({ topic, isolationLevel: 'read_committed' }))).toEqual(['inside']);
  });

  it('aborts a transaction still open at close(), as the Java client does', async () => {
    const topic = uniqueTopic(`txn-close-v${level}`);
    await cluster.createTopic({ name: topic, partitions: 1 });
    const producer = producerFor(cluster, transactionalId('close'));
    await producer.initTransactions();
    producer.beginTransaction();
    await producer.send({ topic, value: 'left-open' });
    await producer.close();
    // the abort marker ends the transaction: the last stable offset moves past it at once, rather than
    // when the transaction timeout (60 s) would have aborted it on the coordinator
    const read = await cluster.consumeWithJavaDetailed({ topic, isolationLevel: 'read_committed' });
    expect(values(read.records)).toEqual([]);
    expect(read.endOffsets[0]).toBe(2n);
    expect(values(await cluster.consumeWithJava({ topic, isolationLevel: 'read_uncommitted' }))).toEqual(['left-open']);
  });

  it('runs concurrent transaction() calls one after another, each all-or-nothing', async () => {
    const topic = uniqueTopic(`txn-concurrent-v${level}`);
    await cluster.createTopic({ name: topic, partitions: 3 });
    const producer = track(producerFor(cluster, transactionalId('concurrent')));
    let running = 0;
    let overlap = 0;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, (_, n) =>
        producer.transaction(async (tx) => {
          running++;
          overlap = Math.max(overlap, running);
          try {
            await Promise.all([0, 1, 2].map((p) => tx.send({ topic, partition: p, value: `req${n}-${p}` })));
            if (n % 3 === 2) throw new Error(`request ${n} fails after writing`);
            return n;
          } finally {
            running--;
          }
        }),
      ),
    );
    expect(overlap).toBe(1);
    const failed = outcomes.flatMap((o, n) => (o.status === 'rejected' ? [n] : []));
    expect(failed).toEqual([2, 5, 8, 11]);
    expect(outcomes.filter((o) => o.status === 'fulfilled').map((o) => (o as PromiseFulfilledResult<number>).value)).toEqual([0, 1, 3, 4, 6, 7, 9, 10]);
    const read = await readBoth(cluster, topic);
    const expected = (ns: number[]): string[] => ns.flatMap((n) => [0, 1, 2].map((p) => `req${n}-${p}`)).sort();
    expect(read.committed).toEqual(expected([0, 1, 3, 4, 6, 7, 9, 10]));
    expect(read.uncommitted).toEqual(expected([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
  });
});

describe('a transaction across three partitions led by three brokers', () => {
  let cluster: KafkaCluster;

  beforeAll(async () => {
    cluster = await KafkaCluster.start({ nodes: 3 });
  }, 240_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('is all-or-nothing: every committed transaction whole under read_committed, no record of an aborted one', async () => {
    const topic = uniqueTopic('txn-three-node');
    await cluster.createTopic({ name: topic, partitions: 3, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
    const leaders = (await cluster.metadata([topic])).topics[0].partitions.map((p) => p.leaderId);
    expect(new Set(leaders).size).toBe(3);
    const producer = producerFor(cluster, transactionalId('three-node'));
    try {
      for (let t = 0; t < 6; t++) {
        await producer
          .transaction(async (tx) => {
            await Promise.all([0, 1, 2].flatMap((p) => [0, 1].map((i) => tx.send({ topic, partition: p, value: `t${t}-p${p}-${i}` }))));
            if (t % 2 === 1) throw new Error('abort this one');
          })
          .catch((e: Error) => expect(e.message).toBe('abort this one'));
      }
    } finally {
      await producer.close();
    }
    const committed = await cluster.consumeWithJava({ topic, isolationLevel: 'read_committed' });
    const byTransaction = new Map<string, number>();
    for (const v of values(committed)) byTransaction.set(v.split('-')[0], (byTransaction.get(v.split('-')[0]) ?? 0) + 1);
    expect([...byTransaction.entries()].sort()).toEqual([
      ['t0', 6],
      ['t2', 6],
      ['t4', 6],
    ]);
    expect(new Set(committed.map((r) => r.partition))).toEqual(new Set([0, 1, 2]));
    expect((await cluster.consumeWithJava({ topic, isolationLevel: 'read_uncommitted' })).length).toBe(36);
  });
});
