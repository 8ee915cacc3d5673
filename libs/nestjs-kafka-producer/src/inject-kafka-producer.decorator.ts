import { Inject } from '@nestjs/common';
import { DEFAULT_PRODUCER_NAME, kafkaProducerTokenName } from './kafka-producer.constants';
import { KafkaProducerService } from './kafka-producer.service';

/**
 * The injection token of a producer: the KafkaProducerService class for the default one (so plain
 * constructor injection works), a string for a named one.
 */
export function getKafkaProducerToken(name: string = DEFAULT_PRODUCER_NAME): string | typeof KafkaProducerService {
  return name === DEFAULT_PRODUCER_NAME ? KafkaProducerService : kafkaProducerTokenName(name);
}

/** Injects the KafkaProducerService registered by `KafkaProducerModule.forRoot({ name })` (default: the unnamed one). */
export const InjectKafkaProducer = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getKafkaProducerToken(name));
