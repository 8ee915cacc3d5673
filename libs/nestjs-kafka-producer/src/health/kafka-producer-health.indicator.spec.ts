import 'reflect-metadata';
import { KafkaError, ProducerFencedError, type ProducerHealthSnapshot } from '@app/kafka-producer';
import { Injectable, Module, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { getKafkaProducerToken } from '../inject-kafka-producer.decorator';
import { KafkaProducerHealthIndicator } from './kafka-producer-health.indicator';
import { InjectKafkaProducerHealthIndicator, KafkaProducerHealthModule } from './kafka-producer-health.module';

function snapshot(overrides: Partial<ProducerHealthSnapshot> = {}): ProducerHealthSnapshot {
  return {
    state: 'ready',
    connectedBrokers: [1],
    knownBrokers: 1,
    metadataAgeMs: 1200,
    queuedRecords: 3,
    queuedBytes: 300,
    waitingRecords: 0,
    bufferAvailableBytes: 30_000_000,
    bufferTotalBytes: 33_554_432,
    inFlightRequests: 1,
    lastError: null,
    producerId: null,
    transaction: null,
    ...overrides,
  };
}

/** A stand-in for the producer: health() returns whatever the test put there, and counts its calls. */
class FakeProducer {
  current: ProducerHealthSnapshot = snapshot();
  reads = 0;
  health(): ProducerHealthSnapshot {
    this.reads++;
    return this.current;
  }
}

async function indicatorFor(name?: string): Promise<{ indicator: KafkaProducerHealthIndicator; producer: FakeProducer }> {
  const producer = new FakeProducer();
  @Module({ providers: [{ provide: getKafkaProducerToken(name), useValue: producer }], exports: [getKafkaProducerToken(name)] })
  class ProducerModule {}
  const moduleRef = await Test.createTestingModule({ imports: [KafkaProducerHealthModule.forProducer(name, { imports: [ProducerModule] })] }).compile();
  return { indicator: moduleRef.get<KafkaProducerHealthIndicator>(name === undefined ? KafkaProducerHealthIndicator : `KafkaProducerHealthIndicator:${name}`), producer };
}

describe('KafkaProducerHealthIndicator', () => {
  it('is up with the figures while a broker connection is ready and the producer is ready', async () => {
    const { indicator } = await indicatorFor();
    const result = indicator.isHealthy('kafka');
    expect(result).toEqual({
      kafka: {
        status: 'up',
        state: 'ready',
        connectedBrokers: [1],
        knownBrokers: 1,
        metadataAgeMs: 1200,
        queuedRecords: 3,
        queuedBytes: 300,
        waitingRecords: 0,
        bufferAvailableBytes: 30_000_000,
        bufferTotalBytes: 33_554_432,
        inFlightRequests: 1,
        lastError: null,
        producerId: null,
        transaction: null,
      },
    });
  });

  it('shows the producer id and the transaction state of a transactional producer', async () => {
    const { indicator, producer } = await indicatorFor();
    producer.current = snapshot({
      producerId: { producerId: '4001', producerEpoch: 3 },
      transaction: { transactionalId: 'orders-1', state: 'IN_TRANSACTION' },
    });
    const details = indicator.isHealthy('kafka').kafka;
    expect(details.producerId).toEqual({ producerId: '4001', producerEpoch: 3 });
    expect(details.transaction).toEqual({ transactionalId: 'orders-1', state: 'IN_TRANSACTION' });
  });

  it('is down once a transactional producer is fenced: fatal state, FATAL_ERROR transactions, the error named, and a reason saying it must be recreated', async () => {
    const { indicator, producer } = await indicatorFor();
    producer.current = snapshot({
      state: 'fatal',
      lastError: new ProducerFencedError('there is a newer producer with the same transactionalId'),
      producerId: { producerId: '7', producerEpoch: 3 },
      transaction: { transactionalId: 'orders-1', state: 'FATAL_ERROR' },
    });
    expect(indicator.isHealthy('kafka').kafka).toMatchObject({
      status: 'down',
      state: 'fatal',
      transaction: { transactionalId: 'orders-1', state: 'FATAL_ERROR' },
      lastError: { name: 'ProducerFencedError', code: 'PRODUCER_FENCED', message: 'there is a newer producer with the same transactionalId' },
      reasons: ['producer is fatal', 'transactions of orders-1 failed fatally (FATAL_ERROR: ProducerFencedError); the producer must be recreated'],
    });
  });

  it('lists the members of a transaction pool in the details, next to the aggregate the checks read', () => {
    const members = [
      snapshot({ producerId: { producerId: '5', producerEpoch: 0 }, transaction: { transactionalId: 'ship-0', state: 'READY' } }),
      snapshot({ state: 'fatal', lastError: new ProducerFencedError('fenced'), producerId: { producerId: '6', producerEpoch: 2 }, transaction: { transactionalId: 'ship-1', state: 'FATAL_ERROR' } }),
    ];
    const pool = { health: () => members[1], memberHealth: () => members };
    const indicator = new KafkaProducerHealthIndicator(new HealthIndicatorService(), pool);
    expect(indicator.isHealthy('kafka').kafka).toMatchObject({
      status: 'down',
      transaction: { transactionalId: 'ship-1', state: 'FATAL_ERROR' },
      pool: [
        { transactionalId: 'ship-0', state: 'ready', transactionState: 'READY', producerId: '5' },
        { transactionalId: 'ship-1', state: 'fatal', transactionState: 'FATAL_ERROR', producerId: '6' },
      ],
    });
  });

  it('stays up between and during transactions (READY, IN_TRANSACTION) and after an aborted one', async () => {
    const { indicator, producer } = await indicatorFor();
    for (const state of ['READY', 'IN_TRANSACTION', 'ABORTABLE_ERROR'] as const) {
      producer.current = snapshot({ transaction: { transactionalId: 'orders-1', state } });
      expect([state, indicator.isHealthy('kafka').kafka.status]).toEqual([state, 'up']);
    }
  });

  it("uses the key 'kafka-producer' by default", async () => {
    const { indicator } = await indicatorFor();
    expect(Object.keys(indicator.isHealthy())).toEqual(['kafka-producer']);
  });

  it('is down when no broker connection is ready, even though the state still says ready', async () => {
    const { indicator, producer } = await indicatorFor();
    producer.current = snapshot({ connectedBrokers: [] });
    const result = indicator.isHealthy('kafka');
    expect(result.kafka.status).toBe('down');
    expect(result.kafka.reasons).toEqual(['no broker connection is ready']);
  });

  it('can be told not to require a connection (a producer that connects only on demand)', async () => {
    const { indicator, producer } = await indicatorFor();
    producer.current = snapshot({ connectedBrokers: [] });
    expect(indicator.isHealthy('kafka', { requireConnection: false }).kafka.status).toBe('up');
  });

  it.each(['fatal', 'closing', 'closed'] as const)('is down when the producer is %s, connection or not', async (state) => {
    const { indicator, producer } = await indicatorFor();
    producer.current = snapshot({ state });
    const result = indicator.isHealthy('kafka');
    expect(result.kafka.status).toBe('down');
    expect(result.kafka.reasons).toEqual([`producer is ${state}`]);
  });

  it('is down while connecting (no metadata yet), with metadataAgeMs null instead of Infinity', async () => {
    const { indicator, producer } = await indicatorFor();
    producer.current = snapshot({ state: 'connecting', connectedBrokers: [], knownBrokers: 0, metadataAgeMs: Number.POSITIVE_INFINITY });
    const result = indicator.isHealthy('kafka');
    expect(result.kafka.status).toBe('down');
    expect(result.kafka.metadataAgeMs).toBeNull();
    expect(JSON.parse(JSON.stringify(result)).kafka.metadataAgeMs).toBeNull();
  });

  it('treats degraded as up while a connection is usable and as down without one, or always with downWhenDegraded', async () => {
    const { indicator, producer } = await indicatorFor();
    const lastError = new KafkaError('request timed out', { code: 'REQUEST_TIMEOUT', retriable: true });
    producer.current = snapshot({ state: 'degraded', lastError });
    expect(indicator.isHealthy('kafka').kafka.status).toBe('up');
    expect(indicator.isHealthy('kafka', { downWhenDegraded: true }).kafka.status).toBe('down');
    producer.current = snapshot({ state: 'degraded', lastError, connectedBrokers: [] });
    expect(indicator.isHealthy('kafka').kafka.reasons).toEqual(['producer is degraded', 'no broker connection is ready']);
  });

  it('reports lastError as its name, code and message only, so the details survive JSON.stringify', async () => {
    const { indicator, producer } = await indicatorFor();
    const cause = { socket: {}, big: 10n };
    producer.current = snapshot({ state: 'fatal', lastError: new KafkaError('SASL authentication failed', { code: 'AUTHENTICATION_FAILED', cause }) });
    const result = indicator.isHealthy('kafka');
    expect(result.kafka.lastError).toEqual({ name: 'KafkaError', code: 'AUTHENTICATION_FAILED', message: 'SASL authentication failed' });
    expect(() => JSON.stringify(result)).not.toThrow();
  });

  it('is down when metadata is older than maxMetadataAgeMs, and ignores the age without that option', async () => {
    const { indicator, producer } = await indicatorFor();
    producer.current = snapshot({ metadataAgeMs: 600_001 });
    expect(indicator.isHealthy('kafka').kafka.status).toBe('up');
    const result = indicator.isHealthy('kafka', { maxMetadataAgeMs: 600_000 });
    expect(result.kafka.status).toBe('down');
    expect(result.kafka.reasons).toEqual(['metadata is 600001 ms old (limit 600000 ms)']);
  });

  it('is down when less than minBufferAvailableRatio of buffer memory is free (10 % by default)', async () => {
    const { indicator, producer } = await indicatorFor();
    producer.current = snapshot({ bufferAvailableBytes: 1_000_000, bufferTotalBytes: 20_000_000 });
    expect(indicator.isHealthy('kafka').kafka.status).toBe('down');
    expect(indicator.isHealthy('kafka', { minBufferAvailableRatio: 0.01 }).kafka.status).toBe('up');
    producer.current = snapshot({ bufferAvailableBytes: 2_000_000, bufferTotalBytes: 20_000_000 });
    expect(indicator.isHealthy('kafka').kafka.status).toBe('up');
  });

  it('returns down instead of throwing when the producer cannot be read', async () => {
    const { indicator, producer } = await indicatorFor();
    producer.health = () => {
      throw new Error('boom');
    };
    expect(indicator.isHealthy('kafka')).toEqual({ kafka: { status: 'down', reasons: ['health() failed: boom'] } });
  });

  it('reads the producer through one health() snapshot per check (no connection, no request)', async () => {
    const { indicator, producer } = await indicatorFor();
    indicator.isHealthy('kafka');
    expect(producer.reads).toBe(1);
  });

  it('reads a named producer through forProducer(name), injected with @InjectKafkaProducerHealthIndicator(name)', async () => {
    const producer = new FakeProducer();
    producer.current = snapshot({ connectedBrokers: [7] });
    @Module({ providers: [{ provide: getKafkaProducerToken('audit'), useValue: producer }], exports: [getKafkaProducerToken('audit')] })
    class AuditProducerModule {}
    @Injectable()
    class Probe {
      constructor(@InjectKafkaProducerHealthIndicator('audit') readonly indicator: KafkaProducerHealthIndicator) {}
    }
    const moduleRef = await Test.createTestingModule({
      imports: [KafkaProducerHealthModule.forProducer('audit', { imports: [AuditProducerModule] })],
      providers: [Probe],
    }).compile();
    expect(moduleRef.get(Probe).indicator.isHealthy('audit').audit.connectedBrokers).toEqual([7]);
  });
});

describe('KafkaProducerHealthIndicator under HealthCheckService', () => {
  async function service(): Promise<{ health: HealthCheckService; indicator: KafkaProducerHealthIndicator; producer: FakeProducer }> {
    const producer = new FakeProducer();
    @Module({ providers: [{ provide: getKafkaProducerToken(), useValue: producer }], exports: [getKafkaProducerToken()] })
    class ProducerModule {}
    // TerminusModule comes in through the health module; HealthCheckService is one of its exports
    const moduleRef = await Test.createTestingModule({ imports: [KafkaProducerHealthModule.forProducer(undefined, { imports: [ProducerModule] })] }).compile();
    return { health: moduleRef.get(HealthCheckService, { strict: false }), indicator: moduleRef.get(KafkaProducerHealthIndicator), producer };
  }

  it('gives status ok with the details while up', async () => {
    const { health, indicator } = await service();
    const result = await health.check([() => indicator.isHealthy('kafka')]);
    expect(result.status).toBe('ok');
    expect(result.details.kafka).toMatchObject({ status: 'up', connectedBrokers: [1] });
  });

  it('turns a down result into a 503 (ServiceUnavailableException) with the details, never a 500', async () => {
    const { health, indicator, producer } = await service();
    producer.current = snapshot({ connectedBrokers: [] });
    const failure = await health.check([() => indicator.isHealthy('kafka')]).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ServiceUnavailableException);
    const body = (failure as ServiceUnavailableException).getResponse() as { status: string; error: Record<string, unknown> };
    expect(body.status).toBe('error');
    expect(body.error.kafka).toMatchObject({ status: 'down', reasons: ['no broker connection is ready'] });
  });
});
