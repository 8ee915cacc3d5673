import { closeProducers, track, turns } from '../../test/support/scripted-cluster';
import {
  addOffsets,
  addPartitionRequests,
  endTxns,
  findCoordinators,
  GENERATIONS,
  initProducerIds,
  producedBatches,
  produceSeqOf,
  rejection,
  thrown,
  transactionalProducer,
  transactionCluster,
  TXN_ID,
  txnOffsetCommits,
} from '../../test/support/transaction-helpers';
import { KafkaProtocolError } from '../errors';
import { InvalidTransactionStateError, ProducerClosedError, ProducerFencedError, TransactionAbortableError, TransactionAbortedError } from './errors';
import type { KafkaProducer } from './kafka-producer';
import type { DeliveryFailure, TransactionEnd } from './producer-events';
import type { TransactionState } from './transaction-manager';

jest.setTimeout(15_000);

afterEach(async () => {
  await closeProducers();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const TRANSACTION_TIMEOUT_MS = 30_000;
const INVALID_RECORD = 87;
const INVALID_TRANSACTION_TIMEOUT = 50;
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53;

type Producer = KafkaProducer<string, string>;

/** Runs a call that may throw or reject and returns what it failed with. */
function failureOf(call: () => unknown): Promise<Error> {
  return rejection(Promise.resolve().then(call));
}

/** Every call a user can make on a transactional producer, each returning the error it fails with. */
function everyCall(producer: Producer): Record<string, () => Promise<Error>> {
  return {
    send: () => failureOf(() => producer.send({ topic: 'orders', partition: 0, value: 'after' })),
    initTransactions: () => failureOf(() => producer.initTransactions()),
    beginTransaction: () => failureOf(() => producer.beginTransaction()),
    commitTransaction: () => failureOf(() => producer.commitTransaction()),
    abortTransaction: () => failureOf(() => producer.abortTransaction()),
    sendOffsetsToTransaction: () => failureOf(() => producer.sendOffsetsToTransaction([{ topic: 'in', partition: 0, offset: 1 }], 'group')),
    transaction: () => failureOf(() => producer.transaction(() => 'never runs')),
  };
}

describe('the transaction state machine', () => {
  it('goes UNINITIALIZED → INITIALIZING → READY → IN_TRANSACTION → COMMITTING_TRANSACTION → READY, and health() shows it', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 } });
    const producer = transactionalProducer(cluster);
    const seen: TransactionState[] = [producer.transactionState];
    const init = producer.initTransactions();
    seen.push(producer.transactionState);
    await init;
    seen.push(producer.transactionState);
    producer.beginTransaction();
    seen.push(producer.transactionState);
    expect(producer.health().transaction).toEqual({ transactionalId: TXN_ID, state: 'IN_TRANSACTION' });
    await producer.send({ topic: 'orders', value: 'a' });
    const commit = producer.commitTransaction();
    seen.push(producer.transactionState);
    await commit;
    seen.push(producer.transactionState);
    expect(seen).toEqual(['UNINITIALIZED', 'INITIALIZING', 'READY', 'IN_TRANSACTION', 'COMMITTING_TRANSACTION', 'READY']);
    expect(producer.health().transaction).toEqual({ transactionalId: TXN_ID, state: 'READY' });
  });

  type Setup = 'UNINITIALIZED' | 'READY' | 'IN_TRANSACTION';
  const illegal: Array<[string, Setup, string, (p: Producer) => unknown]> = [
    ['beginTransaction before initTransactions', 'UNINITIALIZED', 'beginTransaction', (p) => p.beginTransaction()],
    ['beginTransaction twice', 'IN_TRANSACTION', 'beginTransaction', (p) => p.beginTransaction()],
    ['commitTransaction with no transaction open', 'READY', 'commitTransaction', (p) => p.commitTransaction()],
    ['abortTransaction with no transaction open', 'READY', 'abortTransaction', (p) => p.abortTransaction()],
    ['sendOffsetsToTransaction outside a transaction', 'READY', 'sendOffsetsToTransaction', (p) => p.sendOffsetsToTransaction([{ topic: 'in', partition: 0, offset: 5 }], 'group')],
    ['send outside a transaction', 'READY', 'send', (p) => p.send({ topic: 'orders', value: 'outside' })],
    ['send before initTransactions', 'UNINITIALIZED', 'send', (p) => p.send({ topic: 'orders', value: 'early' })],
    ['initTransactions twice', 'READY', 'initTransactions', (p) => p.initTransactions()],
    ['initTransactions inside a transaction', 'IN_TRANSACTION', 'initTransactions', (p) => p.initTransactions()],
  ];

  it.each(illegal)('%s fails with InvalidTransactionStateError naming the call and the state, and changes nothing', async (_name, setup, call, act) => {
    const cluster = transactionCluster({ topics: { orders: 1 } });
    const producer = transactionalProducer(cluster);
    if (setup !== 'UNINITIALIZED') await producer.initTransactions();
    if (setup === 'IN_TRANSACTION') producer.beginTransaction();
    const before = cluster.requests.length;

    const error = await failureOf(() => act(producer));
    expect(error).toBeInstanceOf(InvalidTransactionStateError);
    expect(error).toMatchObject({ call, state: setup, code: 'ILLEGAL_TRANSACTION_STATE' });
    expect(error.message).toContain(`${call}()`);
    expect(error.message).toContain(setup);
    expect(producer.transactionState).toBe(setup);
    await turns(3);
    expect(cluster.requests.slice(before).filter((r) => r.api !== 'Metadata')).toEqual([]);
  });

  it('an illegal call inside a transaction loses none of the records already sent: the transaction still commits them all', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 } });
    const producer = transactionalProducer(cluster, { lingerMs: 60_000 });
    await producer.initTransactions();
    producer.beginTransaction();
    const sends = ['a', 'b', 'c'].map((value) => track(producer.send({ topic: 'orders', value })));
    expect(thrown(() => producer.beginTransaction())).toBeInstanceOf(InvalidTransactionStateError);
    expect(await rejection(producer.initTransactions())).toBeInstanceOf(InvalidTransactionStateError);
    expect(producer.transactionState).toBe('IN_TRANSACTION');
    await producer.commitTransaction();
    expect(sends.map((s) => s.state)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(cluster.log('orders', 0)).toEqual(['a', 'b', 'c']);
    expect(endTxns(cluster)).toMatchObject([{ committed: true }]);
  });

  it('a producer without transactionalId refuses the transactional calls, saying it has none', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 } });
    const producer = transactionalProducer(cluster, { transactionalId: undefined });
    const error = await rejection(producer.initTransactions());
    expect(error).toBeInstanceOf(InvalidTransactionStateError);
    expect(error.message).toMatch(/initTransactions\(\).*no transactionalId/);
    expect(thrown(() => producer.beginTransaction()).message).toMatch(/beginTransaction\(\).*no transactionalId/);
    // it is still an ordinary (idempotent) producer
    await producer.send({ topic: 'orders', value: 'plain' });
    expect(cluster.log('orders', 0)).toEqual(['plain']);
  });
});

describe('initTransactions', () => {
  it('finds the transaction coordinator (FindCoordinator key type 1) and then asks it for a producer id with the transactionalId and transactionTimeoutMs', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 } });
    const producer = transactionalProducer(cluster, { transactionTimeoutMs: TRANSACTION_TIMEOUT_MS });
    await producer.initTransactions();
    const finds = findCoordinators(cluster);
    expect(finds).toMatchObject([{ keyType: 1, keys: [TXN_ID] }]);
    const inits = initProducerIds(cluster);
    expect(inits).toMatchObject([{ transactionalId: TXN_ID, transactionTimeoutMs: TRANSACTION_TIMEOUT_MS, producerId: -1n, producerEpoch: -1 }]);
    expect(inits[0].seq).toBeGreaterThan(finds[0].seq);
    expect(producer.health().producerId).toEqual({ producerId: '1000', producerEpoch: 0 });
    expect(producer.transactionState).toBe('READY');
  });

  it('retries COORDINATOR_NOT_AVAILABLE and NOT_COORDINATOR after finding the coordinator again, and CONCURRENT_TRANSACTIONS at the same coordinator', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 } });
    cluster.scriptApi('FindCoordinator', 15); // the coordinator is not elected yet
    cluster.scriptApi('InitProducerId', 15, 16, 51);
    const producer = transactionalProducer(cluster);
    await producer.initTransactions();
    expect(producer.transactionState).toBe('READY');

    const inits = initProducerIds(cluster).map((r) => r.seq);
    const finds = findCoordinators(cluster).map((r) => r.seq);
    expect(inits).toHaveLength(4);
    const findsBefore = (seq: number): number => finds.filter((f) => f < seq).length;
    // two lookups before the first InitProducerId (the first answered COORDINATOR_NOT_AVAILABLE)
    expect(findsBefore(inits[0])).toBe(2);
    // COORDINATOR_NOT_AVAILABLE and NOT_COORDINATOR: the coordinator is looked up again
    expect(findsBefore(inits[1])).toBe(3);
    expect(findsBefore(inits[2])).toBe(4);
    // CONCURRENT_TRANSACTIONS: the same coordinator is asked again
    expect(findsBefore(inits[3])).toBe(4);
    expect(finds).toHaveLength(4);
  });

  it('TRANSACTIONAL_ID_AUTHORIZATION_FAILED rejects it with the broker error and leaves the producer UNINITIALIZED, so it can be called again once access is granted (as Java)', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 } });
    cluster.scriptApi('InitProducerId', TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    const producer = transactionalProducer(cluster);
    const error = await rejection(producer.initTransactions());
    expect(error).toBeInstanceOf(KafkaProtocolError);
    expect(error).toMatchObject({ errorCode: TRANSACTIONAL_ID_AUTHORIZATION_FAILED });
    expect(error.message).toContain(TXN_ID);
    expect(producer.transactionState).toBe('UNINITIALIZED');
    // nothing transactional works meanwhile, and it says why
    const begin = thrown(() => producer.beginTransaction());
    expect(begin).toBeInstanceOf(InvalidTransactionStateError);
    expect(begin.message).toMatch(/beginTransaction\(\).*UNINITIALIZED/);
    expect(await rejection(producer.send({ topic: 'orders', value: 'x' }))).toBeInstanceOf(InvalidTransactionStateError);

    await producer.initTransactions();
    expect(producer.transactionState).toBe('READY');
  });

  it('a fatal answer (INVALID_TRANSACTION_TIMEOUT) rejects it and every later call with the same error; the producer is fatal', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 } });
    cluster.scriptApi('InitProducerId', INVALID_TRANSACTION_TIMEOUT);
    const producer = transactionalProducer(cluster);
    const error = await rejection(producer.initTransactions());
    expect(error).toBeInstanceOf(KafkaProtocolError);
    expect(error).toMatchObject({ errorCode: INVALID_TRANSACTION_TIMEOUT });
    expect(producer.transactionState).toBe('FATAL_ERROR');
    expect(producer.health()).toMatchObject({ state: 'fatal', lastError: error });
    for (const [name, call] of Object.entries(everyCall(producer))) {
      expect([name, await call()]).toEqual([name, error]);
    }
    expect(initProducerIds(cluster)).toHaveLength(1);
  });
});

describe('transactions v1 (transaction.version 0)', () => {
  it('adds each partition with AddPartitionsToTxn before its first Produce, once per transaction; Produce is v11 with the transactionalId; EndTxn v4 commits', async () => {
    const cluster = transactionCluster({ topics: { orders: 2, audit: 1 }, transactionVersion: 0 });
    const producer = transactionalProducer(cluster);
    await producer.initTransactions();
    producer.beginTransaction();
    await Promise.all([
      producer.send({ topic: 'orders', partition: 0, value: 'a0' }),
      producer.send({ topic: 'orders', partition: 1, value: 'b0' }),
      producer.send({ topic: 'audit', partition: 0, value: 'c0' }),
    ]);
    // partitions already in the transaction are not added again
    await Promise.all([producer.send({ topic: 'orders', partition: 0, value: 'a1' }), producer.send({ topic: 'orders', partition: 1, value: 'b1' })]);
    await producer.commitTransaction();

    const adds = addPartitionRequests(cluster);
    expect(adds.flatMap((a) => a.partitions).sort()).toEqual(['audit-0', 'orders-0', 'orders-1']);
    expect(adds.every((a) => a.version <= 3 && a.transactionalId === TXN_ID)).toBe(true);
    const produced = producedBatches(cluster);
    for (const tp of ['audit-0', 'orders-0', 'orders-1']) {
      const added = adds.find((a) => a.partitions.includes(tp))!;
      const firstProduce = produced.find((b) => b.tp === tp)!;
      expect([tp, added.seq < firstProduce.seq]).toEqual([tp, true]);
    }
    expect(produced.every((b) => b.version === 11 && b.transactionalId === TXN_ID && b.isTransactional)).toBe(true);
    const ends = endTxns(cluster);
    expect(ends).toMatchObject([{ transactionalId: TXN_ID, producerId: 1000n, producerEpoch: 0, committed: true, version: 4 }]);
    expect(produced.every((b) => b.seq < ends[0].seq)).toBe(true);
  });

  it('the next transaction adds its partitions again; the epoch stays and the sequences continue', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 }, transactionVersion: 0 });
    const producer = transactionalProducer(cluster);
    await producer.initTransactions();
    producer.beginTransaction();
    await producer.send({ topic: 'orders', value: 'first' });
    await producer.commitTransaction();
    producer.beginTransaction();
    await producer.send({ topic: 'orders', value: 'second' });
    await producer.commitTransaction();

    const [end1, end2] = endTxns(cluster);
    const adds = addPartitionRequests(cluster);
    expect(adds.map((a) => a.partitions)).toEqual([['orders-0'], ['orders-0']]);
    expect(adds[1].seq).toBeGreaterThan(end1.seq);
    expect(adds[1].seq).toBeLessThan(produceSeqOf(cluster, 'second'));
    expect(producedBatches(cluster).map((b) => [b.values[0], b.epoch, b.baseSequence])).toEqual([
      ['first', 0, 0],
      ['second', 0, 1],
    ]);
    expect([end1.producerEpoch, end2.producerEpoch]).toEqual([0, 0]);
    expect(producer.health().producerId).toEqual({ producerId: '1000', producerEpoch: 0 });
  });
});

describe('transactions v2 (transaction.version 2, KIP-890)', () => {
  it('sends no AddPartitionsToTxn: Produce v12 carries the transactionalId; EndTxn v5 commits', async () => {
    const cluster = transactionCluster({ topics: { orders: 2 }, transactionVersion: 2 });
    const producer = transactionalProducer(cluster);
    await producer.initTransactions();
    producer.beginTransaction();
    await Promise.all([producer.send({ topic: 'orders', partition: 0, value: 'a' }), producer.send({ topic: 'orders', partition: 1, value: 'b' })]);
    await producer.commitTransaction();

    expect(cluster.requestsOf('AddPartitionsToTxn')).toEqual([]);
    const produced = producedBatches(cluster);
    expect(produced.map((b) => b.tp).sort()).toEqual(['orders-0', 'orders-1']);
    expect(produced.every((b) => b.version === 12 && b.transactionalId === TXN_ID && b.isTransactional && b.epoch === 0 && b.baseSequence === 0)).toBe(true);
    expect(endTxns(cluster)).toMatchObject([{ transactionalId: TXN_ID, producerEpoch: 0, committed: true, version: 5 }]);
  });

  it("adopts the epoch EndTxn answers with: the next transaction's batches carry it and restart at sequence 0", async () => {
    const cluster = transactionCluster({ topics: { orders: 1 }, transactionVersion: 2 });
    const producer = transactionalProducer(cluster);
    await producer.initTransactions();
    producer.beginTransaction();
    await producer.send({ topic: 'orders', value: 't1-a' });
    await producer.send({ topic: 'orders', value: 't1-b' });
    await producer.commitTransaction();
    expect(producer.health().producerId).toEqual({ producerId: '1000', producerEpoch: 1 });
    producer.beginTransaction();
    await producer.send({ topic: 'orders', value: 't2-a' });
    await producer.send({ topic: 'orders', value: 't2-b' });
    await producer.commitTransaction();

    expect(producedBatches(cluster).map((b) => [b.values[0], b.epoch, b.baseSequence])).toEqual([
      ['t1-a', 0, 0],
      ['t1-b', 0, 1],
      ['t2-a', 1, 0],
      ['t2-b', 1, 1],
    ]);
    expect(endTxns(cluster).map((e) => e.producerEpoch)).toEqual([0, 1]);
    expect(producer.health().producerId).toEqual({ producerId: '1000', producerEpoch: 2 });
    // the epoch moved without any InitProducerId
    expect(initProducerIds(cluster)).toHaveLength(1);
  });
});

describe('sendOffsetsToTransaction', () => {
  it('transactions v1: AddOffsetsToTxn to the transaction coordinator, then TxnOffsetCommit (v4) to the group coordinator, before EndTxn', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 }, transactionVersion: 0 });
    const producer = transactionalProducer(cluster);
    await producer.initTransactions();
    producer.beginTransaction();
    await producer.send({ topic: 'orders', value: 'derived' });
    await producer.sendOffsetsToTransaction(
      [
        { topic: 'in', partition: 0, offset: 42 },
        { topic: 'in', partition: 1, offset: 7n },
      ],
      'billing',
    );
    await producer.commitTransaction();

    const [add] = addOffsets(cluster);
    expect(addOffsets(cluster)).toHaveLength(1);
    expect(add).toMatchObject({ transactionalId: TXN_ID, producerId: 1000n, producerEpoch: 0, groupId: 'billing' });
    const groupFind = findCoordinators(cluster).filter((f) => f.keyType === 0);
    expect(groupFind).toMatchObject([{ keys: ['billing'] }]);
    expect(groupFind[0].seq).toBeGreaterThan(add.seq);
    const commits = txnOffsetCommits(cluster);
    expect(commits).toHaveLength(1);
    expect(commits[0]).toMatchObject({ version: 4, transactionalId: TXN_ID, groupId: 'billing', producerId: 1000n, producerEpoch: 0, generationId: -1, memberId: '' });
    expect(commits[0].topics).toMatchObject([{ name: 'in', partitions: [{ partitionIndex: 0, committedOffset: 42n }, { partitionIndex: 1, committedOffset: 7n }] }]);
    expect(commits[0].seq).toBeGreaterThan(groupFind[0].seq);
    const [end] = endTxns(cluster);
    expect(end).toMatchObject({ committed: true });
    expect(end.seq).toBeGreaterThan(commits[0].seq);
  });

  it('transactions v2: only TxnOffsetCommit v5 (it adds the group), with the consumer group metadata as given; a transaction of offsets alone still ends with EndTxn', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 }, transactionVersion: 2 });
    const producer = transactionalProducer(cluster);
    await producer.initTransactions();
    producer.beginTransaction();
    await producer.sendOffsetsToTransaction([{ topic: 'in', partition: 3, offset: 100, leaderEpoch: 4, metadata: 'm' }], {
      groupId: 'billing',
      generationId: 7,
      memberId: 'member-1',
      groupInstanceId: 'instance-1',
    });
    await producer.commitTransaction();

    expect(cluster.requestsOf('AddOffsetsToTxn')).toEqual([]);
    const commits = txnOffsetCommits(cluster);
    expect(commits).toHaveLength(1);
    expect(commits[0]).toMatchObject({ version: 5, groupId: 'billing', generationId: 7, memberId: 'member-1', groupInstanceId: 'instance-1' });
    expect(commits[0].topics).toMatchObject([{ name: 'in', partitions: [{ partitionIndex: 3, committedOffset: 100n, committedLeaderEpoch: 4, committedMetadata: 'm' }] }]);
    const [end] = endTxns(cluster);
    expect(end).toMatchObject({ committed: true, version: 5 });
    expect(end.seq).toBeGreaterThan(commits[0].seq);
  });
});

describe.each(GENERATIONS)('commit and abort, $name', ({ transactionVersion, tv2 }) => {
  it('commitTransaction flushes first: every record is in a Produce request before EndTxn, and every send() resolved before EndTxn is sent', async () => {
    const cluster = transactionCluster({ topics: { orders: 2 }, transactionVersion });
    // records stay in the accumulator until something flushes them
    const producer = transactionalProducer(cluster, { lingerMs: 60_000 });
    await producer.initTransactions();
    producer.beginTransaction();
    const values = ['v0', 'v1', 'v2', 'v3', 'v4', 'v5'];
    const sends = values.map((value, i) => track(producer.send({ topic: 'orders', partition: i % 2, value })));
    await turns(5);
    expect(cluster.produceRequests()).toEqual([]);

    const hold = cluster.hold({ api: 'EndTxn' });
    const commit = track(producer.commitTransaction());
    await hold.waitForHeld(1);
    expect(sends.map((s) => s.state)).toEqual(values.map(() => 'fulfilled'));
    expect(commit.state).toBe('pending');
    hold.release();
    await cluster.waitForSettled([commit]);
    expect(commit.state).toBe('fulfilled');

    const [end] = endTxns(cluster);
    expect(values.every((v) => produceSeqOf(cluster, v) < end.seq)).toBe(true);
    expect([...cluster.log('orders', 0), ...cluster.log('orders', 1)].sort()).toEqual(values);
  });

  it('a transaction with nothing in it ends without EndTxn', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 }, transactionVersion });
    const producer = transactionalProducer(cluster);
    const ends: TransactionEnd[] = [];
    producer.onTransactionEnd((e) => ends.push(e));
    await producer.initTransactions();
    producer.beginTransaction();
    await producer.commitTransaction();
    producer.beginTransaction();
    await producer.abortTransaction();
    expect(cluster.requestsOf('EndTxn')).toEqual([]);
    expect(producer.transactionState).toBe('READY');
    expect(ends.map((e) => e.outcome)).toEqual(['committed', 'aborted']);
  });

  it('abortTransaction fails the records not yet sent with TransactionAbortedError, reports them as delivery errors, sends EndTxn(abort) and reports the abort', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 }, transactionVersion });
    const producer = transactionalProducer(cluster, { lingerMs: 60_000 });
    const failures: DeliveryFailure[] = [];
    const ends: TransactionEnd[] = [];
    producer.onDeliveryError((f) => failures.push(f));
    producer.onTransactionEnd((e) => ends.push(e));
    await producer.initTransactions();
    producer.beginTransaction();
    const written = producer.send({ topic: 'orders', partition: 0, value: 'written' });
    await producer.flush();
    await written;
    const queued = ['q0', 'q1', 'q2'].map((value) => track(producer.send({ topic: 'orders', partition: 0, value })));
    await producer.abortTransaction();

    expect(queued.map((q) => q.state)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(queued.every((q) => q.error instanceof TransactionAbortedError)).toBe(true);
    expect(failures).toHaveLength(3);
    expect(failures.every((f) => f.topic === 'orders' && f.partition === 0 && f.error instanceof TransactionAbortedError)).toBe(true);
    expect(cluster.log('orders', 0)).toEqual(['written']);
    expect(endTxns(cluster)).toMatchObject([{ committed: false, producerEpoch: 0 }]);
    expect(ends).toEqual([{ transactionalId: TXN_ID, outcome: 'aborted', error: null }]);
    expect(producer.transactionState).toBe('READY');

    // the producer goes on with a new transaction
    producer.beginTransaction();
    const next = producer.send({ topic: 'orders', partition: 0, value: 'next' });
    await producer.commitTransaction();
    await next;
    expect(cluster.log('orders', 0)).toEqual(['written', 'next']);
    const last = producedBatches(cluster).at(-1)!;
    // v2: the abort's EndTxn bumped the epoch; v1: same epoch, the sequence goes on
    expect([last.epoch, last.baseSequence]).toEqual(tv2 ? [1, 0] : [0, 1]);
    expect(ends.map((e) => e.outcome)).toEqual(['aborted', 'committed']);
  });

  it('abortTransaction lets the records already in a request complete, then sends EndTxn(abort) after them', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 }, transactionVersion });
    const producer = transactionalProducer(cluster);
    await producer.initTransactions();
    producer.beginTransaction();
    const hold = cluster.hold({ api: 'Produce' });
    const inFlight = track(producer.send({ topic: 'orders', value: 'in-flight' }));
    await hold.waitForHeld(1);
    const abort = track(producer.abortTransaction());
    await turns(5);
    expect(cluster.requestsOf('EndTxn')).toEqual([]);
    hold.release();
    await cluster.waitForSettled([abort]);
    expect(abort.state).toBe('fulfilled');
    // the broker wrote it: its promise resolves, and the abort marker makes it invisible to read_committed readers
    expect(inFlight.state).toBe('fulfilled');
    const [end] = endTxns(cluster);
    expect(end).toMatchObject({ committed: false });
    expect(end.seq).toBeGreaterThan(produceSeqOf(cluster, 'in-flight'));
  });

  it('onTransactionEnd reports each commit with the transactionalId', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 }, transactionVersion });
    const producer = transactionalProducer(cluster);
    const ends: TransactionEnd[] = [];
    producer.onTransactionEnd((e) => ends.push(e));
    await producer.initTransactions();
    for (let i = 0; i < 2; i++) {
      producer.beginTransaction();
      await producer.send({ topic: 'orders', value: `t${i}` });
      expect(ends).toHaveLength(i);
      await producer.commitTransaction();
    }
    expect(ends).toEqual([
      { transactionalId: TXN_ID, outcome: 'committed', error: null },
      { transactionalId: TXN_ID, outcome: 'committed', error: null },
    ]);
  });
});

describe('coordinator answers that are retried or abort the transaction', () => {
  it('EndTxn answered CONCURRENT_TRANSACTIONS or NOT_COORDINATOR is sent again (to a coordinator found again) and the commit completes', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 } });
    cluster.scriptApi('EndTxn', 51, 16);
    const producer = transactionalProducer(cluster);
    await producer.initTransactions();
    producer.beginTransaction();
    await producer.send({ topic: 'orders', value: 'a' });
    await producer.commitTransaction();
    const ends = endTxns(cluster);
    expect(ends.map((e) => e.committed)).toEqual([true, true, true]);
    const finds = findCoordinators(cluster).map((f) => f.seq);
    expect(finds.filter((f) => f > ends[1].seq && f < ends[2].seq)).toHaveLength(1);
    expect(producer.transactionState).toBe('READY');
  });

  it('TxnOffsetCommit answered NOT_COORDINATOR goes to a group coordinator found again', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 } });
    cluster.scriptApi('TxnOffsetCommit', 16);
    const producer = transactionalProducer(cluster);
    await producer.initTransactions();
    producer.beginTransaction();
    await producer.sendOffsetsToTransaction([{ topic: 'in', partition: 0, offset: 9 }], 'billing');
    await producer.commitTransaction();
    const commits = txnOffsetCommits(cluster);
    expect(commits).toHaveLength(2);
    const groupFinds = findCoordinators(cluster).filter((f) => f.keyType === 0);
    expect(groupFinds).toHaveLength(2);
    expect(groupFinds[1].seq).toBeGreaterThan(commits[0].seq);
    expect(groupFinds[1].seq).toBeLessThan(commits[1].seq);
  });

  it.each(GENERATIONS)('TxnOffsetCommit answered UNKNOWN_MEMBER_ID makes sendOffsetsToTransaction reject as abortable ($name); abort works', async ({ transactionVersion }) => {
    const cluster = transactionCluster({ topics: { orders: 1 }, transactionVersion });
    cluster.scriptApi('TxnOffsetCommit', 25);
    const producer = transactionalProducer(cluster);
    await producer.initTransactions();
    producer.beginTransaction();
    const error = await rejection(producer.sendOffsetsToTransaction([{ topic: 'in', partition: 0, offset: 9 }], { groupId: 'billing', generationId: 3, memberId: 'gone' }));
    expect(error).toBeInstanceOf(TransactionAbortableError);
    expect((error as TransactionAbortableError).cause).toMatchObject({ errorCode: 25 });
    expect(producer.transactionState).toBe('ABORTABLE_ERROR');
    expect(await rejection(producer.commitTransaction())).toBeInstanceOf(TransactionAbortableError);
    await producer.abortTransaction();
    expect(producer.transactionState).toBe('READY');
    expect(endTxns(cluster)).toMatchObject([{ committed: false }]);
  });

  it('transactions v1: AddOffsetsToTxn answered GROUP_AUTHORIZATION_FAILED is abortable, and no TxnOffsetCommit is sent', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 }, transactionVersion: 0 });
    cluster.scriptApi('AddOffsetsToTxn', 30);
    const producer = transactionalProducer(cluster);
    await producer.initTransactions();
    producer.beginTransaction();
    const error = await rejection(producer.sendOffsetsToTransaction([{ topic: 'in', partition: 0, offset: 9 }], 'billing'));
    expect(error).toBeInstanceOf(TransactionAbortableError);
    expect(error.message).toContain('billing');
    expect(cluster.requestsOf('TxnOffsetCommit')).toEqual([]);
    expect(producer.transactionState).toBe('ABORTABLE_ERROR');
    await producer.abortTransaction();
    expect(producer.transactionState).toBe('READY');
  });

  it('transactions v1: AddPartitionsToTxn answered CONCURRENT_TRANSACTIONS is sent again; TOPIC_AUTHORIZATION_FAILED fails the records as abortable', async () => {
    const cluster = transactionCluster({ topics: { orders: 1, secret: 1 }, transactionVersion: 0 });
    cluster.scriptApi('AddPartitionsToTxn', 51);
    const producer = transactionalProducer(cluster);
    await producer.initTransactions();
    producer.beginTransaction();
    await producer.send({ topic: 'orders', value: 'a' });
    expect(addPartitionRequests(cluster).map((a) => a.partitions)).toEqual([['orders-0'], ['orders-0']]);

    cluster.scriptApi('AddPartitionsToTxn', 29);
    const denied = await rejection(producer.send({ topic: 'secret', value: 's' }));
    expect(denied).toBeInstanceOf(TransactionAbortableError);
    expect(denied.message).toContain('secret');
    expect(producer.transactionState).toBe('ABORTABLE_ERROR');
    expect(cluster.log('secret', 0)).toEqual([]);
    await producer.abortTransaction();
    expect(producer.transactionState).toBe('READY');
  });
});

describe('blocking calls bounded by maxBlockMs', () => {
  /** Long enough that only a held request outlives it, on a loaded machine too. */
  const OUTLIVED_BLOCK_MS = 1000;

  it('a commit that times out can be called again and completes once; other transactional calls are refused meanwhile', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 } });
    const producer = transactionalProducer(cluster, { maxBlockMs: 100 });
    await producer.initTransactions();
    producer.beginTransaction();
    await producer.send({ topic: 'orders', value: 'a' });
    const hold = cluster.hold({ api: 'EndTxn' });
    const timedOut = await rejection(producer.commitTransaction());
    expect(timedOut).toMatchObject({ code: 'TIMEOUT' });
    expect(timedOut.message).toMatch(/commitTransaction\(\) again/);
    expect(producer.transactionState).toBe('COMMITTING_TRANSACTION');
    const abort = await rejection(producer.abortTransaction());
    expect(abort).toBeInstanceOf(InvalidTransactionStateError);
    expect(abort.message).toMatch(/commitTransaction\(\) has not completed/);
    expect(await rejection(producer.send({ topic: 'orders', value: 'b' }))).toBeInstanceOf(InvalidTransactionStateError);

    const again = producer.commitTransaction();
    hold.release();
    await again;
    expect(producer.transactionState).toBe('READY');
    expect(endTxns(cluster)).toHaveLength(1);
  });

  it('transaction(fn) whose commit outlives maxBlockMs rejects with the timeout; the next transaction() waits for that commit to finish, then runs', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 } });
    const producer = transactionalProducer(cluster, { maxBlockMs: OUTLIVED_BLOCK_MS });
    await producer.initTransactions();
    const hold = cluster.hold({ api: 'EndTxn' });
    const first = await rejection(producer.transaction(async (tx) => tx.send({ topic: 'orders', value: 'a' })));
    expect(first).toMatchObject({ code: 'TIMEOUT' });
    expect(producer.transactionState).toBe('COMMITTING_TRANSACTION');

    const second = track(producer.transaction(async (tx) => tx.send({ topic: 'orders', value: 'b' })));
    await turns(5);
    expect(second.state).toBe('pending');
    hold.release();
    await cluster.waitForSettled([second]);
    expect(second.error).toBeUndefined();
    expect(endTxns(cluster)).toMatchObject([{ committed: true }, { committed: true }]);
    expect(cluster.log('orders', 0)).toEqual(['a', 'b']);
    expect(producer.transactionState).toBe('READY');
  });

  it('transaction(fn) whose commit outlives maxBlockMs and then fails abortably: the next transaction() aborts that one and commits its own', async () => {
    const TRANSACTION_ABORTABLE = 120;
    const cluster = transactionCluster({ topics: { orders: 1 } });
    const producer = transactionalProducer(cluster, { maxBlockMs: OUTLIVED_BLOCK_MS });
    const ends: TransactionEnd[] = [];
    producer.onTransactionEnd((e) => ends.push(e));
    await producer.initTransactions();
    cluster.scriptApi('EndTxn', TRANSACTION_ABORTABLE);
    const hold = cluster.hold({ api: 'EndTxn' });
    expect(await rejection(producer.transaction(async (tx) => tx.send({ topic: 'orders', value: 'a' })))).toMatchObject({ code: 'TIMEOUT' });
    hold.release();
    await cluster.waitUntil(() => producer.transactionState === 'ABORTABLE_ERROR', 'the commit to fail abortably');

    await producer.transaction(async (tx) => tx.send({ topic: 'orders', value: 'b' }));
    expect(endTxns(cluster)).toMatchObject([{ committed: true }, { committed: false }, { committed: true }]);
    expect(ends.map((e) => e.outcome)).toEqual(['aborted', 'committed']);
    expect(producer.transactionState).toBe('READY');
  });

  it('transaction(fn) whose abort (fn threw) outlives maxBlockMs: the next transaction() waits for the abort, then runs', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 } });
    const producer = transactionalProducer(cluster, { maxBlockMs: OUTLIVED_BLOCK_MS, logger: { warn: () => undefined } });
    await producer.initTransactions();
    const hold = cluster.hold({ api: 'EndTxn' });
    const boom = new Error('fn failed');
    const first = await rejection(
      producer.transaction(async (tx) => {
        await tx.send({ topic: 'orders', value: 'a' });
        throw boom;
      }),
    );
    expect(first).toBe(boom);
    expect(producer.transactionState).toBe('ABORTING_TRANSACTION');

    const second = track(producer.transaction(async (tx) => tx.send({ topic: 'orders', value: 'b' })));
    await turns(5);
    expect(second.state).toBe('pending');
    hold.release();
    await cluster.waitForSettled([second]);
    expect(second.error).toBeUndefined();
    expect(endTxns(cluster)).toMatchObject([{ committed: false }, { committed: true }]);
  });
});

describe('close() after a commit outlived maxBlockMs', () => {
  const OUTLIVED_BLOCK_MS = 1000;

  it('waits for that commit to finish before closing the connections, rather than cutting its EndTxn off', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 } });
    const producer = transactionalProducer(cluster, { maxBlockMs: OUTLIVED_BLOCK_MS });
    const ends: TransactionEnd[] = [];
    producer.onTransactionEnd((e) => ends.push(e));
    await producer.initTransactions();
    producer.beginTransaction();
    await producer.send({ topic: 'orders', value: 'a' });
    const hold = cluster.hold({ api: 'EndTxn' });
    expect(await rejection(producer.commitTransaction())).toMatchObject({ code: 'TIMEOUT' });
    const closing = track(producer.close());
    await turns(5);
    expect(closing.state).toBe('pending');
    expect(cluster.closeCalls).toBe(0);
    hold.release();
    await cluster.waitForSettled([closing]);
    expect(closing.state).toBe('fulfilled');
    expect(endTxns(cluster)).toMatchObject([{ committed: true }]);
    expect(cluster.requestsOf('EndTxn')[0].state).toBe('answered');
    expect(ends.map((e) => e.outcome)).toEqual(['committed']);
  });
});

describe('fencing', () => {
  const cases = [
    ...GENERATIONS.flatMap((g) => [
      { g, where: 'Produce', code: 90, name: 'PRODUCER_FENCED' },
      { g, where: 'Produce', code: 47, name: 'INVALID_PRODUCER_EPOCH' },
      { g, where: 'EndTxn', code: 90, name: 'PRODUCER_FENCED' },
      { g, where: 'EndTxn', code: 47, name: 'INVALID_PRODUCER_EPOCH' },
    ]),
    { g: GENERATIONS[0], where: 'AddPartitionsToTxn', code: 90, name: 'PRODUCER_FENCED' },
    { g: GENERATIONS[0], where: 'AddPartitionsToTxn', code: 47, name: 'INVALID_PRODUCER_EPOCH' },
  ] as const;

  it.each(cases)('$name in answer to $where ($g.name) makes the producer fatal: ProducerFencedError on every later call', async ({ g, where, code }) => {
    const cluster = transactionCluster({ topics: { orders: 1 }, transactionVersion: g.transactionVersion });
    const producer = transactionalProducer(cluster);
    await producer.initTransactions();
    producer.beginTransaction();
    let fenced: Error;
    if (where === 'Produce') {
      cluster.scriptPartition('orders', 0, { errorCode: code });
      fenced = await rejection(producer.send({ topic: 'orders', value: 'x' }));
    } else if (where === 'AddPartitionsToTxn') {
      cluster.scriptApi('AddPartitionsToTxn', code);
      fenced = await rejection(producer.send({ topic: 'orders', value: 'x' }));
      expect(cluster.produceRequests()).toEqual([]);
    } else {
      cluster.scriptApi('EndTxn', code);
      await producer.send({ topic: 'orders', value: 'x' });
      fenced = await rejection(producer.commitTransaction());
    }
    expect(fenced).toBeInstanceOf(ProducerFencedError);
    expect(fenced.message).toContain(TXN_ID);
    expect(producer.transactionState).toBe('FATAL_ERROR');
    expect(producer.health().state).toBe('fatal');
    expect(producer.health().lastError).toBeInstanceOf(ProducerFencedError);
    for (const [name, call] of Object.entries(everyCall(producer))) {
      const error = await call();
      expect([name, error instanceof ProducerFencedError]).toEqual([name, true]);
    }
    // a fenced producer sends no more requests
    const count = cluster.requests.filter((r) => r.api !== 'Metadata').length;
    await sleep(20);
    expect(cluster.requests.filter((r) => r.api !== 'Metadata')).toHaveLength(count);
  });
});

describe.each(GENERATIONS)('abortable errors, $name', ({ transactionVersion, tv2 }) => {
  it('a record that fails for good puts the transaction in ABORTABLE_ERROR: later sends and commit reject, abort works, and the next transaction starts clean', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 }, transactionVersion });
    const producer = transactionalProducer(cluster);
    await producer.initTransactions();
    producer.beginTransaction();
    await producer.send({ topic: 'orders', value: 'ok' });
    cluster.scriptPartition('orders', 0, { errorCode: INVALID_RECORD, message: 'bad record on purpose' });
    const bad = await rejection(producer.send({ topic: 'orders', value: 'bad' }));
    expect(bad).toMatchObject({ errorCode: INVALID_RECORD });
    expect(producer.transactionState).toBe('ABORTABLE_ERROR');

    const later = await rejection(producer.send({ topic: 'orders', value: 'later' }));
    expect(later).toBeInstanceOf(TransactionAbortableError);
    const commit = await rejection(producer.commitTransaction());
    expect(commit).toBeInstanceOf(TransactionAbortableError);
    expect(commit.message).toContain('bad record on purpose');
    expect(producer.transactionState).toBe('ABORTABLE_ERROR');
    expect(cluster.requestsOf('EndTxn')).toEqual([]);

    await producer.abortTransaction();
    expect(producer.transactionState).toBe('READY');
    expect(endTxns(cluster)).toMatchObject([{ committed: false, producerEpoch: 0 }]);
    // the failed batch left a gap in the sequences: v1 bumps the epoch with InitProducerId, v2's EndTxn did
    const inits = initProducerIds(cluster);
    if (tv2) expect(inits).toHaveLength(1);
    else expect(inits.slice(1)).toMatchObject([{ transactionalId: TXN_ID, producerId: 1000n, producerEpoch: 0 }]);
    expect(producer.health().producerId).toEqual({ producerId: '1000', producerEpoch: 1 });

    producer.beginTransaction();
    await producer.send({ topic: 'orders', value: 'next' });
    await producer.commitTransaction();
    const last = producedBatches(cluster).at(-1)!;
    expect([last.values, last.epoch, last.baseSequence]).toEqual([['next'], 1, 0]);
    expect(endTxns(cluster).at(-1)).toMatchObject({ committed: true, producerEpoch: 1 });
  });

  it('a record failing while commit flushes makes commit reject with TransactionAbortableError; abort then works', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 }, transactionVersion });
    const producer = transactionalProducer(cluster, { lingerMs: 60_000 });
    await producer.initTransactions();
    producer.beginTransaction();
    cluster.scriptPartition('orders', 0, { errorCode: INVALID_RECORD });
    const record = track(producer.send({ topic: 'orders', value: 'doomed' }));
    const commit = await rejection(producer.commitTransaction());
    expect(commit).toBeInstanceOf(TransactionAbortableError);
    expect((commit as TransactionAbortableError).cause).toMatchObject({ errorCode: INVALID_RECORD });
    expect(record.state).toBe('rejected');
    expect(producer.transactionState).toBe('ABORTABLE_ERROR');
    expect(cluster.requestsOf('EndTxn')).toEqual([]);
    await producer.abortTransaction();
    expect(producer.transactionState).toBe('READY');
    expect(endTxns(cluster)).toMatchObject([{ committed: false }]);
  });
});

// Regression: an abort used to drop partitions whose AddPartitionsToTxn was in flight, so no EndTxn went out
// and the partition stayed half-added for good.
describe('transactions v1: an abort while AddPartitionsToTxn is in flight', () => {
  /** Sends one record in a new transaction and aborts while its AddPartitionsToTxn is held; the record must fail as aborted. */
  const abortWhileAddPartitionsInFlight = async (cluster: ReturnType<typeof transactionCluster>, producer: ReturnType<typeof transactionalProducer>): Promise<void> => {
    await producer.initTransactions();
    producer.beginTransaction();
    const hold = cluster.hold({ api: 'AddPartitionsToTxn' });
    const record = track(producer.send({ topic: 'orders', value: 'never-sent' }));
    await hold.waitForHeld(1);
    const abort = producer.abortTransaction();
    hold.release();
    await abort;
    expect(record.error).toBeInstanceOf(TransactionAbortedError);
  };

  it('still ends the transaction at the coordinator, which added the partition (Java sends EndTxn(abort) once the add is answered)', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 }, transactionVersion: 0 });
    const producer = transactionalProducer(cluster);
    await abortWhileAddPartitionsInFlight(cluster, producer);
    expect(cluster.produceRequests()).toEqual([]);
    expect(endTxns(cluster)).toMatchObject([{ committed: false }]);
  });

  it('leaves the partition usable: the next transaction adds it again and delivers to it', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 }, transactionVersion: 0 });
    const producer = transactionalProducer(cluster, { requestTimeoutMs: 400, deliveryTimeoutMs: 800 });
    await abortWhileAddPartitionsInFlight(cluster, producer);

    producer.beginTransaction();
    const next = track(producer.send({ topic: 'orders', value: 'next' }));
    await cluster.waitForSettled([next], 3_000);
    expect(next.error).toBeUndefined();
    expect(addPartitionRequests(cluster).map((a) => a.partitions)).toEqual([['orders-0'], ['orders-0']]);
    await producer.commitTransaction();
    expect(cluster.log('orders', 0)).toEqual(['next']);
  });
});

describe.each(GENERATIONS)('transaction(fn), $name', ({ transactionVersion }) => {
  it("initializes on first use, commits when fn resolves and returns fn's result; records fn did not await are committed too", async () => {
    const cluster = transactionCluster({ topics: { orders: 1 }, transactionVersion });
    // records stay queued until the commit flushes them
    const producer = transactionalProducer(cluster, { lingerMs: 60_000 });
    const sends: Array<ReturnType<typeof track>> = [];
    const first = await producer.transaction((tx) => {
      expect(tx.transactionalId).toBe(TXN_ID);
      expect(producer.transactionState).toBe('IN_TRANSACTION');
      sends.push(track(tx.send({ topic: 'orders', value: 'unawaited-0' })), track(tx.send({ topic: 'orders', value: 'unawaited-1' })));
      return { answer: 42 };
    });
    expect(first).toEqual({ answer: 42 });
    expect(sends.map((s) => s.state)).toEqual(['fulfilled', 'fulfilled']);
    const second = await producer.transaction(async (tx) => {
      const sent = tx.send({ topic: 'orders', value: 'second' });
      await producer.flush();
      return (await sent).offset;
    });
    expect(second).toBe(2n);
    expect(cluster.log('orders', 0)).toEqual(['unawaited-0', 'unawaited-1', 'second']);
    expect(initProducerIds(cluster)).toHaveLength(1);
    expect(endTxns(cluster).map((e) => e.committed)).toEqual([true, true]);
    expect(producer.transactionState).toBe('READY');
  });

  it('joins an initTransactions() the application started and did not await, rather than failing in INITIALIZING', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 }, transactionVersion });
    const producer = transactionalProducer(cluster);
    const hold = cluster.hold({ api: 'InitProducerId' });
    const init = track(producer.initTransactions());
    await hold.waitForHeld(1);
    const run = track(producer.transaction((tx) => tx.send({ topic: 'orders', value: 'after-init' })));
    hold.release();
    await cluster.waitForSettled([init, run]);
    expect([init.state, run.state]).toEqual(['fulfilled', 'fulfilled']);
    expect(initProducerIds(cluster)).toHaveLength(1);
    expect(cluster.log('orders', 0)).toEqual(['after-init']);
  });

  it('aborts when fn throws and rethrows the very same error; the next transaction() commits', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 }, transactionVersion });
    const producer = transactionalProducer(cluster);
    const ends: TransactionEnd[] = [];
    producer.onTransactionEnd((e) => ends.push(e));
    const boom = new Error('the handler failed');
    const error = await rejection(
      producer.transaction(async (tx) => {
        await tx.send({ topic: 'orders', value: 'rolled-back' });
        throw boom;
      }),
    );
    expect(error).toBe(boom);
    expect(endTxns(cluster)).toMatchObject([{ committed: false }]);
    expect(ends.map((e) => e.outcome)).toEqual(['aborted']);
    expect(producer.transactionState).toBe('READY');

    await producer.transaction((tx) => tx.send({ topic: 'orders', value: 'kept' }));
    expect(endTxns(cluster).map((e) => e.committed)).toEqual([false, true]);
    expect(ends.map((e) => e.outcome)).toEqual(['aborted', 'committed']);
  });

  it('a commit that fails (a record of fn failed) aborts the transaction and rejects with the commit error', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 }, transactionVersion });
    const producer = transactionalProducer(cluster, { lingerMs: 60_000 });
    cluster.scriptPartition('orders', 0, { errorCode: INVALID_RECORD });
    const error = await rejection(
      producer.transaction((tx) => {
        tx.send({ topic: 'orders', value: 'doomed' }).catch(() => undefined);
      }),
    );
    expect(error).toBeInstanceOf(TransactionAbortableError);
    expect(endTxns(cluster)).toMatchObject([{ committed: false }]);
    expect(producer.transactionState).toBe('READY');
  });

  it('concurrent transaction() calls run one after another in call order: no record lands in another transaction', async () => {
    const cluster = transactionCluster({ topics: { orders: 2 }, transactionVersion });
    const producer = transactionalProducer(cluster);
    const events: string[] = [];
    const run = (name: string): Promise<string> =>
      producer.transaction(async (tx) => {
        events.push(`${name}:start`);
        for (let i = 0; i < 3; i++) {
          await tx.send({ topic: 'orders', partition: i % 2, value: `${name}${i}` });
          await sleep(2);
        }
        events.push(`${name}:end`);
        return name;
      });
    const results = await Promise.all([run('A'), run('B'), run('C')]);
    expect(results).toEqual(['A', 'B', 'C']);
    expect(events).toEqual(['A:start', 'A:end', 'B:start', 'B:end', 'C:start', 'C:end']);
    const ends = endTxns(cluster);
    expect(ends.map((e) => e.committed)).toEqual([true, true, true]);
    ['A', 'B', 'C'].forEach((name, k) => {
      for (let i = 0; i < 3; i++) {
        const seq = produceSeqOf(cluster, `${name}${i}`);
        expect([`${name}${i}`, seq > (k === 0 ? -1 : ends[k - 1].seq) && seq < ends[k].seq]).toEqual([`${name}${i}`, true]);
      }
    });
  });
});

describe('transaction(fn) queue and reporting', () => {
  it('a failing transaction() does not stop the ones queued after it', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 } });
    const producer = transactionalProducer(cluster);
    const boom = new Error('B failed');
    const a = track(producer.transaction((tx) => tx.send({ topic: 'orders', value: 'A' })));
    const b = track(
      producer.transaction(async (tx) => {
        await tx.send({ topic: 'orders', value: 'B' });
        throw boom;
      }),
    );
    const c = track(producer.transaction((tx) => tx.send({ topic: 'orders', value: 'C' })));
    await cluster.waitForSettled([a, b, c]);
    expect([a.state, b.state, c.state]).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(b.error).toBe(boom);
    expect(endTxns(cluster).map((e) => e.committed)).toEqual([true, false, true]);
    expect(a.settledAt! <= b.settledAt! && b.settledAt! <= c.settledAt!).toBe(true);
  });

  it("reports the error that made transaction(fn) abort on onTransactionEnd", async () => {
    const cluster = transactionCluster({ topics: { orders: 1 } });
    const producer = transactionalProducer(cluster);
    const ends: TransactionEnd[] = [];
    producer.onTransactionEnd((e) => ends.push(e));
    const boom = new Error('the handler failed');
    await rejection(
      producer.transaction(async (tx) => {
        await tx.send({ topic: 'orders', value: 'x' });
        throw boom;
      }),
    );
    expect(ends).toEqual([{ transactionalId: TXN_ID, outcome: 'aborted', error: boom }]);
  });
});

describe.each(GENERATIONS)('close(), $name', ({ transactionVersion }) => {
  it('with a transaction open aborts it (EndTxn committed=false) before the connections close; queued records fail as aborted', async () => {
    const cluster = transactionCluster({ topics: { orders: 1 }, transactionVersion });
    const producer = transactionalProducer(cluster, { lingerMs: 60_000 });
    const ends: TransactionEnd[] = [];
    producer.onTransactionEnd((e) => ends.push(e));
    await producer.initTransactions();
    producer.beginTransaction();
    const written = producer.send({ topic: 'orders', value: 'written' });
    await producer.flush();
    await written;
    const queued = track(producer.send({ topic: 'orders', value: 'queued' }));
    const hold = cluster.hold({ api: 'EndTxn' });
    const closing = track(producer.close());
    await hold.waitForHeld(1);
    expect(cluster.closeCalls).toBe(0);
    expect(closing.state).toBe('pending');
    hold.release();
    await cluster.waitForSettled([closing, queued]);
    expect(closing.state).toBe('fulfilled');
    expect(endTxns(cluster)).toMatchObject([{ committed: false }]);
    expect(cluster.requestsOf('EndTxn')[0].state).toBe('answered');
    expect(cluster.closeCalls).toBe(1);
    expect(queued.error).toBeInstanceOf(TransactionAbortedError);
    expect(cluster.log('orders', 0)).toEqual(['written']);
    expect(ends.map((e) => e.outcome)).toEqual(['aborted']);
    expect(ends[0].error).toBeInstanceOf(ProducerClosedError);
  });
});
