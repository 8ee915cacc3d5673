import { KafkaError } from '../errors';

/**
 * Why a connection failed or went away. Every code is a disconnect from the sender's point of view
 * (Java's NetworkException / "disconnected" response): the request may or may not have reached the
 * broker, and it may be retried on a new connection.
 */
export type ConnectionErrorCode =
  /** The TCP connect (or the DNS lookup before it) failed. Nothing was sent. */
  | 'CONNECT_FAILED'
  /** The connection was not established within socketConnectionSetupTimeoutMs. Nothing was sent. */
  | 'CONNECTION_SETUP_TIMEOUT'
  /** A request was issued on a connection that is not (yet, or any longer) open. Nothing was sent. */
  | 'NOT_CONNECTED'
  /** The socket failed (reset, broken pipe, ...) while open. */
  | 'NETWORK_EXCEPTION'
  /** The broker closed the connection, or this client closed it. */
  | 'CONNECTION_CLOSED'
  /** The broker sent a size prefix that is negative or larger than maxResponseSize. */
  | 'FRAME_TOO_LARGE'
  /** A response's correlation id was not the one of the oldest request in flight. */
  | 'CORRELATION_ID_MISMATCH'
  /** A response arrived when no request was waiting for one. */
  | 'UNEXPECTED_RESPONSE'
  /** A response frame could not be decoded. */
  | 'RESPONSE_DECODE'
  /** The TLS handshake failed (not retriable when the broker's certificate did not verify). Nothing was sent. */
  | 'TLS_HANDSHAKE_FAILED'
  /**
   * The broker closed the connection, or answered with bytes that are no Kafka response, before
   * ApiVersions answered: most often a TLS or SASL listener spoken to in plaintext.
   */
  | 'HANDSHAKE_CLOSED'
  /** A request other than ApiVersions/SASL was issued before the connection finished authenticating. Nothing was sent. */
  | 'NOT_AUTHENTICATED'
  /** Authentication failed before or outside SASL (see AuthenticationError). */
  | 'AUTHENTICATION_FAILED'
  /** The SASL exchange failed: the broker refused the credentials, or its answers did not verify (SaslAuthenticationError). */
  | 'SASL_AUTHENTICATION_FAILED'
  /** The broker does not offer the configured SASL mechanism on this listener (UnsupportedSaslMechanismError). */
  | 'UNSUPPORTED_SASL_MECHANISM';

/**
 * The connection to a broker failed or closed. Retriable unless the code says otherwise (an
 * authentication failure, a certificate that does not verify): the request can be sent again on a new
 * connection; whether the broker processed it before the connection went away is unknown unless the
 * code says nothing was sent (CONNECT_FAILED, CONNECTION_SETUP_TIMEOUT, NOT_CONNECTED, ...).
 */
export class ConnectionError extends KafkaError {
  /** `host:port` of the broker, as given to the connection. */
  readonly broker: string;
  declare readonly code: ConnectionErrorCode;

  constructor(broker: string, code: ConnectionErrorCode, message: string, cause?: unknown, retriable = true) {
    super(`${message} (broker ${broker})`, { code, retriable, cause });
    this.broker = broker;
  }
}

/**
 * The broker refused this client's credentials, or the authentication exchange failed. Not retriable:
 * the same credentials will be refused again, so the pool waits its longest backoff before another
 * attempt and reports the error (ClusterConnections.nodeError) instead of retrying quietly.
 */
export class AuthenticationError extends ConnectionError {
  declare readonly code: 'AUTHENTICATION_FAILED' | 'SASL_AUTHENTICATION_FAILED' | 'UNSUPPORTED_SASL_MECHANISM';

  constructor(broker: string, message: string, cause?: unknown, code: AuthenticationError['code'] = 'AUTHENTICATION_FAILED') {
    super(broker, code, message, cause, false);
  }
}

/**
 * The SASL exchange failed (Java: SaslAuthenticationException): the broker refused the credentials
 * (`brokerMessage` is what it said, passed through as is), or the broker's own answers did not verify
 * (a SCRAM server signature, nonce or iteration count; `brokerMessage` is null then). Not retriable.
 * Neither the message nor the cause ever holds a credential.
 */
export class SaslAuthenticationError extends AuthenticationError {
  declare readonly code: 'SASL_AUTHENTICATION_FAILED';
  readonly mechanism: string;
  /** The broker's error message, or null when the exchange was aborted on this side. */
  readonly brokerMessage: string | null;

  constructor(broker: string, mechanism: string, message: string, brokerMessage: string | null, cause?: unknown) {
    super(broker, `SASL ${mechanism} authentication failed: ${message}`, cause, 'SASL_AUTHENTICATION_FAILED');
    this.mechanism = mechanism;
    this.brokerMessage = brokerMessage;
  }
}

/**
 * A credentials or token provider threw or rejected (an identity provider down, a secret file being
 * rewritten). Retriable: it says nothing about the credentials, so the connection is tried again
 * with backoff and the records wait, as they would for a broker that is briefly away. The provider's
 * own error is the cause; its message is not repeated here.
 */
export class CredentialsProviderError extends KafkaError {
  constructor(provider: string, cause: unknown) {
    super(`the ${provider} provider failed; retrying with backoff (its error is the cause)`, { code: 'CREDENTIALS_PROVIDER_FAILED', retriable: true, cause });
  }
}

/**
 * The listener does not offer the configured mechanism (Java: UnsupportedSaslMechanismException). The
 * producer never falls back to another one: a downgrade is exactly what an attacker would ask for.
 */
export class UnsupportedSaslMechanismError extends AuthenticationError {
  declare readonly code: 'UNSUPPORTED_SASL_MECHANISM';
  readonly mechanism: string;
  /** What the broker offers on this listener. */
  readonly enabledMechanisms: readonly string[];

  constructor(broker: string, mechanism: string, enabledMechanisms: readonly string[]) {
    super(
      broker,
      `SASL mechanism ${mechanism} is not enabled on this listener (it offers ${enabledMechanisms.length > 0 ? enabledMechanisms.join(', ') : 'none'})`,
      undefined,
      'UNSUPPORTED_SASL_MECHANISM',
    );
    this.mechanism = mechanism;
    this.enabledMechanisms = enabledMechanisms;
  }
}

/**
 * A request was issued while the connection is still authenticating, when only ApiVersions,
 * SaslHandshake and SaslAuthenticate may go out. Rejected before anything is written.
 */
export class NotAuthenticatedError extends ConnectionError {
  readonly apiKey: number;

  constructor(broker: string, apiKey: number) {
    super(
      broker,
      'NOT_AUTHENTICATED',
      `api key ${apiKey} cannot be sent before the connection is authenticated (only ApiVersions, SaslHandshake and SaslAuthenticate can)`,
    );
    this.apiKey = apiKey;
  }
}

/** The TCP connection was not established in time (Java: socket.connection.setup.timeout.ms). */
export class ConnectionSetupTimeoutError extends ConnectionError {
  readonly timeoutMs: number;

  constructor(broker: string, timeoutMs: number) {
    super(broker, 'CONNECTION_SETUP_TIMEOUT', `connection setup timed out after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The broker announced a response frame that is negative or larger than we accept. Usually a sign of
 * talking to something that is not a Kafka listener (a TLS port read as plaintext announces ~350 MB),
 * so the connection is closed rather than allocating what the peer asks for.
 */
export class FrameTooLargeError extends ConnectionError {
  readonly size: number;
  readonly maxSize: number;

  constructor(broker: string, size: number, maxSize: number) {
    super(
      broker,
      'FRAME_TOO_LARGE',
      size < 0
        ? `invalid response frame size ${size}`
        : `response frame of ${size} bytes exceeds maxResponseSize ${maxSize}`,
    );
    this.size = size;
    this.maxSize = maxSize;
  }
}

/**
 * A request got no response within its timeout. Retriable, but the broker may still have processed
 * it. The connection it was sent on is closed, because a late response would otherwise be matched
 * with the next request in line.
 */
export class RequestTimeoutError extends KafkaError {
  readonly broker: string;
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly timeoutMs: number;

  constructor(broker: string, apiKey: number, apiVersion: number, correlationId: number, timeoutMs: number) {
    super(
      `request (api key ${apiKey} v${apiVersion}, correlation id ${correlationId}) timed out after ${timeoutMs} ms (broker ${broker})`,
      { code: 'REQUEST_TIMED_OUT', retriable: true },
    );
    this.broker = broker;
    this.apiKey = apiKey;
    this.apiVersion = apiVersion;
    this.correlationId = correlationId;
    this.timeoutMs = timeoutMs;
  }
}

/** A version range an API is spoken in, inclusive at both ends. */
export interface VersionRange {
  readonly minVersion: number;
  readonly maxVersion: number;
}

/**
 * This client and the broker share no version of an API (or the broker does not offer it at all).
 * Not retriable: the broker will not change its mind on the next attempt.
 */
export class UnsupportedVersionError extends KafkaError {
  readonly broker: string;
  readonly apiKey: number;
  readonly apiName: string;
  readonly clientRange: VersionRange;
  /** Null when the broker does not list the API at all. */
  readonly brokerRange: VersionRange | null;

  constructor(broker: string, apiKey: number, apiName: string, clientRange: VersionRange, brokerRange: VersionRange | null) {
    super(
      brokerRange === null
        ? `broker ${broker} does not support ${apiName} (api key ${apiKey}); this client speaks v${clientRange.minVersion}-${clientRange.maxVersion}`
        : `no common version of ${apiName} (api key ${apiKey}): this client speaks v${clientRange.minVersion}-${clientRange.maxVersion}, broker ${broker} v${brokerRange.minVersion}-${brokerRange.maxVersion}`,
      { code: 'UNSUPPORTED_VERSION', retriable: false },
    );
    this.broker = broker;
    this.apiKey = apiKey;
    this.apiName = apiName;
    this.clientRange = clientRange;
    this.brokerRange = brokerRange;
  }
}

/**
 * The broker answered ApiVersions with an error other than the UNSUPPORTED_VERSION this client
 * recovers from. The connection is unusable for version negotiation.
 */
export class ApiVersionsError extends KafkaError {
  readonly broker: string;
  readonly errorCode: number;

  constructor(broker: string, errorCode: number, detail: string) {
    super(`ApiVersions failed on broker ${broker}: ${detail} (error code ${errorCode})`, {
      code: 'API_VERSIONS_FAILED',
      retriable: false,
    });
    this.broker = broker;
    this.errorCode = errorCode;
  }
}

/** One bootstrap address that could not be used, and why. */
export interface BootstrapAttempt {
  readonly address: string;
  readonly error: unknown;
}

/**
 * No bootstrap server could be used. Lists every address tried with its error. Retriable when any of
 * those errors was: brokers that are down may come back, as the Java client assumes when it keeps
 * retrying until max.block.ms; a broker that shares no protocol version with us will not.
 */
export class BootstrapError extends KafkaError {
  readonly attempts: readonly BootstrapAttempt[];

  constructor(attempts: readonly BootstrapAttempt[]) {
    const detail = attempts
      .map((a) => `${a.address} (${a.error instanceof Error ? a.error.message : String(a.error)})`)
      .join('; ');
    super(`could not connect to any bootstrap server: ${detail}`, {
      code: 'BOOTSTRAP_FAILED',
      retriable: attempts.some((a) => a.error instanceof KafkaError && a.error.retriable),
      cause: attempts.length > 0 ? attempts[attempts.length - 1].error : undefined,
    });
    this.attempts = attempts;
  }
}
