import { Module, type DynamicModule, type ModuleMetadata, type Provider, type Type } from '@nestjs/common';
import type { ProducerInterceptor } from '@app/kafka-producer';
import type { KafkaProducerInterceptor } from './kafka-producer.interceptor';

/** The interceptors every producer of the application runs, before its own. */
export const KAFKA_PRODUCER_GLOBAL_INTERCEPTORS = Symbol('KAFKA_PRODUCER_GLOBAL_INTERCEPTORS');

export type KafkaProducerInterceptorEntry = Type<KafkaProducerInterceptor> | KafkaProducerInterceptor | ProducerInterceptor<any, any>;

/**
 * The one way to register interceptors for every producer of an app (global, so it is imported once,
 * anywhere): `KafkaProducerInterceptorsModule.forRoot([TracingInterceptor], { imports: [TracingModule] })`.
 * Interceptor classes become providers of this module, so they may inject what `imports` exports.
 * Per-producer interceptors (`KafkaProducerModule.forRoot({ interceptors })`) run after these.
 */
@Module({})
export class KafkaProducerInterceptorsModule {
  static forRoot(interceptors: readonly KafkaProducerInterceptorEntry[], options: Pick<ModuleMetadata, 'imports'> = {}): DynamicModule {
    const classes = interceptors.filter((i): i is Type<KafkaProducerInterceptor> => typeof i === 'function');
    const list: Provider = {
      provide: KAFKA_PRODUCER_GLOBAL_INTERCEPTORS,
      // keeps the registration order, with the class entries replaced by their instances
      useFactory: (...instances: KafkaProducerInterceptor[]) => {
        let next = 0;
        return interceptors.map((i) => (typeof i === 'function' ? instances[next++] : i));
      },
      inject: classes,
    };
    return { module: KafkaProducerInterceptorsModule, global: true, imports: options.imports ?? [], providers: [...classes, list], exports: [KAFKA_PRODUCER_GLOBAL_INTERCEPTORS] };
  }
}
