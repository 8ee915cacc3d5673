import { KafkaError } from '@app/kafka-producer';

/** `send()` (request/response) on a client that only produces: there is no consumer to read a reply. */
export class KafkaClientRequestResponseNotSupportedException extends KafkaError {
  constructor(pattern: string) {
    super(
      `KafkaProducerClientProxy: send('${pattern}') (request/response) is not supported by a producer-only transport; use emit(), whose observable emits the delivery report`,
      { code: 'REQUEST_RESPONSE_NOT_SUPPORTED' },
    );
  }
}

/** ClientsModule options for a KafkaProducerClientProxy that cannot build a producer; names every bad field, never a value. */
export class KafkaClientOptionsException extends KafkaError {
  constructor(readonly problems: readonly string[]) {
    super(`KafkaProducerClientProxy: invalid options: ${problems.join('; ')}`, { code: 'INVALID_CLIENT_OPTIONS' });
  }
}
