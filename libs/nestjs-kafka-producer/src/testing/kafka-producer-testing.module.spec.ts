import 'reflect-metadata';
import { KafkaError, ProducerFencedError, TransactionAbortedError, type TransactionEnd } from '@app/kafka-producer';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { InjectKafkaProducer, getKafkaProducerToken } from '../inject-kafka-producer.decorator';
import { KafkaProducerModule } from '../kafka-producer.module';
import { KafkaProducerService } from '../kafka-producer.service';
import type { KafkaDeliveryError, KafkaDeliveryReport } from '../delivery-report';
import { Produce } from '../produce/produce.decorator';
import { KafkaTransactionRequiredException } from '../transactional/transactional.exceptions';
import { KafkaProducerTestingModule } from './kafka-producer-testing.module';
import { MockKafkaProducerService, MockSendFailure } from './mock-kafka-producer.service';

@Injectable()
class OrdersService {
  constructor(@InjectKafkaProducer() readonly producer: KafkaProducerService) {}

  place(id: string): Promise<KafkaDeliveryReport> {
    return this.producer.send({ topic: 'orders', key: id, value: JSON.stringify({ id }) });
  }
}

@Injectable()
class AuditService {
  constructor(@InjectKafkaProducer('audit') readonly producer: KafkaProducerService) {}
}

async function ordersWithMock(): Promise<{ orders: OrdersService; mock: MockKafkaProducerService }> {
  const moduleRef = await Test.createTestingModule({ imports: [KafkaProducerTestingModule.forRoot()], providers: [OrdersService] }).compile();
  return { orders: moduleRef.get(OrdersService), mock: moduleRef.get<MockKafkaProducerService>(getKafkaProducerToken()) };
}

describe('KafkaProducerTestingModule', () => {
  afterEach(() => jest.useRealTimers());

  it('gives a service that injects @InjectKafkaProducer() the mock, under the real token', async () => {
    const { orders, mock } = await ordersWithMock();
    expect(orders.producer).toBe(mock);
    expect(mock).toBeInstanceOf(MockKafkaProducerService);
  });

  it('stands in for a named producer with forRoot({ name }), leaving the default token alone', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [KafkaProducerTestingModule.forRoot({ name: 'audit' })], providers: [AuditService] }).compile();
    expect(moduleRef.get(AuditService).producer).toBeInstanceOf(MockKafkaProducerService);
    expect(moduleRef.get(AuditService).producer.name).toBe('audit');
    expect(() => moduleRef.get(KafkaProducerService)).toThrow();
  });

  it('records every sent record and acknowledges it with JSON-safe reports and per-partition offsets', async () => {
    const { orders, mock } = await ordersWithMock();
    const first = await orders.place('a');
    const second = await orders.place('b');
    const other = await mock.send({ topic: 'orders', partition: 3, value: 'x' });
    expect(mock.sent.map((r) => r.key ?? null)).toEqual(['a', 'b', null]);
    expect(mock.sentTo('orders')).toHaveLength(3);
    expect([first.offset, second.offset, other.offset]).toEqual(['0', '1', '0']);
    expect(first).toMatchObject({ topic: 'orders', partition: 0, serializedKeySize: 1, serializedValueSize: Buffer.byteLength('{"id":"a"}') });
    expect(() => JSON.stringify(mock.delivered)).not.toThrow();
    expect(mock.metrics()['record-send-total']).toBe(3);
  });

  it('fails the next send with failNext(error): the caller gets the error, errors$ reports it, the send after succeeds', async () => {
    const { orders, mock } = await ordersWithMock();
    const errors: KafkaDeliveryError[] = [];
    const deliveries: KafkaDeliveryReport[] = [];
    mock.errors$.subscribe((e) => errors.push(e));
    mock.deliveries$.subscribe((d) => deliveries.push(d));
    const boom = new KafkaError('broker down', { code: 'REQUEST_TIMEOUT', retriable: true });
    mock.failNext(boom);
    await expect(orders.place('a')).rejects.toBe(boom);
    await expect(orders.place('b')).resolves.toMatchObject({ offset: '0' });
    expect(errors).toEqual([{ topic: 'orders', partition: 0, error: boom }]);
    expect(deliveries.map((d) => d.offset)).toEqual(['0']);
    expect(mock.sent).toHaveLength(2);
    expect(mock.metrics()['record-error-total']).toBe(1);
  });

  it('fails records matching a failWhen rule until the rule is removed', async () => {
    const { mock } = await ordersWithMock();
    const remove = mock.failWhen((r) => r.topic === 'audit');
    await expect(mock.send({ topic: 'audit', value: 'x' })).rejects.toBeInstanceOf(MockSendFailure);
    await expect(mock.send({ topic: 'orders', value: 'x' })).resolves.toMatchObject({ topic: 'orders' });
    const custom = new Error('too large');
    mock.failWhen((r) => (r.value === 'big' ? custom : undefined));
    await expect(mock.send({ topic: 'orders', value: 'big' })).rejects.toBe(custom);
    remove();
    await expect(mock.send({ topic: 'audit', value: 'x' })).resolves.toMatchObject({ topic: 'audit' });
  });

  it('settles sends only after delayMs, and flush() waits for them', async () => {
    jest.useFakeTimers();
    const { mock } = await ordersWithMock();
    mock.delayMs = 1000;
    let settled = false;
    void mock.send({ topic: 'orders', value: 'x' }).then(() => (settled = true));
    let flushed = false;
    void mock.flush().then(() => (flushed = true));
    await jest.advanceTimersByTimeAsync(999);
    expect([settled, flushed]).toEqual([false, false]);
    await jest.advanceTimersByTimeAsync(1);
    expect([settled, flushed]).toEqual([true, true]);
  });

  it('sends nothing from send$() before subscription, then emits the report and completes', async () => {
    const { mock } = await ordersWithMock();
    const send$ = mock.send$({ topic: 'orders', value: 'x' });
    expect(mock.sent).toHaveLength(0);
    await expect(lastValueFrom(send$.pipe(toArray()))).resolves.toEqual([expect.objectContaining({ offset: '0' })]);
    expect(mock.sent).toHaveLength(1);
  });

  it('filters deliveriesFor(topic) and errorsFor(topic) per topic', async () => {
    const { mock } = await ordersWithMock();
    const audit = firstValueFrom(mock.deliveriesFor('audit'));
    const auditErrors = firstValueFrom(mock.errorsFor('audit'));
    await mock.send({ topic: 'orders', value: 'x' });
    await mock.send({ topic: 'audit', value: 'y' });
    mock.failNext(new Error('nope'));
    await mock.send({ topic: 'audit', value: 'z' }).catch(() => undefined);
    await expect(audit).resolves.toMatchObject({ topic: 'audit', offset: '0' });
    await expect(auditErrors).resolves.toMatchObject({ topic: 'audit' });
  });

  it('replays the current state to a late status$ subscriber, and setState moves it and health()', async () => {
    const { mock } = await ordersWithMock();
    mock.setState('degraded');
    const seen = lastValueFrom(mock.status$.pipe(take(2), toArray()));
    mock.setState('ready');
    await expect(seen).resolves.toEqual(['degraded', 'ready']);
    expect(mock.health().state).toBe('ready');
    mock.setHealth({ connectedBrokers: [] });
    expect(mock.health()).toMatchObject({ state: 'ready', connectedBrokers: [] });
  });

  it('uses the mock a test built beforehand, and reset() forgets records and scripted failures', async () => {
    const prepared = new MockKafkaProducerService().failNext(new Error('first fails'));
    const moduleRef = await Test.createTestingModule({ imports: [KafkaProducerTestingModule.forRoot({ mock: prepared })], providers: [OrdersService] }).compile();
    await expect(moduleRef.get(OrdersService).place('a')).rejects.toThrow('first fails');
    prepared.failNext(new Error('never reached'));
    prepared.reset();
    await expect(moduleRef.get(OrdersService).place('b')).resolves.toMatchObject({ offset: '0' });
    expect(prepared.sent.map((r) => r.key)).toEqual(['b']);
  });

  it('replaces the real producer through overrideProvider before it is built: an app module with an unreachable broker boots', async () => {
    @Module({ imports: [KafkaProducerModule.forRoot({ bootstrapServers: ['127.0.0.1:1'], connect: 'fail-fast', connectTimeoutMs: 100 })], providers: [OrdersService] })
    class AppModule {}
    const mock = new MockKafkaProducerService();
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).overrideProvider(getKafkaProducerToken()).useValue(mock).compile();
    const app = await moduleRef.init();
    await app.get(OrdersService).place('a');
    expect(mock.sent).toHaveLength(1);
    await app.close();
  });

  it('binds @Produce methods to the double, as the real module binds them to the producer', async () => {
    @Injectable()
    class Notices {
      @Produce({ topic: 'notices', key: (n: { id: string }) => n.id })
      async notify(id: string) {
        return { id };
      }
    }
    const moduleRef = await Test.createTestingModule({ imports: [KafkaProducerTestingModule.forRoot()], providers: [Notices] }).compile();
    await moduleRef.init();
    await moduleRef.get(Notices).notify('n-1');
    expect(moduleRef.get<MockKafkaProducerService>(getKafkaProducerToken()).sent).toEqual([{ topic: 'notices', key: 'n-1', value: '{"id":"n-1"}' }]);
  });

  it('runs transaction(fn) with a transactionalId: tx.send and the injected send join it, offsets are recorded, the end is on transactionEnds$, and only then are the records in sent', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [KafkaProducerTestingModule.forRoot({ transactionalId: 'orders-tx' })], providers: [OrdersService] }).compile();
    const orders = moduleRef.get(OrdersService);
    const mock = moduleRef.get<MockKafkaProducerService>(getKafkaProducerToken());
    const ends: TransactionEnd[] = [];
    mock.transactionEnds$.subscribe((e) => ends.push(e));
    expect(mock.health().transaction).toEqual({ transactionalId: 'orders-tx', state: 'UNINITIALIZED' });
    const result = await mock.transaction(async (tx) => {
      expect([tx.transactionalId, tx.producerName, mock.transactionState, mock.currentTransaction]).toEqual(['orders-tx', 'default', 'IN_TRANSACTION', tx]);
      await tx.send({ topic: 'orders', key: 'a', value: 'direct' });
      await orders.place('b');
      await tx.sendOffsets([{ topic: 'in', partition: 0, offset: 41n }], 'orders-group');
      expect(mock.sent).toEqual([]);
      return 'done';
    });
    expect(result).toBe('done');
    expect(mock.sent.map((r) => r.key)).toEqual(['a', 'b']);
    expect(mock.transactions[0]).toMatchObject({ outcome: 'committed', offsets: [{ groupId: 'orders-group', offsets: [{ topic: 'in', partition: 0, offset: 41n }] }] });
    expect(ends).toEqual([{ transactionalId: 'orders-tx', outcome: 'committed', error: null }]);
    expect([mock.transactionState, mock.currentTransaction]).toEqual(['READY', null]);
    await expect(orders.place('c')).rejects.toThrow(KafkaTransactionRequiredException);
  });

  it('fails a record still unsettled when its transaction aborts with TransactionAbortedError, on errors$ too', async () => {
    const mock = new MockKafkaProducerService('default', { transactionalId: 'slow' });
    mock.delayMs = 20;
    const failures: KafkaDeliveryError[] = [];
    mock.errors$.subscribe((f) => failures.push(f));
    let pending!: Promise<KafkaDeliveryReport>;
    await expect(
      mock.transaction(async (tx) => {
        pending = tx.send({ topic: 'orders', value: 'slow' });
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    await expect(pending).rejects.toThrow(TransactionAbortedError);
    expect([failures.map((f) => f.error.name), mock.aborted.map((r) => r.value), mock.sent, mock.delivered]).toEqual([['TransactionAbortedError'], ['slow'], [], []]);
  });

  it('reset() forgets transactions and a fenced state', async () => {
    const mock = new MockKafkaProducerService('default', { transactionalId: 't' }).failNextCommit(new ProducerFencedError('fenced'));
    await expect(mock.transaction(async (tx) => tx.send({ topic: 'x', value: '1' }))).rejects.toThrow(ProducerFencedError);
    expect(mock.state).toBe('fatal');
    mock.reset();
    expect([mock.state, mock.transactionState, mock.transactions, mock.aborted, mock.health().lastError]).toEqual(['ready', 'UNINITIALIZED', [], [], null]);
    await expect(mock.transaction(async (tx) => (await tx.send({ topic: 'x', value: '2' })).offset)).resolves.toBe('0');
  });

  it('has no underlying KafkaProducer: reading producer says so instead of returning something half-real', () => {
    expect(() => new MockKafkaProducerService().producer).toThrow(/no underlying KafkaProducer/);
  });
});
