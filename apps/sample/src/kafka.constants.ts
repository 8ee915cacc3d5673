/** DI token of the application's shared producer. */
export const KAFKA_PRODUCER = Symbol('KAFKA_PRODUCER');
