import 'reflect-metadata';
import type { ProducerRecord, ProducerRecordHeaders } from '@app/kafka-producer';
import { Body, Controller, HttpCode, Injectable, Logger, Module, Post, UseGuards, type CanActivate, type ExecutionContext, type INestApplication, type PipeTransform } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import * as request from 'supertest';
import { firstValueFrom, take, toArray } from 'rxjs';
import { sharedCluster, type ConsumedRecord } from '@app/kafka-testing';
import {
  KAFKA_PRODUCE_CONFIG,
  KafkaExceptionFilter,
  KafkaProduceNotBoundException,
  KafkaProduceTopicConfigException,
  KafkaProducerModule,
  KafkaProducerService,
  Produce,
  type KafkaProducerInterceptor,
} from '@app/nestjs-kafka-producer';
import { uniqueTopic } from './support/round-trip';

const topics = {
  service: uniqueTopic('produce-service'),
  route: uniqueTopic('produce-route'),
  lines: uniqueTopic('produce-lines'),
  later: uniqueTopic('produce-later'),
};

/** A service the interceptor injects: the header value comes from DI, not from the interceptor. */
@Injectable()
class Stamp {
  readonly value = 'stamped-through-di';
}

@Module({ providers: [Stamp], exports: [Stamp] })
class StampModule {}

@Injectable()
class StampInterceptor implements KafkaProducerInterceptor {
  constructor(private readonly stamp: Stamp) {}

  onSend(record: ProducerRecord): ProducerRecord {
    return { ...record, headers: [...headerPairs(record.headers), ['x-stamp', this.stamp.value]] };
  }
}

function headerPairs(headers: ProducerRecordHeaders | undefined): Array<readonly [string, Buffer | string | null]> {
  if (headers === undefined) return [];
  if (Array.isArray(headers)) return headers as Array<readonly [string, Buffer | string | null]>;
  return Object.entries(headers as Record<string, string>).map(([k, v]) => [k, v] as const);
}

@Injectable()
class OrdersService {
  @Produce({ topic: { config: 'ORDERS_TOPIC' }, key: (o: { id: string }) => o.id, headers: (_o: unknown, _id: string, by: string) => ({ 'x-by': by }) })
  async place(id: string, by: string) {
    return { id, by };
  }

  @Produce({ topic: (topic: string) => topic, key: (line: { sku: string }) => line.sku, headers: (line: { sku: string }) => ({ 'x-sku': line.sku }) })
  async lines(_topic: string, skus: string[]) {
    return skus.map((sku) => ({ sku }));
  }

  @Produce({ topic: (topic: string) => topic, await: false })
  later(_topic: string, value: string) {
    return value;
  }

  @Produce({ topic: 'never', producer: 'not-registered' })
  async orphan() {
    return 'x';
  }
}

let guardCalls = 0;

@Injectable()
class ApiKeyGuard implements CanActivate {
  canActivate(ctx: ExecutionContext): boolean {
    guardCalls++;
    return ctx.switchToHttp().getRequest().headers['x-api-key'] === 'ok';
  }
}

/** Proves the pipe ran: the id reaches the handler (and the record) trimmed and upper-cased. */
class NormalizeIdPipe implements PipeTransform {
  transform(body: { id: string }) {
    return { ...body, id: String(body.id).trim().toUpperCase() };
  }
}

@Controller('orders')
class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  // route decorators on both sides of @Produce: the ones below it were applied to the original method
  @Post()
  @UseGuards(ApiKeyGuard)
  @Produce({ topic: { config: 'ROUTE_TOPIC' }, key: (o: { id: string }) => o.id })
  @HttpCode(202)
  async create(@Body(NormalizeIdPipe) body: { id: string }) {
    return { id: body.id, accepted: true };
  }

  @Post('via-service')
  async viaService(@Body() body: { id: string }) {
    return this.orders.place(body.id, 'http');
  }

  @Post('huge')
  @Produce({ topic: { config: 'ROUTE_TOPIC' } })
  async huge() {
    return 'x'.repeat(2 * 1024 * 1024);
  }
}

describe('@Produce in a Nest HTTP app', () => {
  const cluster = sharedCluster();
  let app: INestApplication;
  let producer: KafkaProducerService;

  beforeAll(async () => {
    await cluster.createTopics(Object.values(topics).map((name) => ({ name, partitions: 2, replicationFactor: 1 })));
    const config: Record<string, string> = { ORDERS_TOPIC: topics.service, ROUTE_TOPIC: topics.route };
    const moduleRef = await Test.createTestingModule({
      imports: [
        KafkaProducerModule.forRootAsync({
          imports: [StampModule],
          useFactory: () => ({ bootstrapServers: cluster.bootstrapServers, clientId: 'nest-produce', interceptors: [StampInterceptor] }),
        }),
      ],
      controllers: [OrdersController],
      providers: [OrdersService, ApiKeyGuard, { provide: KAFKA_PRODUCE_CONFIG, useValue: { get: (key: string) => config[key] } }],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.useGlobalFilters(new KafkaExceptionFilter(app.get(HttpAdapterHost)));
    await app.init();
    producer = app.get(KafkaProducerService);
  });

  afterAll(async () => {
    await app?.close();
  });

  const header = (r: ConsumedRecord, key: string) => r.headers.find(([k]) => k === key)?.[1]?.toString();

  it('a service method sends its result, keyed and with headers from its arguments, and the DI interceptor stamps it', async () => {
    const orders = app.get(OrdersService);
    const results = [await orders.place('o-1', 'cli'), await orders.place('o-2', 'cli')];
    expect(results).toEqual([
      { id: 'o-1', by: 'cli' },
      { id: 'o-2', by: 'cli' },
    ]);
    const viaHttp = await request(app.getHttpServer()).post('/orders/via-service').send({ id: 'o-3' });
    expect([viaHttp.status, viaHttp.body]).toEqual([201, { id: 'o-3', by: 'http' }]);
    const consumed = await cluster.consumeWithJava({ topic: topics.service, expectedCount: 3 });
    const byKey = new Map(consumed.map((r) => [r.key!.toString(), r]));
    expect([...byKey.keys()].sort()).toEqual(['o-1', 'o-2', 'o-3']);
    expect(JSON.parse(byKey.get('o-3')!.value!.toString())).toEqual({ id: 'o-3', by: 'http' });
    for (const r of consumed) expect(header(r, 'x-stamp')).toBe('stamped-through-di');
    expect(header(byKey.get('o-1')!, 'x-by')).toBe('cli');
  });

  it('a route handler keeps its status, body, guard and pipe, and sends only what it answered', async () => {
    const server = app.getHttpServer();
    const refused = await request(server).post('/orders').send({ id: 'nope' });
    expect(refused.status).toBe(403);
    const guardCallsBefore = guardCalls;
    const accepted = await request(server).post('/orders').set('x-api-key', 'ok').send({ id: '  r-1 ' });
    expect(guardCalls).toBe(guardCallsBefore + 1);
    expect([accepted.status, accepted.body]).toEqual([202, { id: 'R-1', accepted: true }]);
    // read to the end offsets: the refused request must have produced nothing
    const consumed = await cluster.consumeWithJava({ topic: topics.route });
    expect(consumed.map((r) => [r.key!.toString(), JSON.parse(r.value!.toString()), header(r, 'x-stamp')])).toEqual([['R-1', { id: 'R-1', accepted: true }, 'stamped-through-di']]);
  });

  it('a Kafka error reaching a route becomes an HTTP status through KafkaExceptionFilter (record too large: 413)', async () => {
    const res = await request(app.getHttpServer()).post('/orders/huge');
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ statusCode: 413, code: 'RECORD_TOO_LARGE' });
  });

  it('an array result sends one record per element, each keyed by its own function call', async () => {
    const skus = ['a', 'b', 'c', 'd'];
    await expect(app.get(OrdersService).lines(topics.lines, skus)).resolves.toEqual(skus.map((sku) => ({ sku })));
    const consumed = await cluster.consumeWithJava({ topic: topics.lines, expectedCount: 4 });
    expect(consumed.map((r) => [r.key!.toString(), header(r, 'x-sku'), r.value!.toString()]).sort()).toEqual(skus.map((s) => [s, s, JSON.stringify({ sku: s })]));
  });

  it('await: false returns the result at once, still delivers, and a failure shows in errors$ instead of rejecting', async () => {
    const orders = app.get(OrdersService);
    const delivered = firstValueFrom(producer.deliveriesFor(topics.later).pipe(take(1)));
    const failed = firstValueFrom(producer.errors$.pipe(take(1), toArray()));
    const loggedError = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      // synchronous method, synchronous answer: nothing waited for the broker
      expect(orders.later(topics.later, 'quick')).toBe('quick');
      expect(orders.later('not a valid topic!', 'lost')).toBe('lost');
      const [failure] = await failed;
      expect(failure.topic).toBe('not a valid topic!');
      expect(failure.error.name).toBe('InvalidRecordError');
      expect((await delivered).topic).toBe(topics.later);
      await producer.flush();
      expect(loggedError).toHaveBeenCalledWith(expect.stringContaining('not a valid topic!'));
    } finally {
      loggedError.mockRestore();
    }
    const consumed = await cluster.consumeWithJava({ topic: topics.later, expectedCount: 1 });
    expect(consumed[0].value!.toString()).toBe('quick');
  });

  it('a method naming a producer no module registered fails with a clear exception', async () => {
    await expect(async () => app.get(OrdersService).orphan()).rejects.toThrow(KafkaProduceNotBoundException);
    await expect(async () => app.get(OrdersService).orphan()).rejects.toThrow(/did you import KafkaProducerModule with name not-registered/);
  });
});

describe('@Produce topic from config', () => {
  const cluster = sharedCluster();

  it('a config key with no value stops boot, naming the method and the key', async () => {
    @Injectable()
    class Misconfigured {
      @Produce({ topic: { config: 'NEST_PRODUCE_E2E_TOPIC_THAT_IS_NOT_SET' } })
      async send() {
        return 'x';
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [KafkaProducerModule.forRoot({ bootstrapServers: cluster.bootstrapServers, clientId: 'nest-produce-config' })],
      providers: [Misconfigured],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    try {
      await expect(app.init()).rejects.toThrow(KafkaProduceTopicConfigException);
      await expect(app.init()).rejects.toThrow(/Misconfigured\.send: topic config key NEST_PRODUCE_E2E_TOPIC_THAT_IS_NOT_SET has no value \(looked in process\.env\)/);
    } finally {
      await app.close();
    }
  });
});
