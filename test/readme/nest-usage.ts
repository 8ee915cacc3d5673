// The code of README.md's "Use it in your Nest app" section. The typecheck compiles it, a test boots
// it against a real broker, and another test checks that the README's code blocks are copied from
// here (with the package names the README uses in place of the workspace aliases).

// readme:begin module
import { Body, Controller, Get, Injectable, Module, Post } from '@nestjs/common';
import { TerminusModule, HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { KafkaProducerModule, KafkaProducerService, InjectKafkaProducer, Produce, type KafkaDeliveryReport, type KafkaProducerInterceptor } from '@app/nestjs-kafka-producer';
import { KafkaProducerClientModule, InjectKafkaClient, KafkaProducerClientProxy, KafkaRecordBuilder } from '@app/nestjs-kafka-producer/microservices';
import { KafkaProducerHealthModule, KafkaProducerHealthIndicator } from '@app/nestjs-kafka-producer/health';
import { lastValueFrom } from 'rxjs';

@Injectable()
export class AppInfo {
  readonly version = '1.0.0';
}

/** A producer interceptor is a plain provider: it can inject other services. */
@Injectable()
export class StampInterceptor implements KafkaProducerInterceptor {
  constructor(private readonly info: AppInfo) {}
  onSend(record: Parameters<NonNullable<KafkaProducerInterceptor['onSend']>>[0]) {
    return { ...record, headers: { ...(record.headers as Record<string, string>), 'x-app-version': this.info.version } };
  }
}
// readme:end

// readme:begin service
@Injectable()
export class OrdersService {
  constructor(@InjectKafkaProducer() private readonly kafka: KafkaProducerService) {}

  /** Resolves once the broker has the record; the report is JSON-safe (offset as a string). */
  place(order: { id: string; customer: string }): Promise<KafkaDeliveryReport> {
    return this.kafka.send({ topic: 'orders', key: order.customer, value: JSON.stringify(order) });
  }

  /** The method's result is the record; the caller gets it once the broker acknowledged it. */
  @Produce({ topic: 'audit', key: (entry: { orderId: string }) => entry.orderId })
  async audit(orderId: string) {
    return { orderId, at: new Date().toISOString() };
  }
}
// readme:end

// readme:begin controller
@Controller()
export class OrdersController {
  constructor(
    private readonly orders: OrdersService,
    @InjectKafkaClient() private readonly client: KafkaProducerClientProxy,
    private readonly health: HealthCheckService,
    private readonly kafkaHealth: KafkaProducerHealthIndicator,
  ) {}

  @Post('orders')
  place(@Body() order: { id: string; customer: string }) {
    return this.orders.place(order);
  }

  /** @Produce on a route: the response is the order, sent once Kafka has it. */
  @Post('orders/express')
  @Produce({ topic: 'orders', key: (order: { customer: string }) => order.customer })
  async express(@Body() order: { id: string; customer: string }) {
    return order;
  }

  /** Nest's ClientProxy API; KafkaRecordBuilder says what is key and what is value. */
  @Post('orders/events')
  event(@Body() order: { id: string; customer: string }) {
    return lastValueFrom(this.client.emit('order-events', new KafkaRecordBuilder(order).setKey(order.customer).build()));
  }

  @Get('health')
  @HealthCheck()
  check() {
    return this.health.check([() => this.kafkaHealth.isHealthy('kafka')]);
  }
}
// readme:end

// readme:begin app-module
@Module({ providers: [AppInfo], exports: [AppInfo] })
export class AppInfoModule {}

@Module({
  imports: [
    KafkaProducerModule.forRootAsync({
      isGlobal: true, // the ClientProxy and health modules below find the producer this way
      imports: [AppInfoModule],
      useFactory: () => ({
        bootstrapServers: (process.env.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092').split(','),
        clientId: 'orders-api',
        lingerMs: 5,
        interceptors: [StampInterceptor],
      }),
    }),
    KafkaProducerClientModule.register(),
    KafkaProducerHealthModule.forProducer(),
    TerminusModule,
  ],
  controllers: [OrdersController],
  providers: [OrdersService],
})
export class AppModule {}
// readme:end
