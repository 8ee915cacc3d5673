import 'reflect-metadata';
import { InvalidTransactionStateError } from '@app/kafka-producer';
import { Test } from '@nestjs/testing';
import { getKafkaProducerToken } from './inject-kafka-producer.decorator';
import { KafkaProducerModule } from './kafka-producer.module';
import { KafkaProducerService } from './kafka-producer.service';
import { KafkaTransactionRequiredException } from './transactional/transactional.exceptions';

// nothing here connects: compile() builds the producer, onModuleInit is never called
const built: KafkaProducerService[] = [];
async function producerFrom(name: string | undefined, options: { transactionalId?: string }): Promise<KafkaProducerService> {
  const moduleRef = await Test.createTestingModule({ imports: [KafkaProducerModule.forRoot({ name, bootstrapServers: ['127.0.0.1:1'], ...options })] }).compile();
  const service = moduleRef.get<KafkaProducerService>(getKafkaProducerToken(name));
  built.push(service);
  return service;
}

afterAll(async () => {
  await Promise.all(built.map((s) => s.producer.close({ timeoutMs: 0 })));
});

describe('KafkaProducerService on a transactional producer', () => {
  it('refuses send() outside a transaction with KafkaTransactionRequiredException before anything reaches the producer', async () => {
    const service = await producerFrom('shipping', { transactionalId: 'ship-1' });
    const call = service.send({ topic: 'shipments', value: 'x' });
    await expect(call).rejects.toThrow(KafkaTransactionRequiredException);
    await expect(call).rejects.toThrow("@Transactional('shipping')");
    expect(service.health().queuedRecords + service.health().waitingRecords).toBe(0);
    expect(service.currentTransaction).toBeNull();
  });

  it('rejects transaction() on a producer without transactionalId with the producer\'s InvalidTransactionStateError', async () => {
    const service = await producerFrom(undefined, {});
    let ran = false;
    const call = service.transaction(async () => {
      ran = true;
    });
    await expect(call).rejects.toThrow(InvalidTransactionStateError);
    await expect(call).rejects.toThrow("producer 'default' has no transactionalId");
    expect(ran).toBe(false);
  });
});
