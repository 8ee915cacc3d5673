import 'reflect-metadata';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { KafkaProducerModule } from 'nestjs-kafka-wire-producer';
import { KafkaProducerHealthIndicator, KafkaProducerHealthModule } from 'nestjs-kafka-wire-producer/health';
import { bootstrapServers } from '../support/broker.cjs';

@Controller()
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly kafka: KafkaProducerHealthIndicator,
  ) {}

  @Get('health')
  @HealthCheck()
  check() {
    return this.health.check([() => this.kafka.isHealthy('kafka')]);
  }
}

describe('the health entry point with @nestjs/terminus 12', () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        KafkaProducerModule.forRoot({ isGlobal: true, bootstrapServers, clientId: 'nest12-health', connect: 'fail-fast' }),
        TerminusModule.forRoot({ logger: false }),
        KafkaProducerHealthModule.forProducer(),
      ],
      controllers: [HealthController],
    }).compile();
    app = moduleRef.createNestApplication({ logger: ['error'] });
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
  });

  it('GET /health answers 200 with the producer up once it is connected to the broker', async () => {
    const res = await request(app.getHttpServer()).get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', details: { kafka: { status: 'up' } } });
  });
});
