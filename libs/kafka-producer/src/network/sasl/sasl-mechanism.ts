/**
 * What a SASL mechanism needs from the connection: one SaslAuthenticate round trip. It sends the
 * client's bytes and resolves with the server's, or rejects when the broker refused (the broker's
 * message is carried by a SaslAuthenticationError).
 */
export type SaslExchange = (authBytes: Buffer) => Promise<Buffer>;

/**
 * One SASL mechanism, as configured. Credentials stay inside the closure that built it, never in a
 * property: util.inspect of a producer (at any depth) must not reach them.
 */
export interface SaslMechanism {
  /** The name sent in SaslHandshake: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER. */
  readonly name: string;
  /**
   * Runs one complete authentication through `exchange`. Throws a plain Error (its message names what
   * went wrong, never a credential) when the server's answers do not verify.
   */
  authenticate(exchange: SaslExchange): Promise<void>;
}

export type SaslMechanismName = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'OAUTHBEARER';

/** A username and password, for PLAIN and SCRAM. */
export interface SaslCredentials {
  readonly username: string;
  readonly password: string;
}

/** Called for every authentication (every new connection, every re-authentication), so secrets can rotate. */
export type SaslCredentialsProvider = () => SaslCredentials | Promise<SaslCredentials>;

/** An OAuth 2 bearer token (RFC 6750) for OAUTHBEARER, with optional SASL extensions (RFC 7628 §3.1). */
export interface OAuthBearerToken {
  /** The compact token (a JWT for most providers), sent as `auth=Bearer <value>`. */
  readonly value: string;
  /**
   * How long the token stays valid from when the provider returned it. Given, the token is reused
   * until 80% of it has passed; not given, the provider is asked again for every authentication.
   */
  readonly lifetimeMs?: number;
  readonly extensions?: Readonly<Record<string, string>>;
}

export type OAuthBearerProvider = () => OAuthBearerToken | Promise<OAuthBearerToken>;
