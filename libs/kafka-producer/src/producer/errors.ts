import { KafkaError } from '../errors';

/** Configuration rejected at construction; the message lists every bad field at once. */
export class ProducerConfigError extends KafkaError {
  constructor(readonly problems: readonly string[]) {
    super(`invalid producer configuration: ${problems.join('; ')}`, { code: 'INVALID_CONFIG' });
  }
}

/** A record that cannot be sent as given (bad topic, partition, key, value or header). */
export class InvalidRecordError extends KafkaError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'INVALID_RECORD', cause });
  }
}

/** A single record larger than max.request.size or buffer.memory: it fails alone, before any I/O. */
export class RecordTooLargeError extends KafkaError {
  constructor(message: string) {
    super(message, { code: 'RECORD_TOO_LARGE' });
  }
}

/** A wait bounded by max.block.ms or delivery.timeout.ms ran out. */
export class KafkaTimeoutError extends KafkaError {
  constructor(message: string, code = 'TIMEOUT', cause?: unknown) {
    super(message, { code, retriable: true, cause });
  }
}

/** send() after close() began, or pending records failed by a forced close. */
export class ProducerClosedError extends KafkaError {
  constructor(message = 'the producer is closed') {
    super(message, { code: 'PRODUCER_CLOSED' });
  }
}

/** The codec threw while compressing a batch: that batch's records fail, the others are unaffected. */
export class BatchCompressionError extends KafkaError {
  constructor(topic: string, partition: number, codec: string, cause: unknown) {
    super(`compressing a batch for ${topic}-${partition} with ${codec} failed: ${(cause as Error)?.message ?? String(cause)}`, { code: 'COMPRESSION_FAILED', retriable: false, cause });
  }
}

/** Thrown by send() for a producer whose state is fatal (e.g. authentication failed). */
export class ProducerFatalError extends KafkaError {
  constructor(message: string, cause: unknown) {
    super(message, { code: 'PRODUCER_FATAL', retriable: false, cause });
  }
}

/** Another producer with the same transactionalId started (or the epoch moved on): this one is done. */
export class ProducerFencedError extends KafkaError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'PRODUCER_FENCED', retriable: false, cause });
  }
}

/** A record of a transaction that was aborted before the record was written. */
export class TransactionAbortedError extends KafkaError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'TRANSACTION_ABORTED', retriable: false, cause });
  }
}

/** A transactional call made in a state that does not allow it; the message names the state and the call. */
export class InvalidTransactionStateError extends KafkaError {
  constructor(
    readonly call: string,
    readonly state: string,
    detail?: string,
  ) {
    super(`cannot ${call}() while the transaction state is ${state}${detail ? `: ${detail}` : ''}`, { code: 'ILLEGAL_TRANSACTION_STATE', retriable: false });
  }
}

/** The transaction cannot commit (a record or an offset commit failed): abortTransaction() and try again. */
export class TransactionAbortableError extends KafkaError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'TRANSACTION_ABORTABLE', retriable: false, cause });
  }
}
