/**
 * Test doubles for apps that use KafkaProducerModule (`@app/nestjs-kafka-producer/testing`): no broker,
 * no network. Never imported by the real module.
 */
export { KafkaProducerTestingModule } from './kafka-producer-testing.module';
export type { KafkaProducerTestingModuleOptions } from './kafka-producer-testing.module';
export { MockKafkaProducerService, MockSendFailure } from './mock-kafka-producer.service';
export type { MockSendRule } from './mock-kafka-producer.service';
