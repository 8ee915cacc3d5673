export { KafkaExceptionFilter, kafkaErrorToHttpStatus, kafkaErrorToHttpBody } from './kafka-exception.filter';
export type { KafkaHttpErrorBody } from './kafka-exception.filter';
