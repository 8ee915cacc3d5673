import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { getKafkaProducerToken } from './inject-kafka-producer.decorator';
import { KafkaProducerOptionsException } from './kafka-producer.exceptions';
import { KafkaProducerModule } from './kafka-producer.module';
import type { KafkaProducerModuleOptions } from './kafka-producer.options';
import { KafkaProducerService } from './kafka-producer.service';

// nothing here connects: compile() builds (and validates) the producer, onModuleInit is never called
const BROKERS = ['127.0.0.1:1'];

type Registration = { how: string; build: (name: string | undefined, options: Partial<KafkaProducerModuleOptions>) => ReturnType<typeof KafkaProducerModule.forRoot> };
const registrations: Registration[] = [
  { how: 'forRoot', build: (name, options) => KafkaProducerModule.forRoot({ name, bootstrapServers: BROKERS, ...options }) },
  { how: 'forRootAsync', build: (name, options) => KafkaProducerModule.forRootAsync({ name, useFactory: async () => ({ bootstrapServers: BROKERS, ...options }) }) },
];

const built: KafkaProducerService[] = [];
async function producerFrom(registration: Registration, name: string | undefined, options: Partial<KafkaProducerModuleOptions>): Promise<KafkaProducerService> {
  const moduleRef = await Test.createTestingModule({ imports: [registration.build(name, options)] }).compile();
  const service = moduleRef.get<KafkaProducerService>(getKafkaProducerToken(name));
  built.push(service);
  return service;
}

async function problemsOf(registration: Registration, name: string | undefined, options: Partial<KafkaProducerModuleOptions>): Promise<readonly string[]> {
  try {
    await producerFrom(registration, name, options);
  } catch (e) {
    if (e instanceof KafkaProducerOptionsException) return e.problems;
    throw e;
  }
  throw new Error('the options were accepted');
}

afterAll(async () => {
  await Promise.all(built.map((s) => s.producer.close({ timeoutMs: 0 })));
});

describe.each(registrations)('KafkaProducerModule.$how: transactional options', (registration) => {
  describe.each([
    { label: 'default', name: undefined },
    { label: 'shipping', name: 'shipping' },
  ])('producer $label', ({ name }) => {
    it('accepts transactionalId, transactionTimeoutMs and enableIdempotence, and builds a transactional service', async () => {
      const service = await producerFrom(registration, name, { transactionalId: 'orders-1', transactionTimeoutMs: 15_000, enableIdempotence: true });
      expect([service.transactionalId, service.transactionState, service.producer.config.transactionTimeoutMs, service.health().transaction]).toEqual([
        'orders-1',
        'UNINITIALIZED',
        15_000,
        { transactionalId: 'orders-1', state: 'UNINITIALIZED' },
      ]);
    });

    it('names each bad transactional field once, with a message saying how to fix it', async () => {
      expect(await problemsOf(registration, name, { transactionalId: '', transactionTimeoutMs: 0, enableIdempotence: 'yes' as unknown as boolean })).toEqual([
        'enableIdempotence must be a boolean',
        'transactionalId must be a non-empty string',
        'transactionTimeoutMs must not be less than 1',
      ]);
    });

    it("applies the producer's rules between transactions, idempotence and acks/retries/in-flight: each conflict says why", async () => {
      expect(await problemsOf(registration, name, { transactionalId: 'orders-1', enableIdempotence: false })).toEqual([
        'transactionalId requires enableIdempotence: a transactional producer is idempotent (remove enableIdempotence: false)',
      ]);
      expect(await problemsOf(registration, name, { transactionalId: 'orders-1', acks: 1, maxInFlightRequestsPerConnection: 6 })).toEqual([
        'acks must be all (got 1): a transactional producer (transactionalId) is idempotent',
        'maxInFlightRequestsPerConnection must be at most 5 (got 6): a transactional producer (transactionalId) is idempotent',
      ]);
      expect(await problemsOf(registration, name, { enableIdempotence: true, retries: 0 })).toEqual(['retries must be greater than 0: enableIdempotence is true']);
    });

    it('never prints the value of a bad field', async () => {
      const secretish = { password: 'hunter2-do-not-print' };
      const problems = await problemsOf(registration, name, { transactionalId: secretish as unknown as string });
      expect(problems).toEqual(['transactionalId must be a non-empty string']);
      await expect(producerFrom(registration, name, { transactionalId: secretish as unknown as string })).rejects.not.toThrow(/hunter2/);
    });
  });
});
