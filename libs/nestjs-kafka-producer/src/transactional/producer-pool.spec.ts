import { ProducerFencedError, type ProducerHealthSnapshot } from '@app/kafka-producer';
import { Test } from '@nestjs/testing';
import { KafkaProducerModule } from '../kafka-producer.module';
import { KafkaProducerService } from '../kafka-producer.service';
import { pickMember, poolHealth, poolMetrics } from './producer-pool';
import { KafkaTransactionRequiredException } from './transactional.exceptions';

function member(overrides: Partial<ProducerHealthSnapshot> = {}): ProducerHealthSnapshot {
  return {
    state: 'ready',
    connectedBrokers: [1],
    knownBrokers: 3,
    metadataAgeMs: 100,
    queuedRecords: 1,
    queuedBytes: 10,
    waitingRecords: 0,
    bufferAvailableBytes: 1000,
    bufferTotalBytes: 1000,
    inFlightRequests: 1,
    lastError: null,
    producerId: { producerId: '1', producerEpoch: 0 },
    transaction: { transactionalId: 'p-0', state: 'READY' },
    ...overrides,
  };
}

describe('a pool of transactional producers', () => {
  it("reads as its worst member: a fenced member makes the pool fatal, with that member's transaction and error; figures are summed, brokers united, metadata the stalest", () => {
    const fenced = new ProducerFencedError('newer producer with p-1');
    const snapshot = poolHealth([
      member({ connectedBrokers: [2, 1], metadataAgeMs: 50 }),
      member({ state: 'fatal', lastError: fenced, producerId: { producerId: '2', producerEpoch: 4 }, transaction: { transactionalId: 'p-1', state: 'FATAL_ERROR' }, connectedBrokers: [3] }),
      member({ metadataAgeMs: 900, transaction: { transactionalId: 'p-2', state: 'IN_TRANSACTION' } }),
    ]);
    expect(snapshot).toEqual({
      state: 'fatal',
      connectedBrokers: [1, 2, 3],
      knownBrokers: 3,
      metadataAgeMs: 900,
      queuedRecords: 3,
      queuedBytes: 30,
      waitingRecords: 0,
      bufferAvailableBytes: 3000,
      bufferTotalBytes: 3000,
      inFlightRequests: 3,
      lastError: fenced,
      producerId: { producerId: '2', producerEpoch: 4 },
      transaction: { transactionalId: 'p-1', state: 'FATAL_ERROR' },
    });
  });

  it('shows a member not yet initialized (UNINITIALIZED) over ready ones, and a single member as it is', () => {
    const ready = member();
    const fresh = member({ producerId: null, transaction: { transactionalId: 'p-1', state: 'UNINITIALIZED' } });
    expect(poolHealth([ready, fresh]).transaction).toEqual({ transactionalId: 'p-1', state: 'UNINITIALIZED' });
    expect(poolHealth([ready])).toBe(ready);
  });

  it('sums totals and rates, keeps the largest maximum and averages averages in its metrics', () => {
    const base = Object.fromEntries(Object.keys(metricNames()).map((k) => [k, 0])) as ReturnType<KafkaProducerService['metrics']>;
    const a = { ...base, 'record-send-total': 10, 'record-send-rate': 2, 'request-latency-max': 30, 'request-latency-avg': 10, 'bufferpool-wait-ratio': 0.2 };
    const b = { ...base, 'record-send-total': 5, 'record-send-rate': 1, 'request-latency-max': 50, 'request-latency-avg': 20, 'bufferpool-wait-ratio': 0.4 };
    const m = poolMetrics([a, b]);
    expect([m['record-send-total'], m['record-send-rate'], m['request-latency-max'], m['request-latency-avg'], m['bufferpool-wait-ratio']]).toEqual([15, 3, 50, 15, expect.closeTo(0.3)]);
  });

  it('gives a new transaction to the usable member with the least load, the lowest index on a tie, member 0 when none is usable', () => {
    expect(pickMember([0, 0, 0], () => true)).toBe(0);
    expect(pickMember([2, 1, 1], () => true)).toBe(1);
    expect(pickMember([0, 3, 1], (i) => i !== 0)).toBe(2);
    expect(pickMember([1, 1], () => false)).toBe(0);
  });
});

/** Every metric name, from a producer built for that only (never connected). */
function metricNames(): Record<string, number> {
  const service = new KafkaProducerService('probe', { bootstrapServers: ['127.0.0.1:1'] });
  const metrics = service.metrics();
  void service.producer.close({ timeoutMs: 0 });
  return metrics;
}

describe('KafkaProducerModule with transactionalIdPrefix and transactionPoolSize', () => {
  it('builds one transactional producer per member, ids and clientIds suffixed -0 … -n, sharing the rest of the options', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [KafkaProducerModule.forRoot({ bootstrapServers: ['127.0.0.1:1'], clientId: 'ship', transactionalIdPrefix: 'ship-tx', transactionPoolSize: 3, lingerMs: 7 })],
    }).compile();
    const service = moduleRef.get(KafkaProducerService);
    try {
      expect(service.producers.map((p) => [p.config.transactionalId, p.config.clientId, p.config.lingerMs])).toEqual([
        ['ship-tx-0', 'ship-0', 7],
        ['ship-tx-1', 'ship-1', 7],
        ['ship-tx-2', 'ship-2', 7],
      ]);
      expect([service.producer, service.transactionalId, service.memberHealth().length]).toEqual([service.producers[0], 'ship-tx', 3]);
      expect(service.health().transaction).toEqual({ transactionalId: 'ship-tx-0', state: 'UNINITIALIZED' });
      await expect(service.send({ topic: 't', value: 'v' })).rejects.toThrow(KafkaTransactionRequiredException);
    } finally {
      await Promise.all(service.producers.map((p) => p.close({ timeoutMs: 0 })));
    }
  });

  it.each([
    [{ transactionalIdPrefix: 'a', transactionalId: 'b' }, 'transactionalIdPrefix and transactionalId exclude each other: a pool names its members <prefix>-0, <prefix>-1, ... itself'],
    [{ transactionPoolSize: 2 }, 'transactionPoolSize needs transactionalIdPrefix (the members are named <prefix>-0, <prefix>-1, ...)'],
    [{ transactionalIdPrefix: 'a', transactionPoolSize: 0 }, 'transactionPoolSize must not be less than 1'],
    [{ transactionalIdPrefix: 'a', transactionPoolSize: 65 }, 'transactionPoolSize must not be greater than 64'],
    [{ transactionalIdPrefix: '' }, 'transactionalIdPrefix must be a non-empty string'],
    [{ transactionalIdPrefix: 'a', acks: 0 as const }, 'acks must be all (got 0): a transactional producer (transactionalId) is idempotent'],
  ])('refuses %j at boot: %s', async (options, message) => {
    const compiled = Test.createTestingModule({ imports: [KafkaProducerModule.forRoot({ bootstrapServers: ['127.0.0.1:1'], ...options })] }).compile();
    await expect(compiled).rejects.toMatchObject({ problems: [message] });
  });
});
