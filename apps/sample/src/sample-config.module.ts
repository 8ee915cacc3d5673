import { Global, Module } from '@nestjs/common';
import { KAFKA_PRODUCE_CONFIG } from '@app/nestjs-kafka-producer';
import { AppInfoService } from './app-info';
import { SampleConfig } from './sample.config';

/** Configuration and app identity, global: the producer's factory and its interceptor need them as much as the controllers do. */
@Global()
@Module({
  providers: [{ provide: SampleConfig, useFactory: () => SampleConfig.fromEnv() }, { provide: KAFKA_PRODUCE_CONFIG, useExisting: SampleConfig }, AppInfoService],
  exports: [SampleConfig, KAFKA_PRODUCE_CONFIG, AppInfoService],
})
export class SampleConfigModule {}
