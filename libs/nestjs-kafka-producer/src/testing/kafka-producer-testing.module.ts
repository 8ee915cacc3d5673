import { Module, type DynamicModule } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, MetadataScanner, ModuleRef } from '@nestjs/core';
import { DEFAULT_PRODUCER_NAME } from '../kafka-producer.constants';
import { getKafkaProducerToken } from '../inject-kafka-producer.decorator';
import { KafkaProduceExplorer } from '../produce/produce.explorer';
import { MockKafkaProducerService } from './mock-kafka-producer.service';

export interface KafkaProducerTestingModuleOptions {
  /** The producer name to stand in for, as given to KafkaProducerModule.forRoot({ name }) (default: the unnamed one). */
  name?: string;
  isGlobal?: boolean;
  /** A double the test built and scripted beforehand (default: a fresh one). */
  mock?: MockKafkaProducerService;
  /** For a fresh double: make it transactional, as the real producer's transactionalId does. */
  transactionalId?: string;
}

/**
 * Puts a MockKafkaProducerService where KafkaProducerModule would put the real producer, under the
 * same token, so `@InjectKafkaProducer(name)` gets the double:
 *
 *   Test.createTestingModule({ imports: [KafkaProducerTestingModule.forRoot()], providers: [OrdersService] })
 *   const mock = moduleRef.get<MockKafkaProducerService>(getKafkaProducerToken());
 *
 * (or `.overrideProvider(getKafkaProducerToken()).useValue(new MockKafkaProducerService())` on an app
 * module that imports the real one). Like the real module, it binds the double to the @Produce and
 * @Transactional methods that name its producer, so they run against it. Only the testing entry
 * point offers it.
 */
@Module({})
export class KafkaProducerTestingModule {
  static forRoot(options: KafkaProducerTestingModuleOptions = {}): DynamicModule {
    const name = options.name ?? DEFAULT_PRODUCER_NAME;
    const token = getKafkaProducerToken(name);
    const mock = options.mock ?? new MockKafkaProducerService(name, { transactionalId: options.transactionalId });
    return {
      module: KafkaProducerTestingModule,
      global: options.isGlobal ?? false,
      imports: [DiscoveryModule],
      providers: [
        { provide: token, useValue: mock },
        {
          provide: KafkaProduceExplorer,
          // no valueSerializer: @Produce results reach the double JSON-encoded, as with a real producer configured without one
          useFactory: (discovery: DiscoveryService, scanner: MetadataScanner, moduleRef: ModuleRef) => new KafkaProduceExplorer(name, mock, false, discovery, scanner, moduleRef),
          inject: [DiscoveryService, MetadataScanner, ModuleRef],
        },
      ],
      exports: [token],
    };
  }
}
