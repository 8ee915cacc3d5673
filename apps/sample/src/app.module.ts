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

/**
 * One producer for the whole app (global, so the ClientProxy and the health indicator use the very
 * same one), connected in the background: the app boots while Kafka is still starting or down, and
 * /health says when it is ready. On shutdown the module flushes what is pending, then closes.
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
        clientId: 'orders-sample',
        // a class: the module builds it through DI, with AppInfoService injected
        interceptors: [AppInfoInterceptor],
      }),
    }),
    KafkaProducerClientModule.register(),
    TerminusModule,
    KafkaProducerHealthModule.forProducer(),
  ],
  controllers: [OrdersController, HealthController],
  providers: [
    OrdersService,
    OrderEventsService,
    // KafkaErrors reaching a route become 400/413/503 answers instead of a bare 500
    { provide: APP_FILTER, useClass: KafkaExceptionFilter },
  ],
})
export class AppModule {}
