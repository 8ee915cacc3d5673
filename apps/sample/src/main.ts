import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { SampleConfig } from './sample.config';

/**
 * The orders API over HTTP. Needs KAFKA_BOOTSTRAP_SERVERS; `npm run start:sample` starts a local Kafka
 * when it is not set, `npm run demo` drives every endpoint. A secured cluster is reached through the
 * KAFKA_SECURITY_PROTOCOL, KAFKA_SSL_* and KAFKA_SASL_* variables (sample.config.ts).
 */
async function bootstrap(): Promise<void> {
  // checked before Nest starts, so a missing variable is one line rather than a DI stack trace
  SampleConfig.fromEnv();
  // an open /orders/deliveries stream would otherwise hold the shutdown until the client leaves
  const app = await NestFactory.create(AppModule, { forceCloseConnections: true });
  app.enableShutdownHooks();
  const config = app.get(SampleConfig);
  await app.listen(config.port);
  Logger.log(`listening on http://localhost:${config.port} (Kafka ${config.bootstrapServers} over ${config.securityLabel}, topic ${config.topic})`, 'OrdersSample');
}

bootstrap().catch((e: Error) => {
  // one readable line for configuration problems, the whole error otherwise
  console.error(e.name === 'SampleConfigException' ? e.message : e);
  process.exit(1);
});
