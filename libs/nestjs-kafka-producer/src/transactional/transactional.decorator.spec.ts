import 'reflect-metadata';
import { Controller, Injectable, Module, Post, RequestMethod, Scope } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { Test } from '@nestjs/testing';
import { of } from 'rxjs';
import { getKafkaProducerToken, InjectKafkaProducer } from '../inject-kafka-producer.decorator';
import type { KafkaProducerService } from '../kafka-producer.service';
import { Produce } from '../produce/produce.decorator';
import { KafkaProducerTestingModule } from '../testing/kafka-producer-testing.module';
import { MockKafkaProducerService, MockSendFailure } from '../testing/mock-kafka-producer.service';
import { Transactional } from './transactional.decorator';
import {
  KafkaTransactionalConfigException,
  KafkaTransactionalNotBoundException,
  KafkaTransactionalResultException,
  KafkaTransactionClosedException,
  KafkaTransactionRequiredException,
  KafkaTransactionRollbackOnlyException,
} from './transactional.exceptions';

class ShipmentFailed extends Error {}

@Injectable()
class Invoices {
  @Produce({ topic: 'invoices', key: (i: { id: string }) => i.id })
  async issue(id: string): Promise<{ id: string; total: number }> {
    return { id, total: 10 };
  }

  @Transactional()
  async issueAlone(id: string): Promise<void> {
    await this.issue(id);
  }
}

@Injectable()
class Shipping {
  leaked: Promise<unknown> | null = null;

  constructor(
    @InjectKafkaProducer() private readonly kafka: KafkaProducerService,
    private readonly invoices: Invoices,
  ) {}

  @Transactional()
  async ship(id: string, failAfterFirst = false): Promise<string> {
    await this.kafka.send({ topic: 'shipments', key: id, value: `shipped ${id}` });
    if (failAfterFirst) throw new ShipmentFailed(`shipping ${id} failed`);
    await this.invoices.issue(id);
    return id;
  }

  /** Calls another @Transactional method of the same producer: both are one transaction. */
  @Transactional()
  async shipAndInvoice(id: string, catchInner: boolean): Promise<string> {
    await this.kafka.send({ topic: 'shipments', key: id, value: `outer ${id}` });
    try {
      await this.ship(`${id}-inner`, true);
    } catch (e) {
      if (!catchInner) throw e;
    }
    return id;
  }

  @Transactional()
  async leak(id: string): Promise<void> {
    // not awaited: it runs after the method returned, when the transaction is committing
    this.leaked = new Promise((r) => setTimeout(r, 5)).then(() => this.kafka.send({ topic: 'shipments', key: id, value: 'late' }));
  }

  @Transactional()
  stream() {
    return of(1);
  }

  sendOutside(id: string) {
    return this.kafka.send({ topic: 'shipments', key: id, value: 'outside' });
  }
}

async function shippingWithMock(): Promise<{ shipping: Shipping; invoices: Invoices; mock: MockKafkaProducerService }> {
  const moduleRef = await Test.createTestingModule({
    imports: [KafkaProducerTestingModule.forRoot({ transactionalId: 'shipping-1' })],
    providers: [Shipping, Invoices],
  }).compile();
  await moduleRef.init();
  return { shipping: moduleRef.get(Shipping), invoices: moduleRef.get(Invoices), mock: moduleRef.get<MockKafkaProducerService>(getKafkaProducerToken()) };
}

const summary = (records: ReadonlyArray<{ topic: string; key?: unknown; value?: unknown }>) => records.map((r) => `${r.topic}:${String(r.key)}`);

describe('@Transactional', () => {
  it('commits every send of the method, the injected service and a @Produce method deeper in the chain, as one transaction', async () => {
    const { shipping, mock } = await shippingWithMock();
    await expect(shipping.ship('o-1')).resolves.toBe('o-1');
    expect(mock.transactions).toHaveLength(1);
    expect(mock.transactions[0]).toMatchObject({ transactionalId: 'shipping-1', outcome: 'committed', error: null });
    expect(summary(mock.transactions[0].records)).toEqual(['shipments:o-1', 'invoices:o-1']);
    expect(summary(mock.sent)).toEqual(['shipments:o-1', 'invoices:o-1']);
    expect(mock.transactionState).toBe('READY');
  });

  it('aborts the transaction when the method throws and rethrows the error; the records written before the throw are aborted, never in sent', async () => {
    const { shipping, mock } = await shippingWithMock();
    const ends: string[] = [];
    mock.transactionEnds$.subscribe((e) => ends.push(`${e.outcome}:${e.error?.message ?? 'none'}`));
    await expect(shipping.ship('o-2', true)).rejects.toThrow(ShipmentFailed);
    expect(mock.transactions[0].outcome).toBe('aborted');
    expect(mock.transactions[0].error).toBeInstanceOf(ShipmentFailed);
    expect(summary(mock.aborted)).toEqual(['shipments:o-2']);
    expect(mock.sent).toEqual([]);
    // acknowledged when written, as the real producer does: read_uncommitted readers would see it
    expect(mock.delivered.map((r) => r.topic)).toEqual(['shipments']);
    expect(ends).toEqual(['aborted:shipping o-2 failed']);
  });

  it('joins the outer transaction when one @Transactional method calls another: one transaction, and an uncaught inner failure aborts it all', async () => {
    const { shipping, mock } = await shippingWithMock();
    await expect(shipping.shipAndInvoice('o-3', false)).rejects.toThrow(ShipmentFailed);
    expect(mock.transactions).toHaveLength(1);
    expect(summary(mock.transactions[0].records)).toEqual(['shipments:o-3', 'shipments:o-3-inner']);
    expect(mock.transactions[0].outcome).toBe('aborted');
  });

  it('aborts with KafkaTransactionRollbackOnlyException when the outer method catches a failure of a joined one and returns normally', async () => {
    const { shipping, mock } = await shippingWithMock();
    const call = shipping.shipAndInvoice('o-4', true);
    await expect(call).rejects.toThrow(KafkaTransactionRollbackOnlyException);
    await expect(call).rejects.toMatchObject({ cause: expect.any(ShipmentFailed), message: expect.stringContaining('shipping o-4-inner failed') });
    expect(mock.transactions.map((t) => t.outcome)).toEqual(['aborted']);
    expect(mock.sent).toEqual([]);
  });

  it('refuses send() on a transactional producer outside any transaction with KafkaTransactionRequiredException naming the fix', async () => {
    const { shipping, mock } = await shippingWithMock();
    const call = shipping.sendOutside('o-5');
    await expect(call).rejects.toThrow(KafkaTransactionRequiredException);
    await expect(call).rejects.toMatchObject({ code: 'TRANSACTION_REQUIRED', message: expect.stringContaining("@Transactional() method or inside transaction(async (tx) => ...)") });
    expect([mock.sent, mock.transactions]).toEqual([[], []]);
  });

  it('refuses a send that outlives its method (not awaited) instead of letting it land in a later transaction', async () => {
    const { shipping, mock } = await shippingWithMock();
    await shipping.leak('o-6');
    const later = shipping.ship('o-7');
    await expect(shipping.leaked).rejects.toThrow(KafkaTransactionClosedException);
    await later;
    expect(mock.transactions.map((t) => [t.outcome, summary(t.records)])).toEqual([
      ['committed', []],
      ['committed', ['shipments:o-7', 'invoices:o-7']],
    ]);
  });

  it('runs concurrent calls one transaction after another: no record of one lands in another, and an abort takes only its own records', async () => {
    const { shipping, mock } = await shippingWithMock();
    mock.delayMs = 2;
    const calls = Array.from({ length: 10 }, (_, i) => shipping.ship(`c-${i}`, i % 3 === 0));
    const results = await Promise.allSettled(calls);
    expect(results.map((r) => r.status)).toEqual(Array.from({ length: 10 }, (_, i) => (i % 3 === 0 ? 'rejected' : 'fulfilled')));
    expect(mock.transactions.map((t) => [t.outcome, summary(t.records)])).toEqual(
      Array.from({ length: 10 }, (_, i) => (i % 3 === 0 ? ['aborted', [`shipments:c-${i}`]] : ['committed', [`shipments:c-${i}`, `invoices:c-${i}`]])),
    );
    expect(summary(mock.sent)).toEqual(
      Array.from({ length: 10 }, (_, i) => i)
        .filter((i) => i % 3 !== 0)
        .flatMap((i) => [`shipments:c-${i}`, `invoices:c-${i}`]),
    );
  });

  it('gives a @Produce method its own transaction when it runs inside a @Transactional method of its class', async () => {
    const { invoices, mock } = await shippingWithMock();
    await invoices.issueAlone('o-8');
    expect(mock.transactions.map((t) => [t.outcome, summary(t.records)])).toEqual([['committed', ['invoices:o-8']]]);
    // the same @Produce method outside a transaction is refused like any send
    await expect(invoices.issue('o-9')).rejects.toThrow(KafkaTransactionRequiredException);
  });

  it('aborts when the method returns an Observable, whose work the transaction could not cover', async () => {
    const { shipping, mock } = await shippingWithMock();
    await expect(shipping.stream()).rejects.toThrow(KafkaTransactionalResultException);
    expect(mock.transactions.map((t) => t.outcome)).toEqual(['aborted']);
  });

  it('fails a commit as scripted: the caller gets the error, the records are aborted, and a fenced double turns fatal and refuses later transactions', async () => {
    const { shipping, mock } = await shippingWithMock();
    const { ProducerFencedError } = await import('@app/kafka-producer');
    mock.failNextCommit(new ProducerFencedError('fenced by a newer instance'));
    await expect(shipping.ship('o-10')).rejects.toThrow(ProducerFencedError);
    expect([mock.state, mock.transactionState, mock.health().transaction]).toEqual(['fatal', 'FATAL_ERROR', { transactionalId: 'shipping-1', state: 'FATAL_ERROR' }]);
    await expect(shipping.ship('o-11')).rejects.toThrow('fenced by a newer instance');
    expect(summary(mock.aborted)).toEqual(['shipments:o-10', 'invoices:o-10']);
    expect(mock.sent).toEqual([]);
  });

  it('cannot commit a transaction one of whose records failed: it aborts with TransactionAbortableError', async () => {
    const { shipping, mock } = await shippingWithMock();
    const { TransactionAbortableError } = await import('@app/kafka-producer');
    mock.failWhen((r) => r.topic === 'invoices');
    // the awaited record's failure reaches the method, which throws, so the transaction aborts
    await expect(shipping.ship('o-12')).rejects.toThrow(MockSendFailure);
    expect(mock.transactions[0].outcome).toBe('aborted');
    // a failure the function never looked at still prevents the commit
    const tx = mock.transaction(async (t) => {
      void t.send({ topic: 'invoices', value: 'x' }).catch(() => undefined);
      await t.send({ topic: 'shipments', value: 'y' });
    });
    await expect(tx).rejects.toThrow(TransactionAbortableError);
    expect(mock.transactions[1]).toMatchObject({ outcome: 'aborted', error: expect.any(TransactionAbortableError) });
    expect(mock.sent).toEqual([]);
  });

  it('keeps route metadata and the method name on either side of it', () => {
    @Controller('orders')
    class OrdersController {
      @Post(':id/ship')
      @Transactional()
      async ship(_id: string): Promise<void> {}

      @Transactional()
      @Post(':id/return')
      async giveBack(_id: string): Promise<void> {}
    }
    const proto = OrdersController.prototype;
    expect([Reflect.getMetadata(PATH_METADATA, proto.ship), Reflect.getMetadata(METHOD_METADATA, proto.ship), proto.ship.name, proto.ship.length]).toEqual([':id/ship', RequestMethod.POST, 'ship', 1]);
    expect([Reflect.getMetadata(PATH_METADATA, proto.giveBack), proto.giveBack.name]).toEqual([':id/return', 'giveBack']);
  });

  it('refuses @Produce above @Transactional of the same producer when the class is defined, since its record would be sent after the commit', () => {
    expect(() => {
      class Wrong {
        @Produce({ topic: 'x' })
        @Transactional()
        async run(): Promise<string> {
          return 'x';
        }
      }
      return Wrong;
    }).toThrow(/Put @Transactional\(\) above @Produce\(\)/);
  });

  it('rejects with KafkaTransactionalNotBoundException on an instance no module bound', async () => {
    const shipping = new Shipping(new MockKafkaProducerService('default', { transactionalId: 't' }) as unknown as KafkaProducerService, new Invoices());
    await expect(shipping.ship('o-13')).rejects.toThrow(KafkaTransactionalNotBoundException);
    await expect(shipping.ship('o-13')).rejects.toThrow(/KafkaProducerModule\.forRoot\(\{ transactionalId/);
  });

  it('stops boot with KafkaTransactionalConfigException when the producer it names has no transactionalId', async () => {
    const compiled = Test.createTestingModule({ imports: [KafkaProducerTestingModule.forRoot()], providers: [Shipping, Invoices] }).compile();
    const moduleRef = await compiled;
    await expect(moduleRef.init()).rejects.toThrow(KafkaTransactionalConfigException);
    await expect(Test.createTestingModule({ imports: [KafkaProducerTestingModule.forRoot()], providers: [Shipping, Invoices] }).compile().then((m) => m.init())).rejects.toThrow(
      "@Transactional() on Shipping.ship: producer 'default' has no transactionalId",
    );
  });

  it('uses the named producer given to it, leaving the default one out of the transaction', async () => {
    @Injectable()
    class Audit {
      constructor(
        @InjectKafkaProducer('audit') private readonly audit: KafkaProducerService,
        @InjectKafkaProducer() private readonly plain: KafkaProducerService,
      ) {}

      @Transactional('audit')
      async record(id: string, fail: boolean): Promise<void> {
        await this.audit.send({ topic: 'audit', key: id, value: 'a' });
        // a non-transactional producer is unaffected by the open transaction of another one
        await this.plain.send({ topic: 'plain', key: id, value: 'p' });
        if (fail) throw new Error('audit failed');
      }
    }
    const auditMock = new MockKafkaProducerService('audit', { transactionalId: 'audit-1' });
    const moduleRef = await Test.createTestingModule({
      imports: [KafkaProducerTestingModule.forRoot({ name: 'audit', mock: auditMock }), KafkaProducerTestingModule.forRoot()],
      providers: [Audit],
    }).compile();
    await moduleRef.init();
    const plain = moduleRef.get<MockKafkaProducerService>(getKafkaProducerToken());
    await expect(moduleRef.get(Audit).record('a-1', true)).rejects.toThrow('audit failed');
    expect([summary(auditMock.aborted), summary(plain.sent)]).toEqual([['audit:a-1'], ['plain:a-1']]);
  });

  it('binds request-scoped instances through their prototype', async () => {
    @Injectable({ scope: Scope.REQUEST })
    class PerRequest {
      constructor(@InjectKafkaProducer() private readonly kafka: KafkaProducerService) {}

      @Transactional()
      async run(id: string): Promise<void> {
        await this.kafka.send({ topic: 'per-request', key: id, value: 'v' });
      }
    }
    @Module({ imports: [KafkaProducerTestingModule.forRoot({ transactionalId: 'rq' })], providers: [PerRequest] })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    await moduleRef.init();
    const instance = await moduleRef.resolve(PerRequest);
    await instance.run('r-1');
    expect(summary(moduleRef.get<MockKafkaProducerService>(getKafkaProducerToken()).sent)).toEqual(['per-request:r-1']);
  });
});
