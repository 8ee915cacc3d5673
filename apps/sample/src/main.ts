import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { OrdersService } from './orders.service';

/**
 * Places a few orders through the producer and prints where each landed. Bootstrap servers come from
 * KAFKA_BOOTSTRAP_SERVERS (`npm run demo` starts a local Kafka and sets it).
 */
async function bootstrap(): Promise<void> {
  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error', 'warn', 'log'] });
  app.enableShutdownHooks();
  const orders = app.get(OrdersService);
  const topic = process.env.SAMPLE_TOPIC ?? 'orders';
  const customers = ['alice', 'bob', 'carol'];
  const placed = await Promise.all(
    Array.from({ length: 9 }, (_, i) => orders.place(topic, { id: `order-${i + 1}`, customer: customers[i % 3], amount: 10 * (i + 1) })),
  );
  for (const [i, m] of placed.entries()) {
    console.log(`order-${i + 1} (${customers[i % 3]}) -> ${m.topic}[${m.partition}] @ offset ${m.offset}`);
  }
  await app.close();
}

bootstrap().catch((e) => {
  console.error(e);
  process.exit(1);
});
