import 'reflect-metadata';
import { Injectable, Logger } from '@nestjs/common';
import { ClientsModule, type ClientProxy } from '@nestjs/microservices';
import { Test, type TestingModule } from '@nestjs/testing';
import { filter, firstValueFrom, lastValueFrom } from 'rxjs';
import { RecordTooLargeError } from '@app/kafka-producer';
import { sharedCluster } from '@app/kafka-testing';
import { KafkaProducerModule, KafkaProducerService, type KafkaDeliveryError } from '@app/nestjs-kafka-producer';
import {
  InjectKafkaClient,
  KafkaClientRequestResponseNotSupportedException,
  KafkaProducerClientModule,
  KafkaProducerClientProxy,
  KafkaRecordBuilder,
} from '@app/nestjs-kafka-producer/microservices';
import { uniqueTopic } from './support/round-trip';

/** Waits until `check` holds (polling), failing after a generous deadline. */
async function eventually(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const unobservedFailureLogs = (spy: jest.SpyInstance): string[] => spy.mock.calls.map((c) => String(c[0])).filter((m) => m.includes('nobody subscribed'));

/** KafkaProducerClientProxy against the real broker; what it produced is read back with the Java consumer. */
describe('KafkaProducerClientProxy', () => {
  const cluster = sharedCluster();
  afterEach(() => jest.restoreAllMocks());

  @Injectable()
  class Emitter {
    constructor(
      @InjectKafkaClient() readonly client: KafkaProducerClientProxy,
      @InjectKafkaClient('ORDERS') readonly orders: ClientProxy,
      readonly producer: KafkaProducerService,
    ) {}
  }

  async function diApp(): Promise<TestingModule> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        KafkaProducerModule.forRoot({ isGlobal: true, bootstrapServers: cluster.bootstrapServers, clientId: 'client-proxy-e2e' }),
        KafkaProducerClientModule.register(),
        KafkaProducerClientModule.register({ name: 'ORDERS' }),
      ],
      providers: [Emitter],
    }).compile();
    return moduleRef.init();
  }

  it('through DI on the shared producer: emits resolve to delivery reports, records built with KafkaRecordBuilder carry key, headers and partition, and a plain object with a key field is the JSON value', async () => {
    const topic = uniqueTopic('client-di');
    await cluster.createTopic({ name: topic, partitions: 3, replicationFactor: 1 });
    const app = await diApp();
    const { client, orders, producer } = app.get(Emitter);
    expect(client.unwrap()).toBe(producer.producer);
    await firstValueFrom(client.status.pipe(filter((s) => s === 'ready')));

    const built = await lastValueFrom(orders.emit(topic, new KafkaRecordBuilder({ id: 1 }).setKey('order-1').setHeaders([['source', 'e2e']]).setPartition(2).build()));
    const plain = await lastValueFrom(client.emit(topic, { key: 'just-a-field', value: 12 }));
    const many = await Promise.all(Array.from({ length: 10 }, (_, i) => lastValueFrom(client.emit(topic, `v${i}`))));
    await app.close();

    expect(built).toMatchObject({ topic, partition: 2 });
    expect(typeof plain.offset).toBe('string');
    expect(() => JSON.stringify(many)).not.toThrow();
    const consumed = await cluster.consumeWithJava({ topic, expectedCount: 12 });
    const byValue = new Map(consumed.map((r) => [r.value!.toString(), r]));
    const record = byValue.get('{"id":1}')!;
    expect([record.key?.toString(), record.partition, record.offset.toString()]).toEqual(['order-1', 2, built.offset]);
    expect(record.headers.map(([k, v]) => [k, v?.toString()])).toEqual([['source', 'e2e']]);
    const object = byValue.get('{"key":"just-a-field","value":12}')!;
    expect([object.key, object.partition, object.offset.toString()]).toEqual([null, plain.partition, plain.offset]);
    for (const [i, rep] of many.entries()) expect(byValue.get(`v${i}`)?.offset.toString()).toBe(rep.offset);
  });

  it('closing a DI client leaves the shared producer working for its other users', async () => {
    const topic = uniqueTopic('client-close');
    await cluster.createTopic({ name: topic, partitions: 1, replicationFactor: 1 });
    const app = await diApp();
    const { client, orders, producer } = app.get(Emitter);
    await client.close();
    await (client as unknown as { onApplicationShutdown(): Promise<void> }).onApplicationShutdown();
    expect(producer.state).not.toMatch(/closing|closed/);
    await producer.send({ topic, value: 'after close, through the producer' });
    await lastValueFrom(orders.emit(topic, 'after close, through another client'));
    await lastValueFrom(client.emit(topic, 'after close, through the closed client'));
    await app.close();
    const consumed = await cluster.consumeWithJava({ topic, expectedCount: 3 });
    expect(consumed.map((r) => r.value!.toString()).sort()).toEqual(['after close, through another client', 'after close, through the closed client', 'after close, through the producer']);
  });

  it('send() (request/response) errors with a clear exception', async () => {
    const app = await diApp();
    const { orders } = app.get(Emitter);
    const error = await lastValueFrom(orders.send('anything', { q: 1 })).catch((e: unknown) => e);
    await app.close();
    expect(error).toBeInstanceOf(KafkaClientRequestResponseNotSupportedException);
    expect((error as Error).message).toContain('not supported by a producer-only transport');
  });

  it('an emit nobody subscribed to that fails (invalid topic name) is logged and reaches errors$', async () => {
    const app = await diApp();
    const { client, producer } = app.get(Emitter);
    const logged = jest.spyOn(Logger.prototype, 'error');
    const errors: KafkaDeliveryError[] = [];
    const sub = producer.errors$.subscribe((e) => errors.push(e));
    client.emit('not a valid topic!', 'lost with ClientKafka');
    await eventually(() => unobservedFailureLogs(logged).length === 1 && errors.length === 1, 'the log line and errors$');
    sub.unsubscribe();
    await app.close();
    expect(unobservedFailureLogs(logged)[0]).toMatch(/^emit\('not a valid topic!'\) failed and nobody subscribed to its result: /);
    expect(errors[0].topic).toBe('not a valid topic!');
  });

  it('through ClientsModule with its own producer: emits reach the broker, a too-large record is logged when unobserved and an error when observed, and shutdown flushes lingering records and closes the producer', async () => {
    const topic = uniqueTopic('client-module');
    await cluster.createTopic({ name: topic, partitions: 2, replicationFactor: 1 });
    const moduleRef = await Test.createTestingModule({
      imports: [
        ClientsModule.register([
          { name: 'KAFKA_OUT', customClass: KafkaProducerClientProxy, options: { bootstrapServers: cluster.bootstrapServers, clientId: 'clients-module', lingerMs: 1000, maxRequestSize: 4096 } },
        ]),
      ],
    }).compile();
    const app = await moduleRef.init();
    const client = app.get<KafkaProducerClientProxy>('KAFKA_OUT');
    expect(client).toBeInstanceOf(KafkaProducerClientProxy);
    const logged = jest.spyOn(Logger.prototype, 'error');
    const errors: KafkaDeliveryError[] = [];
    const sub = client.service.errors$.subscribe((e) => errors.push(e));

    const first = await lastValueFrom(client.emit(topic, { n: 0 }));
    expect(first.topic).toBe(topic);
    await expect(lastValueFrom(client.emit(topic, 'x'.repeat(10_000)))).rejects.toBeInstanceOf(RecordTooLargeError);
    client.emit(topic, 'y'.repeat(10_000));
    await eventually(() => unobservedFailureLogs(logged).length === 1, 'the log line');
    expect(unobservedFailureLogs(logged)[0]).toContain('maxRequestSize');
    // lingering (lingerMs 1000) and never awaited: shutdown has to complete them
    for (let i = 1; i <= 49; i++) client.emit(topic, { n: i });
    await app.close();
    sub.unsubscribe();

    expect(client.service.state).toBe('closed');
    expect(errors).toHaveLength(2);
    const consumed = await cluster.consumeWithJava({ topic, expectedCount: 50 });
    expect(consumed.map((r) => JSON.parse(r.value!.toString()).n).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});
