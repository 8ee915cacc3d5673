import { KafkaError } from '@app/kafka-producer';

/** Module options that cannot work; the message names every bad field (never a secret's value). */
export class KafkaProducerOptionsException extends KafkaError {
  constructor(
    readonly producerName: string,
    readonly problems: readonly string[],
  ) {
    super(`KafkaProducerModule (${producerName}): invalid options: ${problems.join('; ')}`, { code: 'INVALID_MODULE_OPTIONS' });
  }
}

/** A `fail-fast` connect found no broker within its bound: the application does not boot. */
export class KafkaProducerConnectException extends KafkaError {
  constructor(producerName: string, timeoutMs: number, cause: unknown) {
    super(
      `KafkaProducerModule (${producerName}): no broker answered within ${timeoutMs} ms (connect: 'fail-fast')${cause instanceof Error ? `: ${cause.message}` : ''}`,
      { code: 'CONNECT_FAILED', retriable: true, cause },
    );
  }
}
