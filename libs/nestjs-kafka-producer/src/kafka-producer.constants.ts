/** The name of the producer registered without one. */
export const DEFAULT_PRODUCER_NAME = 'default';

/** Token of the default producer's service is the class itself; named ones get a string token. */
export function kafkaProducerTokenName(name: string): string {
  return `KafkaProducerService:${name}`;
}
