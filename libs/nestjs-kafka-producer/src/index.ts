/**
 * The NestJS layer over @app/kafka-producer: KafkaProducerModule registers producers as injectable
 * KafkaProducerService instances with RxJS delivery streams.
 */
export { KafkaProducerModule } from './kafka-producer.module';
export { KafkaProducerService } from './kafka-producer.service';
export { KafkaProducerInterceptorsModule, KAFKA_PRODUCER_GLOBAL_INTERCEPTORS } from './kafka-producer-interceptors.module';
export type { KafkaProducerInterceptorEntry } from './kafka-producer-interceptors.module';
export { InjectKafkaProducer, getKafkaProducerToken } from './inject-kafka-producer.decorator';
export { DEFAULT_PRODUCER_NAME } from './kafka-producer.constants';
export type { KafkaProducerModuleOptions, KafkaProducerModuleOwnOptions, KafkaProducerConnectMode } from './kafka-producer.options';
export type { KafkaProducerOptionsFactory } from './kafka-producer.module-definition';
export type { KafkaProducerInterceptor } from './kafka-producer.interceptor';
export type { KafkaDeliveryReport, KafkaDeliveryError } from './delivery-report';
export { toDeliveryReport } from './delivery-report';
export { KafkaProducerOptionsException, KafkaProducerConnectException } from './kafka-producer.exceptions';
export { Produce, KAFKA_PRODUCE_CONFIG, KafkaProduceNotBoundException, KafkaProduceResultException, KafkaProduceTopicConfigException } from './produce';
export type { ProduceOptions, ProduceTopicFromConfig, ProduceValueOrFn, KafkaProduceConfigSource } from './produce';
export { KafkaExceptionFilter, kafkaErrorToHttpStatus, kafkaErrorToHttpBody } from './filters';
export type { KafkaHttpErrorBody } from './filters';
export {
  Transactional,
  KafkaTransactionRequiredException,
  KafkaTransactionClosedException,
  KafkaTransactionRollbackOnlyException,
  KafkaTransactionalNotBoundException,
  KafkaTransactionalConfigException,
  KafkaTransactionalResultException,
} from './transactional';
export type { KafkaTransaction } from './transactional';
