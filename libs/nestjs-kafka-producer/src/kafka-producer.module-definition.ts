import { ConfigurableModuleBuilder } from '@nestjs/common';
import { DEFAULT_PRODUCER_NAME } from './kafka-producer.constants';
import type { KafkaProducerModuleOptions } from './kafka-producer.options';

/**
 * forRoot / forRootAsync ({ imports, inject, useFactory | useClass | useExisting }) come from Nest's
 * own builder; `name` and `isGlobal` are extras, taken out before the options reach the producer.
 * A class given to useClass / useExisting implements `createKafkaProducerOptions()`.
 */
export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } = new ConfigurableModuleBuilder<KafkaProducerModuleOptions>({
  moduleName: 'KafkaProducer',
})
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createKafkaProducerOptions')
  .setExtras({ isGlobal: false, name: DEFAULT_PRODUCER_NAME }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

/** What a useClass / useExisting options factory implements. */
export interface KafkaProducerOptionsFactory {
  createKafkaProducerOptions(): KafkaProducerModuleOptions | Promise<KafkaProducerModuleOptions>;
}
