import { Inject, Module, type DynamicModule, type ModuleMetadata, type Type } from '@nestjs/common';
import type { Serializer } from '@nestjs/microservices';
import { getKafkaProducerToken } from '../inject-kafka-producer.decorator';
import { DEFAULT_PRODUCER_NAME } from '../kafka-producer.constants';
import type { KafkaProducerService } from '../kafka-producer.service';
import { KafkaProducerClientProxy } from './kafka-producer-client.proxy';

/**
 * The token of a client: the name itself when given (the same token ClientsModule uses, so
 * `@InjectKafkaClient('ORDERS')` finds either kind), the KafkaProducerClientProxy class otherwise.
 */
export function getKafkaClientToken(name?: string): string | Type<KafkaProducerClientProxy> {
  return name === undefined ? KafkaProducerClientProxy : name;
}

/** Injects a client registered by KafkaProducerClientModule.register({ name }) or ClientsModule under that name. */
export const InjectKafkaClient = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getKafkaClientToken(name));

export interface KafkaProducerClientModuleOptions {
  /** The client's token name (default: the KafkaProducerClientProxy class). */
  name?: string;
  /** Which KafkaProducerModule producer to send with (default: the default producer). */
  producer?: string;
  /** Nest's ClientProxy serializer; its serialize() output becomes the record's value. */
  serializer?: Serializer;
  /** The producer has a valueSerializer: emitted values go to it untouched instead of as JSON. */
  producerSerializesValues?: boolean;
  /**
   * Where the producer comes from when its KafkaProducerModule is not global: the very same
   * `KafkaProducerModule.forRoot(...)` object the app imports (another forRoot call builds another producer).
   */
  imports?: ModuleMetadata['imports'];
  isGlobal?: boolean;
}

/**
 * A KafkaProducerClientProxy on a KafkaProducerModule producer, through DI:
 *
 *   imports: [KafkaProducerModule.forRoot({ isGlobal: true, ... }), KafkaProducerClientModule.register({ name: 'ORDERS' })]
 *   constructor(@InjectKafkaClient('ORDERS') private readonly client: ClientProxy) {}
 *
 * The producer stays its module's: closing the client (Nest does it on shutdown, as ClientsModule
 * does) leaves it open for everyone else, and the module flushes and closes it.
 */
@Module({})
export class KafkaProducerClientModule {
  static register(options: KafkaProducerClientModuleOptions = {}): DynamicModule {
    const token = getKafkaClientToken(options.name);
    const producerName = options.producer ?? DEFAULT_PRODUCER_NAME;
    return {
      module: KafkaProducerClientModule,
      global: options.isGlobal ?? false,
      imports: [...(options.imports ?? [])],
      providers: [
        {
          provide: token,
          useFactory: (service: KafkaProducerService) => {
            const client = KafkaProducerClientProxy.forProducer(service, {
              serializer: options.serializer,
              producerSerializesValues: options.producerSerializesValues,
              name: options.name ?? (producerName === DEFAULT_PRODUCER_NAME ? undefined : producerName),
            });
            // what ClientsModule does to every client; harmless here since close() leaves a shared producer open
            return Object.assign(client, { onApplicationShutdown: () => client.close() });
          },
          inject: [getKafkaProducerToken(producerName)],
        },
      ],
      exports: [token],
    };
  }
}
