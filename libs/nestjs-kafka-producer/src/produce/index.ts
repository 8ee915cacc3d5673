export { Produce, PRODUCE_METADATA } from './produce.decorator';
export type { ProduceOptions, ProduceTopicFromConfig, ProduceValueOrFn } from './produce.decorator';
export { KAFKA_PRODUCE_CONFIG, KafkaProduceExplorer } from './produce.explorer';
export type { KafkaProduceConfigSource } from './produce.explorer';
export { KafkaProduceNotBoundException, KafkaProduceResultException, KafkaProduceTopicConfigException } from './produce.exceptions';
