/**
 * The Nest microservices transport (`@app/nestjs-kafka-producer/microservices`): a ClientProxy that
 * produces with this library's producer. The only entry point that loads @nestjs/microservices, which
 * stays an optional peer.
 */
export { KafkaProducerClientProxy } from './kafka-producer-client.proxy';
export type { KafkaProducerClientOptions, KafkaProducerClientOwnOptions, KafkaProducerSharedClientOptions } from './kafka-producer-client.proxy';
export { KafkaProducerClientModule, InjectKafkaClient, getKafkaClientToken } from './kafka-producer-client.module';
export type { KafkaProducerClientModuleOptions } from './kafka-producer-client.module';
export { KafkaRecord, KafkaRecordBuilder } from './kafka-record.builder';
export type { KafkaRecordOptions } from './kafka-record.builder';
export { KafkaClientRequestResponseNotSupportedException, KafkaClientOptionsException } from './kafka-producer-client.exceptions';
