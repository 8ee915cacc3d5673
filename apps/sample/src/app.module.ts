import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { KafkaExceptionFilter, KafkaProducerModule } from '@app/nestjs-kafka-producer';
import { KafkaProducerHealthModule } from '@app/nestjs-kafka-producer/health';
import { KafkaProducerClientModule } from '@app/nestjs-kafka-producer/microservices';
import { AppInfoInterceptor } from './app-info';
import { HealthController } from './health.controller';
import { OrderEventsService } from './order-events.service';
import { OrdersController } from './orders.controller';
import { OrdersService } from './orders.service';
import { SampleConfig } from './sample.config';
import { SampleConfigModule } from './sample-config.module';
import { InvoicesService, SHIPPING_PRODUCER, ShippingService } from './shipping.service';

/**
 * One producer for the whole app (global, so the ClientProxy and the health indicator use the very
 * same one), connected in the background: the app boots while Kafka is still starting or down, and
 * /health says when it is ready. On shutdown the module flushes what is pending, then closes.
 *
 * A second, transactional producer ('shipping', transactionalId from KAFKA_TRANSACTIONAL_ID) serves
 * POST /orders/:id/ship. It is separate because a transactional producer accepts sends only inside a
 * transaction, while the other routes send single records.
 */
@Module({
  imports: [
    SampleConfigModule,
    KafkaProducerModule.forRootAsync({
      isGlobal: true,
      imports: [SampleConfigModule],
      inject: [SampleConfig],
      useFactory: (config: SampleConfig) => ({
        bootstrapServers: config.bootstrapServers,
        // TLS and SASL from KAFKA_SECURITY_PROTOCOL, KAFKA_SSL_*, KAFKA_SASL_* (see sample.config.ts)
        ...config.kafkaSecurity,
        clientId: 'orders-sample',
        // a class: the module builds it through DI, with AppInfoService injected
        interceptors: [AppInfoInterceptor],
      }),
    }),
    KafkaProducerModule.forRootAsync({
      name: SHIPPING_PRODUCER,
      isGlobal: true,
      imports: [SampleConfigModule],
      inject: [SampleConfig],
      useFactory: (config: SampleConfig) => ({
        bootstrapServers: config.bootstrapServers,
        ...config.kafkaSecurity,
        clientId: 'orders-sample-shipping',
        transactionalId: config.transactionalId,
        // a transaction left open by a crashed instance holds back read_committed readers this long at most
        transactionTimeoutMs: 30_000,
        interceptors: [AppInfoInterceptor],
      }),
    }),
    KafkaProducerClientModule.register(),
    TerminusModule,
    KafkaProducerHealthModule.forProducer(),
    KafkaProducerHealthModule.forProducer(SHIPPING_PRODUCER),
  ],
  controllers: [OrdersController, HealthController],
  providers: [
    OrdersService,
    OrderEventsService,
    ShippingService,
    InvoicesService,
    // KafkaErrors reaching a route become 400/413/503 answers instead of a bare 500
    { provide: APP_FILTER, useClass: KafkaExceptionFilter },
  ],
})
export class AppModule {}
