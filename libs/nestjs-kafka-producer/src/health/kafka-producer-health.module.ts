import { Inject, Module, type DynamicModule, type ModuleMetadata } from '@nestjs/common';
import { HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import { DEFAULT_PRODUCER_NAME } from '../kafka-producer.constants';
import { getKafkaProducerToken } from '../inject-kafka-producer.decorator';
import type { KafkaProducerService } from '../kafka-producer.service';
import { KafkaProducerHealthIndicator } from './kafka-producer-health.indicator';

/** The indicator of the default producer is the class itself; a named producer's is a string token. */
export function getKafkaProducerHealthIndicatorToken(name: string = DEFAULT_PRODUCER_NAME): string | typeof KafkaProducerHealthIndicator {
  return name === DEFAULT_PRODUCER_NAME ? KafkaProducerHealthIndicator : `KafkaProducerHealthIndicator:${name}`;
}

/** Injects the indicator that `KafkaProducerHealthModule.forProducer(name)` registered. */
export const InjectKafkaProducerHealthIndicator = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getKafkaProducerHealthIndicatorToken(name));

export interface KafkaProducerHealthModuleOptions {
  /**
   * Where the producer comes from when its KafkaProducerModule is not global: pass the very same
   * `KafkaProducerModule.forRoot(...)` object the app imports (Nest 11 tells module instances apart by
   * reference, so a second forRoot call would build a second producer).
   */
  imports?: ModuleMetadata['imports'];
}

/**
 * Terminus health for a producer, in its own entry point (`@app/nestjs-kafka-producer/health`) so apps
 * without @nestjs/terminus never load it:
 *
 *   imports: [KafkaProducerModule.forRoot({ isGlobal: true, ... }), KafkaProducerHealthModule.forProducer()]
 *   constructor(private readonly kafka: KafkaProducerHealthIndicator) {}
 *   // a named producer: forProducer('audit') and @InjectKafkaProducerHealthIndicator('audit')
 */
@Module({})
export class KafkaProducerHealthModule {
  static forProducer(name: string = DEFAULT_PRODUCER_NAME, options: KafkaProducerHealthModuleOptions = {}): DynamicModule {
    const token = getKafkaProducerHealthIndicatorToken(name);
    return {
      module: KafkaProducerHealthModule,
      imports: [TerminusModule, ...(options.imports ?? [])],
      providers: [
        {
          provide: token,
          useFactory: (indicators: HealthIndicatorService, producer: KafkaProducerService) => new KafkaProducerHealthIndicator(indicators, producer),
          inject: [HealthIndicatorService, getKafkaProducerToken(name)],
        },
      ],
      exports: [token],
    };
  }
}
