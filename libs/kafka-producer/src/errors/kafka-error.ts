/**
 * Base of every error this library throws or rejects with.
 *
 * `code` is a stable machine-readable string (never the message), `retriable` tells whether the same
 * operation may succeed if tried again, and `cause` keeps the lower-level error that led here.
 */
export class KafkaError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(message: string, options: { code: string; retriable?: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.retriable = options.retriable ?? false;
  }
}

/** Bytes that do not follow the wire format: truncated, oversized, bad CRC, impossible values. */
export class ProtocolDecodeError extends KafkaError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'PROTOCOL_DECODE', retriable: false, cause });
  }
}

/** A value that cannot be put on the wire in the requested form (too long, out of range, wrong type). */
export class ProtocolEncodeError extends KafkaError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'PROTOCOL_ENCODE', retriable: false, cause });
  }
}

/** A caller passed a value the library cannot accept; the message names the offending field. */
export class InvalidArgumentError extends KafkaError {
  constructor(message: string) {
    super(message, { code: 'INVALID_ARGUMENT', retriable: false });
  }
}
