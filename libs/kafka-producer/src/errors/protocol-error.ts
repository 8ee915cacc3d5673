import { PROTOCOL_ERRORS, ProtocolErrorInfo } from './error-codes.generated';
import { KafkaError } from './kafka-error';

/**
 * An error code a broker returned. `code` is the Kafka error name (NOT_LEADER_OR_FOLLOWER), so
 * callers can switch on it; `errorCode` is the number from the wire. Retriable and metadata flags come
 * from Kafka's own table, so the producer retries exactly what the Java client retries.
 */
export class KafkaProtocolError extends KafkaError {
  readonly errorCode: number;
  readonly errorName: string;
  /** Whether the Java client would refresh metadata after this error. */
  readonly invalidatesMetadata: boolean;

  constructor(errorCode: number, detail?: string | null, cause?: unknown) {
    const info = protocolErrorInfo(errorCode);
    const text = detail ? `${info.name} (${errorCode}): ${detail}` : `${info.name} (${errorCode})`;
    super(text, { code: info.name, retriable: info.retriable, cause });
    this.errorCode = errorCode;
    this.errorName = info.name;
    this.invalidatesMetadata = info.invalidatesMetadata;
  }
}

/** The table entry for a code; a code this version does not know is treated as a non-retriable unknown. */
export function protocolErrorInfo(errorCode: number): ProtocolErrorInfo {
  return (
    PROTOCOL_ERRORS.get(errorCode) ?? {
      code: errorCode,
      name: `UNKNOWN_ERROR_CODE_${errorCode}`,
      exception: 'UnknownServerException',
      retriable: false,
      invalidatesMetadata: false,
    }
  );
}

/** Throws a KafkaProtocolError for a non-zero code; a no-op for NONE. */
export function throwIfError(errorCode: number, detail?: string | null): void {
  if (errorCode !== 0) throw new KafkaProtocolError(errorCode, detail);
}
