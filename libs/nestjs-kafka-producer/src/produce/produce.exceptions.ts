import { KafkaError } from '@app/kafka-producer';

/** A @Produce method ran in an instance no KafkaProducerModule bound (wrong name, module not imported, or called before onModuleInit). */
export class KafkaProduceNotBoundException extends KafkaError {
  constructor(where: string, producerName: string) {
    const registration = producerName === 'default' ? 'KafkaProducerModule.forRoot({ ... })' : `KafkaProducerModule.forRoot({ name: '${producerName}', ... })`;
    super(
      `@Produce on ${where} has no producer '${producerName}': did you import KafkaProducerModule with name ${producerName} (${registration}) in this application? ` +
        'Calls before onModuleInit, and on instances Nest did not create, are not bound either.',
      { code: 'PRODUCE_NOT_BOUND' },
    );
  }
}

/** A @Produce method returned an Observable: sending its values would need a subscription the caller may never make. */
export class KafkaProduceResultException extends KafkaError {
  constructor(where: string) {
    super(`@Produce on ${where} returned an Observable; return a value, an array or a Promise (e.g. firstValueFrom / lastValueFrom) instead`, { code: 'PRODUCE_OBSERVABLE_RESULT' });
  }
}

/** `topic: { config: KEY }` found no value at startup: the application does not boot. */
export class KafkaProduceTopicConfigException extends KafkaError {
  constructor(where: string, key: string, source: string) {
    super(`@Produce on ${where}: topic config key ${key} has no value (looked in ${source})`, { code: 'PRODUCE_TOPIC_CONFIG' });
  }
}
