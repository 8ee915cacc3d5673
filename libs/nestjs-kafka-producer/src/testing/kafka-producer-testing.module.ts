import { Module, type DynamicModule } from '@nestjs/common';
import { DEFAULT_PRODUCER_NAME } from '../kafka-producer.constants';
import { getKafkaProducerToken } from '../inject-kafka-producer.decorator';
import { MockKafkaProducerService } from './mock-kafka-producer.service';

export interface KafkaProducerTestingModuleOptions {
  /** The producer name to stand in for, as given to KafkaProducerModule.forRoot({ name }) (default: the unnamed one). */
  name?: string;
  isGlobal?: boolean;
  /** A double the test built and scripted beforehand (default: a fresh one). */
  mock?: MockKafkaProducerService;
}

/**
 * Puts a MockKafkaProducerService where KafkaProducerModule would put the real producer, under the
 * same token, so `@InjectKafkaProducer(name)` gets the double:
 *
 *   Test.createTestingModule({ imports: [KafkaProducerTestingModule.forRoot()], providers: [OrdersService] })
 *   const mock = moduleRef.get<MockKafkaProducerService>(getKafkaProducerToken());
 *
 * (or `.overrideProvider(getKafkaProducerToken()).useValue(new MockKafkaProducerService())` on an app
 * module that imports the real one). Only the testing entry point offers it.
 */
@Module({})
export class KafkaProducerTestingModule {
  static forRoot(options: KafkaProducerTestingModuleOptions = {}): DynamicModule {
    const name = options.name ?? DEFAULT_PRODUCER_NAME;
    const token = getKafkaProducerToken(name);
    return {
      module: KafkaProducerTestingModule,
      global: options.isGlobal ?? false,
      providers: [{ provide: token, useValue: options.mock ?? new MockKafkaProducerService(name) }],
      exports: [token],
    };
  }
}
