import 'reflect-metadata';
import { Body, Controller, Get, Injectable, Module, Param, Post, Query, type INestApplication } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import * as request from 'supertest';
import { KafkaProducer, ProducerFencedError, type TransactionEnd } from '@app/kafka-producer';
import { KafkaCluster, type ConsumedRecord } from '@app/kafka-testing';
import {
  InjectKafkaProducer,
  KafkaProducerModule,
  KafkaProducerService,
  KafkaTransactionRollbackOnlyException,
  Produce,
  Transactional,
  getKafkaProducerToken,
} from '@app/nestjs-kafka-producer';
import { KafkaProducerHealthIndicator, KafkaProducerHealthModule } from '@app/nestjs-kafka-producer/health';
import { AppModule } from '../apps/sample/src/app.module';
import { SHIPPING_PRODUCER } from '../apps/sample/src/shipping.service';
import { committedOffsets } from './support/group-offsets';
import { uniqueTopic } from './support/round-trip';

/**
 * Transactions through the Nest layer (@Transactional, KafkaProducerService.transaction(), @Produce
 * joining them) against a real 1-node Kafka, read back by the Java consumer in both isolation levels,
 * and the sample app's transactional route under concurrent HTTP requests and after being fenced.
 */

jest.setTimeout(180_000);

const BOUND_MS = 30_000;
let ids = 0;
const transactionalId = (what: string): string => `nest-e2e-${what}-${process.pid}-${Date.now().toString(36)}-${ids++}`;
const keysOf = (records: readonly ConsumedRecord[]): string[] => records.map((r) => `${r.key?.toString()}=${r.value?.toString()}`).sort();

class Interrupted extends Error {}

describe('transactions in the Nest layer, against a real broker', () => {
  let cluster: KafkaCluster;

  beforeAll(async () => {
    cluster = await KafkaCluster.start({ nodes: 1 });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  const read = async (topic: string): Promise<{ committed: string[]; uncommitted: string[] }> => {
    const [committed, uncommitted] = await Promise.all([
      cluster.consumeWithJava({ topic, isolationLevel: 'read_committed' }),
      cluster.consumeWithJava({ topic, isolationLevel: 'read_uncommitted' }),
    ]);
    return { committed: keysOf(committed), uncommitted: keysOf(uncommitted) };
  };

  describe('a module with @Transactional services', () => {
    const orders = uniqueTopic('nest-txn-orders');
    const audit = uniqueTopic('nest-txn-audit');
    const group = `nest-txn-group-${process.pid}`;
    let app: INestApplication;
    let kafka: KafkaProducerService;
    const ends: TransactionEnd[] = [];

    @Injectable()
    class AuditTrail {
      @Produce({ topic: audit, key: (entry: { id: string }) => entry.id })
      async record(id: string, what: string): Promise<{ id: string; what: string }> {
        return { id, what };
      }
    }

    @Injectable()
    class Orders {
      constructor(
        @InjectKafkaProducer() private readonly kafka: KafkaProducerService,
        private readonly trail: AuditTrail,
      ) {}

      /** Two records on two partitions through the injected producer, one more through @Produce, deeper down. */
      @Transactional()
      async place(id: string, fail: boolean): Promise<string> {
        await Promise.all([0, 1].map((partition) => this.kafka.send({ topic: orders, partition, key: id, value: `line-${partition}` })));
        await this.trail.record(id, 'placed');
        if (fail) throw new Interrupted(`placing ${id} failed`);
        return id;
      }

      /** Calls place() (itself @Transactional) and swallows its failure: the joined transaction must not commit half of it. */
      @Transactional()
      async placeIgnoringFailure(id: string): Promise<void> {
        await this.kafka.send({ topic: orders, partition: 0, key: id, value: 'outer' });
        await this.place(`${id}-inner`, true).catch(() => undefined);
      }
    }

    beforeAll(async () => {
      await cluster.createTopic({ name: orders, partitions: 2 });
      await cluster.createTopic({ name: audit, partitions: 1 });
      const moduleRef = await Test.createTestingModule({
        imports: [KafkaProducerModule.forRoot({ bootstrapServers: cluster.bootstrapServers, transactionalId: transactionalId('module'), lingerMs: 5, connect: 'fail-fast' })],
        providers: [Orders, AuditTrail],
      }).compile();
      app = moduleRef.createNestApplication({ logger: ['error'] });
      await app.init();
      kafka = app.get(KafkaProducerService);
      kafka.transactionEnds$.subscribe((e) => ends.push(e));
    });

    afterAll(async () => {
      await app?.close();
    });

    it('has fenced older instances at boot (fail-fast connect runs initTransactions): READY with a producer id before the first transaction', () => {
      expect(kafka.transactionState).toBe('READY');
      expect(kafka.health().producerId).toEqual({ producerId: expect.stringMatching(/^\d+$/), producerEpoch: expect.any(Number) });
    });

    it('commits a @Transactional method: its injected sends and the @Produce record called deeper are visible to read_committed readers; an aborted one is visible only to read_uncommitted readers', async () => {
      await expect(app.get(Orders).place('o-1', false)).resolves.toBe('o-1');
      await expect(app.get(Orders).place('o-2', true)).rejects.toThrow(Interrupted);
      await expect(app.get(Orders).place('o-3', false)).resolves.toBe('o-3');

      const ordersRead = await read(orders);
      expect(ordersRead.committed).toEqual(['o-1=line-0', 'o-1=line-1', 'o-3=line-0', 'o-3=line-1']);
      expect(ordersRead.uncommitted).toEqual(['o-1=line-0', 'o-1=line-1', 'o-2=line-0', 'o-2=line-1', 'o-3=line-0', 'o-3=line-1']);
      const auditRead = await read(audit);
      expect(auditRead.committed).toEqual(['o-1={"id":"o-1","what":"placed"}', 'o-3={"id":"o-3","what":"placed"}']);
      expect(auditRead.uncommitted).toEqual(['o-1={"id":"o-1","what":"placed"}', 'o-2={"id":"o-2","what":"placed"}', 'o-3={"id":"o-3","what":"placed"}']);
      expect(ends.splice(0).map((e) => [e.outcome, e.error?.message ?? null])).toEqual([
        ['committed', null],
        ['aborted', 'placing o-2 failed'],
        ['committed', null],
      ]);
      expect(kafka.transactionState).toBe('READY');
    });

    it('aborts everything when a joined @Transactional call failed and the outer method swallowed the error (KafkaTransactionRollbackOnlyException)', async () => {
      await expect(app.get(Orders).placeIgnoringFailure('n-1')).rejects.toThrow(KafkaTransactionRollbackOnlyException);
      const ordersRead = await read(orders);
      expect(ordersRead.committed.filter((r) => r.startsWith('n-1'))).toEqual([]);
      expect(ordersRead.uncommitted.filter((r) => r.startsWith('n-1'))).toEqual(['n-1-inner=line-0', 'n-1-inner=line-1', 'n-1=outer']);
      expect(ends.splice(0).map((e) => e.outcome)).toEqual(['aborted']);
    });

    it('commits consumer offsets with kafka.transaction(fn) only when it commits (read by kafka-consumer-groups)', async () => {
      await expect(
        kafka.transaction(async (tx) => {
          await tx.send({ topic: orders, partition: 0, key: 'x-1', value: 'aborted-with-offsets' });
          await tx.sendOffsets([{ topic: orders, partition: 0, offset: 7 }], group);
          throw new Interrupted('not this time');
        }),
      ).rejects.toThrow(Interrupted);
      expect(await committedOffsets(cluster, group)).toEqual(new Map());
      const result = await kafka.transaction(async (tx) => {
        const report = await kafka.send({ topic: orders, partition: 1, key: 'x-2', value: 'with-offsets' });
        await tx.sendOffsets([{ topic: orders, partition: 0, offset: 11 }], group);
        return report;
      });
      expect(result).toMatchObject({ topic: orders, partition: 1, offset: expect.stringMatching(/^\d+$/) });
      expect(await committedOffsets(cluster, group)).toEqual(new Map([[`${orders}:0`, 11n]]));
      expect((await read(orders)).committed).toContain('x-2=with-offsets');
      expect((await read(orders)).committed).not.toContain('x-1=aborted-with-offsets');
    });
  });

  describe('the sample app (POST /orders/:id/ship) over HTTP', () => {
    const shipments = uniqueTopic('nest-txn-shipments');
    const invoices = uniqueTopic('nest-txn-invoices');
    const txnId = transactionalId('sample');
    const env = ['KAFKA_BOOTSTRAP_SERVERS', 'SAMPLE_TOPIC', 'KAFKA_TRANSACTIONAL_ID', 'SAMPLE_SHIPMENTS_TOPIC', 'SAMPLE_INVOICES_TOPIC'] as const;
    const saved = Object.fromEntries(env.map((k) => [k, process.env[k]]));
    let app: INestApplication;

    beforeAll(async () => {
      await cluster.createTopic({ name: shipments, partitions: 3 });
      await cluster.createTopic({ name: invoices, partitions: 3 });
      Object.assign(process.env, {
        KAFKA_BOOTSTRAP_SERVERS: cluster.bootstrap,
        SAMPLE_TOPIC: uniqueTopic('nest-txn-sample-orders'),
        KAFKA_TRANSACTIONAL_ID: txnId,
        SAMPLE_SHIPMENTS_TOPIC: shipments,
        SAMPLE_INVOICES_TOPIC: invoices,
      });
      const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
      // the fenced producer's 500 and the 503 health check are expected here, not worth a log line
      app = moduleRef.createNestApplication({ logger: false });
      await app.init();
    });

    afterAll(async () => {
      await app?.close();
      for (const k of env) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    });

    it('serves 20 concurrent shipping requests (plus 5 failing mid-way among them): all 20 commit both events, each aborted request leaves only its own shipment, visible only to read_uncommitted readers', async () => {
      const server = app.getHttpServer();
      const requests = Array.from({ length: 25 }, (_, i) => {
        const fail = i % 5 === 4;
        const id = `${fail ? 'bad' : 'ok'}-${i}`;
        return request(server)
          .post(`/orders/${id}/ship${fail ? '?fail=midway' : ''}`)
          .send({ customer: `c-${i}`, amount: i })
          .then((res) => ({ id, fail, status: res.status }));
      });
      const started = Date.now();
      const answers = await Promise.all(requests);
      const elapsedMs = Date.now() - started;
      process.stderr.write(`nest-transactions: 25 concurrent ship requests (20 commit, 5 abort) answered in ${elapsedMs} ms\n`);
      expect(answers.filter((a) => a.status === 201).map((a) => a.id).sort()).toEqual(answers.filter((a) => !a.fail).map((a) => a.id).sort());
      expect(answers.filter((a) => a.fail).map((a) => a.status)).toEqual([500, 500, 500, 500, 500]);

      const okIds = answers.filter((a) => !a.fail).map((a) => a.id).sort();
      const badIds = answers.filter((a) => a.fail).map((a) => a.id).sort();
      const idsIn = (records: ConsumedRecord[]) => records.map((r) => r.key!.toString()).sort();
      const [shippedCommitted, shippedAll, invoicedCommitted, invoicedAll] = await Promise.all([
        cluster.consumeWithJava({ topic: shipments, isolationLevel: 'read_committed' }),
        cluster.consumeWithJava({ topic: shipments, isolationLevel: 'read_uncommitted' }),
        cluster.consumeWithJava({ topic: invoices, isolationLevel: 'read_committed' }),
        cluster.consumeWithJava({ topic: invoices, isolationLevel: 'read_uncommitted' }),
      ]);
      expect(idsIn(shippedCommitted)).toEqual(okIds);
      expect(idsIn(invoicedCommitted)).toEqual(okIds);
      expect(idsIn(shippedAll)).toEqual([...okIds, ...badIds].sort());
      expect(idsIn(invoicedAll)).toEqual(okIds);
      // each committed record carries its own request's data: nothing of one request went into another's transaction
      for (const r of [...shippedCommitted, ...invoicedCommitted]) {
        const value = JSON.parse(r.value!.toString());
        expect([r.key!.toString(), value.customer]).toEqual([value.id ?? value.orderId, `c-${r.key!.toString().split('-')[1]}`]);
      }
    });

    it('answers 503 on /health once another instance took its transactionalId: the fenced producer is fatal and refuses further transactions', async () => {
      const server = app.getHttpServer();
      const before = await request(server).get('/health');
      expect(before.status).toBe(200);
      expect(before.body.details['kafka-shipping']).toMatchObject({ status: 'up', transaction: { transactionalId: txnId, state: 'READY' } });

      const rival = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, transactionalId: txnId });
      try {
        await rival.initTransactions();
        const fenced = await request(server).post('/orders/late-1/ship').send({ customer: 'late' });
        expect(fenced.status).toBe(500);
        const shipping = app.get<KafkaProducerService>(getKafkaProducerToken(SHIPPING_PRODUCER));
        expect([shipping.state, shipping.transactionState]).toEqual(['fatal', 'FATAL_ERROR']);
        await expect(shipping.transaction(async () => undefined)).rejects.toThrow(ProducerFencedError);

        const after = await request(server).get('/health');
        expect(after.status).toBe(503);
        expect(after.body.details['kafka-shipping']).toMatchObject({
          status: 'down',
          state: 'fatal',
          transaction: { transactionalId: txnId, state: 'FATAL_ERROR' },
          lastError: { name: 'ProducerFencedError' },
          reasons: expect.arrayContaining(['producer is fatal']),
        });
        // the other producer is unaffected
        expect(after.body.details.kafka).toMatchObject({ status: 'up' });
        // the rival, now owning the id, commits; nothing of the fenced request is ever visible
        await rival.transaction(async (tx) => {
          await tx.send({ topic: shipments, partition: 0, key: 'rival', value: '{"id":"rival","customer":"c-rival"}' });
        });
        const committed = await cluster.consumeWithJava({ topic: shipments, isolationLevel: 'read_committed' });
        expect(committed.map((r) => r.key!.toString())).toContain('rival');
        expect(committed.map((r) => r.key!.toString())).not.toContain('late-1');
      } finally {
        await rival.close({ timeoutMs: BOUND_MS });
      }
    });
  });

  describe('a sample-style route on one transactional producer (the queue) and on a pool of 4', () => {
    const runs: Record<string, number> = {};

    /** Builds an app whose POST /ship/:id writes a shipment and an invoice in one @Transactional method. */
    async function shippingApp(producerOptions: { transactionalId?: string; transactionalIdPrefix?: string; transactionPoolSize?: number }, topics: { shipments: string; invoices: string }) {
      @Injectable()
      class Shipping {
        constructor(@InjectKafkaProducer() private readonly kafka: KafkaProducerService) {}

        @Transactional()
        async ship(id: string, fail: boolean): Promise<{ id: string; transactionalId: string }> {
          await this.kafka.send({ topic: topics.shipments, key: id, value: JSON.stringify({ id }) });
          if (fail) throw new Interrupted(`shipping ${id} failed`);
          await this.kafka.send({ topic: topics.invoices, key: id, value: JSON.stringify({ id }) });
          return { id, transactionalId: this.kafka.currentTransaction!.transactionalId };
        }
      }

      @Controller()
      class ShippingController {
        constructor(
          private readonly shipping: Shipping,
          private readonly health: HealthCheckService,
          private readonly kafka: KafkaProducerHealthIndicator,
        ) {}

        @Post('ship/:id')
        ship(@Param('id') id: string, @Body() _body: unknown, @Query('fail') fail?: string) {
          return this.shipping.ship(id, fail === 'midway');
        }

        @Get('health')
        @HealthCheck()
        check() {
          return this.health.check([() => this.kafka.isHealthy('kafka')]);
        }
      }

      @Module({
        imports: [
          KafkaProducerModule.forRoot({ isGlobal: true, bootstrapServers: cluster.bootstrapServers, clientId: 'pool-e2e', lingerMs: 0, connect: 'fail-fast', connectTimeoutMs: 60_000, ...producerOptions }),
          TerminusModule,
          KafkaProducerHealthModule.forProducer(),
        ],
        controllers: [ShippingController],
        providers: [Shipping],
      })
      class ShippingModule {}

      const moduleRef = await Test.createTestingModule({ imports: [ShippingModule] }).compile();
      const app = moduleRef.createNestApplication({ logger: false });
      await app.init();
      return app;
    }

    /** 25 concurrent requests, every fifth failing mid-way; checks each request's records are all or nothing. */
    async function shipConcurrently(app: INestApplication, topics: { shipments: string; invoices: string }, label: string): Promise<{ elapsedMs: number; ids: Set<string> }> {
      const server = app.getHttpServer();
      const started = Date.now();
      const answers = await Promise.all(
        Array.from({ length: 25 }, (_, i) => {
          const fail = i % 5 === 4;
          const id = `${label}-${fail ? 'bad' : 'ok'}-${i}`;
          return request(server)
            .post(`/ship/${id}${fail ? '?fail=midway' : ''}`)
            .then((res) => ({ id, fail, status: res.status, transactionalId: res.body.transactionalId as string | undefined }));
        }),
      );
      const elapsedMs = Date.now() - started;
      expect(answers.map((a) => [a.id, a.status])).toEqual(answers.map((a) => [a.id, a.fail ? 500 : 201]));
      const ok = answers.filter((a) => !a.fail).map((a) => a.id).sort();
      const bad = answers.filter((a) => a.fail).map((a) => a.id).sort();
      const mine = (records: ConsumedRecord[]) => records.map((r) => r.key!.toString()).filter((k) => k.startsWith(`${label}-`)).sort();
      const [shippedCommitted, shippedAll, invoicedCommitted, invoicedAll] = await Promise.all([
        cluster.consumeWithJava({ topic: topics.shipments, isolationLevel: 'read_committed' }),
        cluster.consumeWithJava({ topic: topics.shipments, isolationLevel: 'read_uncommitted' }),
        cluster.consumeWithJava({ topic: topics.invoices, isolationLevel: 'read_committed' }),
        cluster.consumeWithJava({ topic: topics.invoices, isolationLevel: 'read_uncommitted' }),
      ]);
      expect([mine(shippedCommitted), mine(invoicedCommitted), mine(invoicedAll)]).toEqual([ok, ok, ok]);
      expect(mine(shippedAll)).toEqual([...ok, ...bad].sort());
      return { elapsedMs, ids: new Set(answers.flatMap((a) => (a.transactionalId === undefined ? [] : [a.transactionalId]))) };
    }

    afterAll(() => {
      process.stderr.write(`nest-transactions: 25 concurrent requests (2 records each, 5 aborted), one producer vs a pool of 4: ${JSON.stringify(runs)}\n`);
    });

    it('commits every request all-or-nothing on one producer (the queue) and on a pool of 4, the pool running its transactions on several members', async () => {
      const topics = { shipments: uniqueTopic('nest-pool-shipments'), invoices: uniqueTopic('nest-pool-invoices') };
      await cluster.createTopic({ name: topics.shipments, partitions: 3 });
      await cluster.createTopic({ name: topics.invoices, partitions: 3 });
      const single = await shippingApp({ transactionalId: transactionalId('queue') }, topics);
      const prefix = transactionalId('pool');
      const pooled = await shippingApp({ transactionalIdPrefix: prefix, transactionPoolSize: 4 }, topics);
      try {
        // warm-up, so the comparison measures transactions rather than first metadata and coordinator lookups
        await shipConcurrently(single, topics, 'warm-q');
        await shipConcurrently(pooled, topics, 'warm-p');
        const queue = await shipConcurrently(single, topics, 'q');
        const pool = await shipConcurrently(pooled, topics, 'p');
        runs.queueMs = queue.elapsedMs;
        runs.poolMs = pool.elapsedMs;
        expect(queue.ids.size).toBe(1);
        // concurrent requests went to several members, each under its own transactional id
        expect(pool.ids.size).toBeGreaterThan(1);
        expect([...pool.ids].every((id) => /-[0-3]$/.test(id) && id.startsWith(prefix))).toBe(true);
        const health = await request(pooled.getHttpServer()).get('/health');
        expect(health.status).toBe(200);
        expect(health.body.details.kafka.pool.map((m: { transactionalId: string; transactionState: string }) => [m.transactionalId, m.transactionState])).toEqual(
          [0, 1, 2, 3].map((i) => [`${prefix}-${i}`, 'READY']),
        );
      } finally {
        await single.close();
        await pooled.close();
      }
    });

    it('keeps serving from the other members once one member is fenced, while /health answers 503 naming the fenced member', async () => {
      const topics = { shipments: uniqueTopic('nest-pool-fenced-shipments'), invoices: uniqueTopic('nest-pool-fenced-invoices') };
      await cluster.createTopic({ name: topics.shipments, partitions: 2 });
      await cluster.createTopic({ name: topics.invoices, partitions: 2 });
      const prefix = transactionalId('pool-fenced');
      const app = await shippingApp({ transactionalIdPrefix: prefix, transactionPoolSize: 3 }, topics);
      const rival = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, transactionalId: `${prefix}-1` });
      try {
        await rival.initTransactions();
        const server = app.getHttpServer();
        // three at once: one of them runs on the fenced member and fails
        const first = await Promise.all([0, 1, 2].map((i) => request(server).post(`/ship/f1-${i}`)));
        expect(first.map((r) => r.status).sort()).toEqual([201, 201, 500]);
        const service = app.get(KafkaProducerService);
        expect(service.producers.map((p) => p.transactionState)).toEqual(['READY', 'FATAL_ERROR', 'READY']);
        // later requests skip the fenced member
        const second = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => request(server).post(`/ship/f2-${i}`)));
        expect(second.map((r) => [r.status, r.body.transactionalId])).toEqual(second.map((r) => [201, r.body.transactionalId]));
        expect(new Set(second.map((r) => r.body.transactionalId))).not.toContain(`${prefix}-1`);
        const health = await request(server).get('/health');
        expect(health.status).toBe(503);
        expect(health.body.details.kafka).toMatchObject({
          status: 'down',
          state: 'fatal',
          transaction: { transactionalId: `${prefix}-1`, state: 'FATAL_ERROR' },
          lastError: { name: 'ProducerFencedError' },
        });
        expect(health.body.details.kafka.pool.map((m: { transactionState: string }) => m.transactionState)).toEqual(['READY', 'FATAL_ERROR', 'READY']);
        const committed = await cluster.consumeWithJava({ topic: topics.invoices, isolationLevel: 'read_committed' });
        expect(committed.map((r) => r.key!.toString()).sort()).toEqual([...first.filter((r) => r.status === 201).map((r) => r.body.id), ...second.map((r) => r.body.id)].sort());
      } finally {
        await rival.close({ timeoutMs: BOUND_MS });
        await app.close();
      }
    });
  });
});
