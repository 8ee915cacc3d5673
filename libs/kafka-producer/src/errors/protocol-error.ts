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

/**
 * No Write (or Describe) on the topic (Java: TopicAuthorizationException). Not retried: the records
 * fail at once. The producer is not harmed; once an ACL grants access, the next send goes through.
 */
export class TopicAuthorizationError extends KafkaProtocolError {
  constructor(detail?: string | null, cause?: unknown) {
    super(29, detail, cause);
  }
}

/** No Write on the transactional id (Java: TransactionalIdAuthorizationException): initTransactions fails with it. */
export class TransactionalIdAuthorizationError extends KafkaProtocolError {
  constructor(detail?: string | null, cause?: unknown) {
    super(53, detail, cause);
  }
}

/** No cluster-level permission the request needs (Java: ClusterAuthorizationException), e.g. IdempotentWrite. */
export class ClusterAuthorizationError extends KafkaProtocolError {
  constructor(detail?: string | null, cause?: unknown) {
    super(31, detail, cause);
  }
}

const AUTHORIZATION_ERRORS: ReadonlyMap<number, new (detail?: string | null, cause?: unknown) => KafkaProtocolError> = new Map<number, new (detail?: string | null, cause?: unknown) => KafkaProtocolError>([
  [29, TopicAuthorizationError],
  [31, ClusterAuthorizationError],
  [53, TransactionalIdAuthorizationError],
]);

/** The error for a code a broker returned: a KafkaProtocolError, of the typed subclass where there is one. */
export function protocolError(errorCode: number, detail?: string | null, cause?: unknown): KafkaProtocolError {
  const typed = AUTHORIZATION_ERRORS.get(errorCode);
  return typed === undefined ? new KafkaProtocolError(errorCode, detail, cause) : new typed(detail, cause);
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
  if (errorCode !== 0) throw protocolError(errorCode, detail);
}
