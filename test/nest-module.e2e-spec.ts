import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { firstValueFrom, take, toArray } from 'rxjs';
import { sharedCluster } from '@app/kafka-testing';
import { jsonSerializer, type ProducerRecord } from '@app/kafka-producer';
import {
  getKafkaProducerToken,
  InjectKafkaProducer,
  KafkaProducerInterceptorsModule,
  type KafkaProducerInterceptor,
  KafkaProducerConnectException,
  KafkaProducerModule,
  KafkaProducerOptionsException,
  KafkaProducerService,
  type KafkaDeliveryError,
  type KafkaDeliveryReport,
} from '@app/nestjs-kafka-producer';
import { uniqueTopic } from './support/round-trip';

/** KafkaProducerModule against the real broker; what the app produced is read back with the Java consumer. */
describe('KafkaProducerModule', () => {
  const cluster = sharedCluster();

  it('forRoot registers an injectable producer whose sends, delivery stream and state stream agree with the Java consumer', async () => {
    const topic = uniqueTopic('nest-root');
    await cluster.createTopic({ name: topic, partitions: 2, replicationFactor: 1 });
    const moduleRef = await Test.createTestingModule({ imports: [KafkaProducerModule.forRoot({ bootstrapServers: cluster.bootstrapServers, clientId: 'nest-e2e' })] }).compile();
    const app = await moduleRef.init();
    const producer = app.get(KafkaProducerService);
    const states: string[] = [];
    const stateSub = producer.status$.subscribe((s) => states.push(s));
    const delivered: KafkaDeliveryReport[] = [];
    const sub = producer.deliveriesFor(topic).subscribe((r) => delivered.push(r));
    const reports = await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send({ topic, key: `k${i}`, value: `v${i}` })));
    const viaObservable = await firstValueFrom(producer.send$({ topic, key: 'k-obs', value: 'from send$' }));
    await app.close();
    sub.unsubscribe();
    stateSub.unsubscribe();
    // JSON-safe: offsets are strings, so reports can go into an HTTP body as they are
    expect(() => JSON.stringify(reports)).not.toThrow();
    expect(typeof viaObservable.offset).toBe('string');
    expect(delivered).toHaveLength(21);
    expect(states[states.length - 1]).toBe('closed');
    expect(states).toContain('ready');
    const consumed = await cluster.consumeWithJava({ topic, expectedCount: 21 });
    const byValue = new Map(consumed.map((r) => [r.value!.toString(), r]));
    for (const [i, rep] of reports.entries()) {
      const r = byValue.get(`v${i}`)!;
      expect([r.partition, r.offset.toString()]).toEqual([rep.partition, rep.offset]);
    }
  });

  it('forRootAsync takes options from a factory, and named producers are injected side by side', async () => {
    const topic = uniqueTopic('nest-named');
    await cluster.createTopic({ name: topic, partitions: 1, replicationFactor: 1 });
    @Injectable()
    class Config {
      readonly servers = cluster.bootstrapServers;
    }
    @Module({ providers: [Config], exports: [Config] })
    class ConfigModule {}
    @Injectable()
    class Audit {
      constructor(
        @InjectKafkaProducer() readonly main: KafkaProducerService,
        @InjectKafkaProducer('audit') readonly audit: KafkaProducerService,
      ) {}
    }
    const moduleRef = await Test.createTestingModule({
      imports: [
        KafkaProducerModule.forRootAsync({ imports: [ConfigModule], inject: [Config], useFactory: (c: Config) => ({ bootstrapServers: c.servers, clientId: 'main' }) }),
        KafkaProducerModule.forRoot({ name: 'audit', bootstrapServers: cluster.bootstrapServers, clientId: 'audit' }),
      ],
      providers: [Audit],
    }).compile();
    const app = await moduleRef.init();
    const audit = app.get(Audit);
    expect(audit.main).not.toBe(audit.audit);
    expect(audit.main.producer.config.clientId).toBe('main');
    expect(audit.audit.producer.config.clientId).toBe('audit');
    await audit.main.send({ topic, value: 'main' });
    await audit.audit.send({ topic, value: 'audit' });
    await app.close();
    const consumed = await cluster.consumeWithJava({ topic, expectedCount: 2 });
    expect(consumed.map((r) => r.value!.toString()).sort()).toEqual(['audit', 'main']);
  });

  it('app.close() right after sends with lingerMs 1000 loses none of them', async () => {
    const topic = uniqueTopic('nest-close');
    await cluster.createTopic({ name: topic, partitions: 3, replicationFactor: 1 });
    const moduleRef = await Test.createTestingModule({ imports: [KafkaProducerModule.forRoot({ bootstrapServers: cluster.bootstrapServers, lingerMs: 1000 })] }).compile();
    const app = await moduleRef.init();
    const producer = app.get(KafkaProducerService);
    const errors: KafkaDeliveryError[] = [];
    producer.errors$.subscribe((e) => errors.push(e));
    const sends = Array.from({ length: 500 }, (_, i) => producer.send({ topic, value: `late-${i}` }));
    await app.close();
    await Promise.all(sends);
    expect(errors).toEqual([]);
    const consumed = await cluster.consumeWithJava({ topic, expectedCount: 500 });
    expect(consumed).toHaveLength(500);
  });

  it('deliveries$ and errors$ emit exactly the records that were acknowledged and that failed', async () => {
    const topic = uniqueTopic('nest-counts');
    await cluster.createTopic({ name: topic, partitions: 1, replicationFactor: 1 });
    const moduleRef = await Test.createTestingModule({ imports: [KafkaProducerModule.forRoot({ bootstrapServers: cluster.bootstrapServers, maxRequestSize: 10_000 })] }).compile();
    const app = await moduleRef.init();
    const producer = app.get(KafkaProducerService);
    const delivered: KafkaDeliveryReport[] = [];
    const failed: KafkaDeliveryError[] = [];
    producer.deliveries$.subscribe((r) => delivered.push(r));
    producer.errors$.subscribe((e) => failed.push(e));
    const outcomes = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) => producer.send({ topic, value: i % 10 === 0 ? Buffer.alloc(20_000) : `ok-${i}` })),
    );
    await app.close();
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(27);
    expect(delivered).toHaveLength(27);
    expect(failed).toHaveLength(3);
    expect(failed.every((f) => f.topic === topic && (f.error as { code?: string }).code === 'RECORD_TOO_LARGE')).toBe(true);
    const consumed = await cluster.consumeWithJava({ topic });
    expect(consumed).toHaveLength(27);
  });

  it('KafkaProducerInterceptorsModule registers interceptors (with injected services) that every producer runs, before its own', async () => {
    const topic = uniqueTopic('nest-global-interceptors');
    await cluster.createTopic({ name: topic, partitions: 1, replicationFactor: 1 });
    @Injectable()
    class Stamp {
      readonly value = 'stamped';
    }
    @Module({ providers: [Stamp], exports: [Stamp] })
    class StampModule {}
    @Injectable()
    class GlobalStamp implements KafkaProducerInterceptor {
      constructor(private readonly stamp: Stamp) {}
      onSend(record: ProducerRecord) {
        return { ...record, headers: [...((record.headers as Array<[string, string]>) ?? []), ['x-global', this.stamp.value]] as Array<[string, string]> };
      }
    }
    const own: KafkaProducerInterceptor = { onSend: (record) => ({ ...record, headers: [...((record.headers as Array<[string, string]>) ?? []), ['x-own', 'audit']] }) };
    const moduleRef = await Test.createTestingModule({
      imports: [
        KafkaProducerInterceptorsModule.forRoot([GlobalStamp], { imports: [StampModule] }),
        KafkaProducerModule.forRoot({ bootstrapServers: cluster.bootstrapServers }),
        KafkaProducerModule.forRoot({ name: 'audit', bootstrapServers: cluster.bootstrapServers, interceptors: [own] }),
      ],
    }).compile();
    const app = await moduleRef.init();
    await app.get(KafkaProducerService).send({ topic, value: 'main' });
    await app.get<KafkaProducerService>(getKafkaProducerToken('audit')).send({ topic, value: 'audit' });
    await app.close();
    const consumed = await cluster.consumeWithJava({ topic, expectedCount: 2 });
    const headers = (v: string) => consumed.find((r) => r.value!.toString() === v)!.headers.map(([k, h]) => `${k}=${h?.toString()}`);
    expect(headers('main')).toEqual(['x-global=stamped']);
    expect(headers('audit')).toEqual(['x-global=stamped', 'x-own=audit']);
  });

  it('functions and class instances in the options (serializers, partitioner) reach the producer untouched', async () => {
    const topic = uniqueTopic('nest-functions');
    await cluster.createTopic({ name: topic, partitions: 3, replicationFactor: 1 });
    const moduleRef = await Test.createTestingModule({
      imports: [KafkaProducerModule.forRoot({ bootstrapServers: cluster.bootstrapServers, valueSerializer: jsonSerializer, partitioner: { partition: () => 2 } })],
    }).compile();
    const app = await moduleRef.init();
    const report = await app.get(KafkaProducerService).send({ topic, value: { id: 7, items: ['a'] } as never });
    await app.close();
    expect(report.partition).toBe(2);
    const [record] = await cluster.consumeWithJava({ topic, expectedCount: 1 });
    expect(JSON.parse(record.value!.toString())).toEqual({ id: 7, items: ['a'] });
  });

  it('bad options stop boot with one message naming every bad field', async () => {
    const compile = Test.createTestingModule({
      imports: [
        KafkaProducerModule.forRootAsync({
          useFactory: async () => ({ bootstrapServers: cluster.bootstrapServers, lingerMs: -1, lingerMS: 5, connect: 'sometimes', clientId: 42, sasl: { password: 'hunter2-secret' } }) as never,
        }),
      ],
    }).compile();
    const error = (await compile.catch((e: Error) => e)) as Error;
    expect(error).toBeInstanceOf(KafkaProducerOptionsException);
    expect(error.message).toMatch(/^KafkaProducerModule \(default\): invalid options: /);
    for (const field of ['lingerMs must not be less than 0', 'lingerMS', 'did you mean lingerMs', 'connect must be', 'clientId must be a string', 'sasl']) expect(error.message).toContain(field);
    // one message per field, and no value (a secret) in it
    expect(error.message.match(/lingerMs /g)).toHaveLength(1);
    expect(error.message).not.toContain('hunter2');
    expect(JSON.stringify((error as KafkaProducerOptionsException).problems)).not.toContain('hunter2');
  });

  it("connect: 'fail-fast' with no broker stops boot within its bound; 'background' boots at once", async () => {
    const unreachable = ['127.0.0.1:1'];
    const started = Date.now();
    const failing = await Test.createTestingModule({ imports: [KafkaProducerModule.forRoot({ bootstrapServers: unreachable, connect: 'fail-fast', connectTimeoutMs: 2000 })] }).compile();
    const error = (await failing.init().catch((e: Error) => e)) as Error;
    expect(error).toBeInstanceOf(KafkaProducerConnectException);
    expect(Date.now() - started).toBeLessThan(2000 + 10_000);
    await failing.close().catch(() => undefined);

    const background = await Test.createTestingModule({ imports: [KafkaProducerModule.forRoot({ bootstrapServers: unreachable, connect: 'background', reconnectBackoffMaxMs: 200 })] }).compile();
    const app = await background.init();
    const producer = app.get(KafkaProducerService);
    const state = await firstValueFrom(producer.status$.pipe(take(1), toArray()));
    expect(state[0]).toMatch(/connecting|degraded/);
    await app.close();
  });
});
