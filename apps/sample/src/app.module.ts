import { Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { KafkaProducer } from '@app/kafka-producer';
import { KAFKA_PRODUCER } from './kafka.constants';
import { OrdersService } from './orders.service';

/**
 * The sample's wiring: one producer for the whole application, closed (after a flush) on shutdown.
 * The dedicated Nest module with forRoot/forRootAsync comes with the Nest layer.
 */
@Module({
  providers: [
    {
      provide: KAFKA_PRODUCER,
      useFactory: () =>
        new KafkaProducer({
          bootstrapServers: process.env.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092',
          clientId: 'sample-app',
        }),
    },
    OrdersService,
  ],
})
export class AppModule implements OnApplicationShutdown {
  constructor(@Inject(KAFKA_PRODUCER) private readonly producer: KafkaProducer) {}

  async onApplicationShutdown(): Promise<void> {
    await this.producer.close();
  }
}
