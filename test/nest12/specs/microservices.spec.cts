import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import { ClientProxy, ClientsModule } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { KafkaProducerModule, KafkaProducerService } from 'nestjs-kafka-wire-producer';
import { InjectKafkaClient, KafkaProducerClientModule, KafkaProducerClientProxy, KafkaRecordBuilder } from 'nestjs-kafka-wire-producer/microservices';
import { bootstrapServers, consumeWithJava, createTopic } from '../support/broker.cjs';

@Injectable()
class Emitter {
  constructor(
    @InjectKafkaClient() readonly client: KafkaProducerClientProxy,
    readonly kafka: KafkaProducerService,
  ) {}
}

describe('the microservices entry point with @nestjs/microservices 12', () => {
  it("KafkaProducerClientProxy is a Nest 12 ClientProxy whose emit resolves to the delivery report, on the module's shared producer", async () => {
    const topic = await createTopic('client-di', 2);
    const moduleRef = await Test.createTestingModule({
      imports: [KafkaProducerModule.forRoot({ isGlobal: true, bootstrapServers, clientId: 'nest12-client' }), KafkaProducerClientModule.register()],
      providers: [Emitter],
    }).compile();
    const app = await moduleRef.init();
    const { client, kafka } = app.get(Emitter);
    expect(client).toBeInstanceOf(ClientProxy);
    expect(client.unwrap()).toBe(kafka.producer);

    const built = await lastValueFrom(client.emit(topic, new KafkaRecordBuilder({ id: 1 }).setKey('k-1').setHeaders([['source', 'nest12']]).setPartition(1).build()));
    const plain = await lastValueFrom(client.emit(topic, { order: 7 }));
    await app.close();

    const records = await consumeWithJava(topic, 2);
    const byOffset = (partition: number, offset: string) => records.find((r) => r.partition === partition && r.offset === offset);
    expect(built.partition).toBe(1);
    expect(byOffset(built.partition, built.offset)).toMatchObject({ key: 'k-1', value: '{"id":1}', headers: [['source', 'nest12']] });
    expect(JSON.parse(byOffset(plain.partition, plain.offset)?.value ?? 'null')).toEqual({ order: 7 });
  });

  it("registers through Nest 12's ClientsModule as a customClass with its own producer", async () => {
    const topic = await createTopic('clients-module');
    const moduleRef = await Test.createTestingModule({
      imports: [ClientsModule.register([{ name: 'KAFKA_OUT', customClass: KafkaProducerClientProxy, options: { bootstrapServers, clientId: 'nest12-clients-module' } }])],
    }).compile();
    const app = await moduleRef.init();
    const client = app.get<KafkaProducerClientProxy>('KAFKA_OUT');
    expect(client).toBeInstanceOf(KafkaProducerClientProxy);
    const report = await lastValueFrom(client.emit(topic, 'through ClientsModule'));
    await app.close();

    const [record] = await consumeWithJava(topic, 1);
    expect(record).toMatchObject({ value: 'through ClientsModule', offset: report.offset });
  });
});
