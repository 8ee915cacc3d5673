import 'reflect-metadata';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import * as request from 'supertest';
import { KafkaCluster } from '@app/kafka-testing';
import { KafkaProducerModule, KafkaProducerService } from '@app/nestjs-kafka-producer';
import { KafkaProducerHealthIndicator, KafkaProducerHealthModule } from '@app/nestjs-kafka-producer/health';
import { uniqueTopic } from './support/round-trip';

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

interface HealthAnswer {
  status: number;
  body: { status: string; details: { kafka: Record<string, unknown> } };
}

/**
 * GET /health through Terminus against a private one-node cluster whose broker is killed and started
 * again. The indicator only reads the producer's state; whether /health follows the broker is up to
 * what the producer itself notices and repairs in the background. Measured on the producer as of this
 * file: a connect() leaves no node connection open (connectedBrokers stays [] until the first send),
 * and after a lost connection nothing reconnects while the producer is idle, so the first and the last
 * spec fail until the producer keeps a connection and reconnects with backoff on its own.
 */
describe('GET /health with KafkaProducerHealthModule (broker killed and restarted)', () => {
  const NODE = 1;
  // generous: a loaded two-core machine, and the producer's reconnect backoff
  const BOUND_MS = 30_000;
  let cluster: KafkaCluster;
  let app: INestApplication;
  let topic: string;

  beforeAll(async () => {
    cluster = await KafkaCluster.start({ nodes: 1 });
    topic = uniqueTopic('nest-health');
    await cluster.createTopic({ name: topic, partitions: 1, replicationFactor: 1 });
    @Module({
      imports: [
        KafkaProducerModule.forRoot({ isGlobal: true, bootstrapServers: cluster.bootstrapServers, clientId: 'nest-health-e2e', requestTimeoutMs: 5000 }),
        // a down check is the expected answer here, not something to log on every poll
        TerminusModule.forRoot({ logger: false }),
        KafkaProducerHealthModule.forProducer(),
      ],
      controllers: [HealthController],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: ['error'] });
    await app.init();
  }, 240_000);

  afterAll(async () => {
    await app?.close();
    await cluster?.stop();
  });

  async function health(): Promise<HealthAnswer> {
    const res = await request(app.getHttpServer()).get('/health');
    return { status: res.status, body: res.body as HealthAnswer['body'] };
  }

  /** Polls /health until it answers `status`; the last answer is returned either way, for the assertion. */
  async function healthUntil(status: number, boundMs = BOUND_MS): Promise<HealthAnswer & { afterMs: number }> {
    const start = Date.now();
    let last = await health();
    while (last.status !== status && Date.now() - start < boundMs) {
      await new Promise((r) => setTimeout(r, 200));
      last = await health();
    }
    return { ...last, afterMs: Date.now() - start };
  }

  it('answers 200 with details while the broker runs, before the app has sent anything', async () => {
    const answer = await healthUntil(200);
    expect({ status: answer.status, kafka: answer.body.details.kafka }).toEqual({
      status: 200,
      kafka: expect.objectContaining({ status: 'up', state: 'ready', knownBrokers: 1, connectedBrokers: [NODE] }),
    });
  });

  it('answers 200 with JSON details (figures, no bigint or Infinity) once the app has produced', async () => {
    await app.get(KafkaProducerService).send({ topic, key: 'k', value: 'v' });
    const answer = await healthUntil(200);
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe('ok');
    expect(answer.body.details.kafka).toEqual({
      status: 'up',
      state: 'ready',
      connectedBrokers: [NODE],
      knownBrokers: 1,
      metadataAgeMs: expect.any(Number),
      queuedRecords: 0,
      queuedBytes: 0,
      waitingRecords: 0,
      bufferAvailableBytes: expect.any(Number),
      bufferTotalBytes: expect.any(Number),
      inFlightRequests: 0,
      lastError: null,
      // idempotent by default: the id is a decimal string so the body stays JSON
      producerId: { producerId: expect.stringMatching(/^\d+$/), producerEpoch: expect.any(Number) },
      transaction: null,
    });
  });

  it('answers 503 with the reason within the bound after the broker is killed', async () => {
    await cluster.kill(NODE);
    const answer = await healthUntil(503);
    expect(answer.status).toBe(503);
    expect(answer.body.status).toBe('error');
    expect(answer.body.details.kafka).toMatchObject({ status: 'down', connectedBrokers: [], reasons: expect.arrayContaining(['no broker connection is ready']) });
  });

  it('answers 200 again within the bound after the broker restarts, with nothing sent meanwhile', async () => {
    await cluster.restart(NODE);
    const answer = await healthUntil(200);
    expect({ status: answer.status, kafka: answer.body.details.kafka }).toEqual({
      status: 200,
      kafka: expect.objectContaining({ status: 'up', connectedBrokers: [NODE] }),
    });
  });
});
