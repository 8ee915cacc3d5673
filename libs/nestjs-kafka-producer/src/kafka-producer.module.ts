import type { ProducerInterceptor } from '@app/kafka-producer';
import { Module, type DynamicModule, type Provider, type Type } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, MetadataScanner, ModuleRef } from '@nestjs/core';
import { DEFAULT_PRODUCER_NAME, kafkaProducerTokenName } from './kafka-producer.constants';
import type { KafkaProducerInterceptor } from './kafka-producer.interceptor';
import { ASYNC_OPTIONS_TYPE, ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE } from './kafka-producer.module-definition';
import type { KafkaProducerModuleOptions } from './kafka-producer.options';
import { KAFKA_PRODUCER_GLOBAL_INTERCEPTORS, type KafkaProducerInterceptorEntry } from './kafka-producer-interceptors.module';
import { KafkaProducerService } from './kafka-producer.service';
import { validateModuleOptions } from './kafka-producer.validation';
import { KafkaProduceExplorer } from './produce/produce.explorer';

/**
 * Registers a producer as an injectable KafkaProducerService:
 *
 *   KafkaProducerModule.forRoot({ bootstrapServers: ['broker:9092'], clientId: 'orders' })
 *   KafkaProducerModule.forRootAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory: (c) => ({ ... }) })
 *   KafkaProducerModule.forRoot({ name: 'audit', isGlobal: true, ... })   // @InjectKafkaProducer('audit')
 *
 * Each registration is its own module instance with private providers; only the producer's token is
 * exported (the class for the default producer, `KafkaProducerService:<name>` for a named one), so
 * several producers can be imported side by side.
 */
@Module({})
export class KafkaProducerModule extends ConfigurableModuleClass {
  static forRoot(options: typeof OPTIONS_TYPE): DynamicModule {
    return withProducer(super.forRoot(options), options.name ?? DEFAULT_PRODUCER_NAME);
  }

  static forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return withProducer(super.forRootAsync(options), options.name ?? DEFAULT_PRODUCER_NAME);
  }
}

function withProducer(base: DynamicModule, name: string): DynamicModule {
  // a named producer is provided under its name token only: were it also under the class, a
  // non-strict app.get(KafkaProducerService) could return it instead of the default producer
  const token = name === DEFAULT_PRODUCER_NAME ? KafkaProducerService : kafkaProducerTokenName(name);
  const service: Provider = {
    provide: token,
    // the options exist only now (forRootAsync): validate, resolve interceptors through DI, build
    useFactory: async (options: KafkaProducerModuleOptions, moduleRef: ModuleRef, global: KafkaProducerInterceptorEntry[] | undefined) => {
      validateModuleOptions(name, options);
      const interceptors = await resolveInterceptors([...(global ?? []), ...(options.interceptors ?? [])], moduleRef);
      return new KafkaProducerService(name, options, interceptors);
    },
    inject: [MODULE_OPTIONS_TOKEN, ModuleRef, { token: KAFKA_PRODUCER_GLOBAL_INTERCEPTORS, optional: true }],
  };
  // binds this producer to the @Produce methods that name it (see produce/produce.explorer.ts)
  const explorer: Provider = {
    provide: KafkaProduceExplorer,
    useFactory: (producer: KafkaProducerService, options: KafkaProducerModuleOptions, discovery: DiscoveryService, scanner: MetadataScanner, moduleRef: ModuleRef) =>
      new KafkaProduceExplorer(name, producer, options.valueSerializer !== undefined, discovery, scanner, moduleRef),
    inject: [token, MODULE_OPTIONS_TOKEN, DiscoveryService, MetadataScanner, ModuleRef],
  };
  const providers: Provider[] = [...(base.providers ?? []), service, explorer];
  return { ...base, imports: [...(base.imports ?? []), DiscoveryModule], providers, exports: [...(base.exports ?? []), token] };
}

/**
 * Interceptor classes come from DI: an existing provider anywhere in the app (non-strict lookup), or an
 * instance the module creates with its dependencies injected. Objects are used as they are.
 */
async function resolveInterceptors(
  entries: ReadonlyArray<Type<KafkaProducerInterceptor> | ProducerInterceptor<any, any> | KafkaProducerInterceptor>,
  moduleRef: ModuleRef,
): Promise<ProducerInterceptor<any, any>[]> {
  const out: ProducerInterceptor<any, any>[] = [];
  for (const entry of entries) {
    let instance: KafkaProducerInterceptor;
    if (typeof entry === 'function') {
      const cls = entry as Type<KafkaProducerInterceptor>;
      let found: KafkaProducerInterceptor | undefined;
      try {
        found = moduleRef.get(cls, { strict: false });
      } catch {
        found = undefined;
      }
      instance = found ?? (await moduleRef.create(cls));
    } else {
      instance = entry as KafkaProducerInterceptor;
    }
    out.push({
      onSend: instance.onSend === undefined ? undefined : (record) => instance.onSend!(record) ?? record,
      onAcknowledgement: instance.onAcknowledgement === undefined ? undefined : (m, e) => instance.onAcknowledgement!(m, e),
      close: (instance as ProducerInterceptor).close === undefined ? undefined : () => (instance as ProducerInterceptor).close!(),
    });
  }
  return out;
}
