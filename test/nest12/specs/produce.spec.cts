import 'reflect-metadata';
import { Body, Controller, HttpCode, Post, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { KAFKA_PRODUCE_CONFIG, KafkaProducerModule, Produce } from 'nestjs-kafka-wire-producer';
import { bootstrapServers, consumeWithJava, createTopic } from '../support/broker.cjs';

@Controller('orders')
class OrdersController {
  // route decorators on both sides of @Produce must survive the bootstrap-time wrapping
  @Post()
  @Produce({ topic: { config: 'ORDERS_TOPIC' }, key: (order: { id: string }) => order.id, headers: (_order: unknown, body: { by: string }) => ({ 'x-by': body.by }) })
  @HttpCode(202)
  async create(@Body() body: { id: string; by: string }) {
    return { id: body.id, accepted: true };
  }
}

describe('@Produce on a Nest 12 route handler', () => {
  let app: INestApplication;
  let topic: string;

  beforeAll(async () => {
    topic = await createTopic('produce-route');
    const moduleRef = await Test.createTestingModule({
      imports: [KafkaProducerModule.forRoot({ bootstrapServers, clientId: 'nest12-produce' })],
      controllers: [OrdersController],
      providers: [{ provide: KAFKA_PRODUCE_CONFIG, useValue: { get: (key: string) => (key === 'ORDERS_TOPIC' ? topic : undefined) } }],
    }).compile();
    app = moduleRef.createNestApplication({ logger: ['error'] });
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
  });

  it("sends the handler's result, keyed and with headers from its arguments, and answers with the route's status and body once acknowledged", async () => {
    const res = await request(app.getHttpServer()).post('/orders').send({ id: 'o-12', by: 'http' });
    expect([res.status, res.body]).toEqual([202, { id: 'o-12', accepted: true }]);

    const [record] = await consumeWithJava(topic, 1);
    expect(record.key).toBe('o-12');
    expect(JSON.parse(record.value ?? 'null')).toEqual({ id: 'o-12', accepted: true });
    expect(record.headers).toEqual([['x-by', 'http']]);
  });
});
