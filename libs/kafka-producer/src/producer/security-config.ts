import type { Authenticate } from '../network/broker-connection';
import { CredentialsProviderError } from '../network/errors';
import type { SocketFactory } from '../network/connection';
import {
  oauthBearerMechanism,
  plainMechanism,
  saslAuthenticator,
  scramMechanism,
  type OAuthBearerProvider,
  type SaslCredentials,
  type SaslCredentialsProvider,
  type SaslMechanism,
  type SaslMechanismName,
} from '../network/sasl';
import { tlsOptionsProblems, tlsSocketFactory, type TlsOptions } from '../network/tls-socket-factory';

export type { OAuthBearerProvider, OAuthBearerToken, SaslCredentials, SaslCredentialsProvider, SaslMechanismName } from '../network/sasl';
export type { TlsOptions } from '../network/tls-socket-factory';

/** Java's security.protocol. */
export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';

type PasswordMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

/**
 * SASL settings. PLAIN and SCRAM take a username and password, or a `credentials` provider asked at
 * every authentication (so a rotated secret is picked up by the next connection); OAUTHBEARER takes
 * a token provider.
 */
export type SaslConfig =
  | { readonly mechanism: PasswordMechanism; readonly username: string; readonly password: string }
  | { readonly mechanism: PasswordMechanism; readonly credentials: SaslCredentialsProvider }
  | { readonly mechanism: 'OAUTHBEARER'; readonly oauthBearerProvider: OAuthBearerProvider };

/** What the resolved configuration shows of the security settings: never a secret. */
export interface ResolvedSecurity {
  readonly securityProtocol: SecurityProtocol;
  /** null without TLS; otherwise only whether the broker's certificate is verified. */
  readonly ssl: { readonly rejectUnauthorized: boolean } | null;
  /** null without SASL; the username is null when a credentials provider gives it. */
  readonly sasl: { readonly mechanism: SaslMechanismName; readonly username: string | null } | null;
}

/** What the network layer is handed: functions whose closures hold the secrets. */
export interface SecurityPlugins {
  readonly socketFactory?: SocketFactory;
  readonly authenticate?: Authenticate;
}

const PROTOCOLS: readonly SecurityProtocol[] = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];
const MECHANISMS: readonly SaslMechanismName[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'];
const SASL_KEYS: Readonly<Record<SaslMechanismName, readonly string[]>> = {
  PLAIN: ['mechanism', 'username', 'password', 'credentials'],
  'SCRAM-SHA-256': ['mechanism', 'username', 'password', 'credentials'],
  'SCRAM-SHA-512': ['mechanism', 'username', 'password', 'credentials'],
  OAUTHBEARER: ['mechanism', 'oauthBearerProvider'],
};

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Checks `ssl`, `sasl` and `securityProtocol` and derives the protocol from the first two when it is
 * not given (Java needs it spelled out; a Node user expects `ssl: true` to mean TLS). Every problem
 * names the field and never its value: a misplaced password must not reach a boot log.
 */
export function resolveSecurity(given: Record<string, unknown>, problems: string[]): { readonly resolved: ResolvedSecurity; readonly plugins: SecurityPlugins } {
  const rawSsl = given.ssl;
  const rawSasl = given.sasl;
  const rawProtocol = given.securityProtocol;

  let tls: TlsOptions | null = null;
  if (rawSsl === true) tls = {};
  else if (isObject(rawSsl)) tls = rawSsl as TlsOptions;
  else if (rawSsl !== undefined && rawSsl !== false) problems.push('ssl must be true, false or an object of tls.connect options (ca, cert, key, passphrase, ...)');

  let protocol: SecurityProtocol | null = null;
  if (rawProtocol !== undefined) {
    if (typeof rawProtocol === 'string' && PROTOCOLS.includes(rawProtocol.toUpperCase() as SecurityProtocol)) protocol = rawProtocol.toUpperCase() as SecurityProtocol;
    // the value is not echoed: a secret pasted into the wrong field is still a secret
    else problems.push(`securityProtocol must be one of ${PROTOCOLS.join(', ')}`);
  }

  const mechanism = rawSasl === undefined ? null : saslMechanismOf(rawSasl, problems);
  const wantsTls = protocol === 'SSL' || protocol === 'SASL_SSL';
  const wantsSasl = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
  if (protocol !== null) {
    // a protocol at odds with the other settings is a mistake; guessing which one was meant would
    // either send credentials in the clear or fail against the listener later and less clearly
    if (!wantsTls && rawSsl !== undefined && rawSsl !== false) problems.push(`securityProtocol ${protocol} does not use TLS, but ssl is set (use SSL or SASL_SSL, or drop ssl)`);
    if (wantsTls && rawSsl === false) problems.push(`securityProtocol ${protocol} uses TLS, but ssl is false`);
    if (!wantsSasl && rawSasl !== undefined) problems.push(`securityProtocol ${protocol} does not use SASL, but sasl is set (use SASL_PLAINTEXT or SASL_SSL, or drop sasl)`);
    if (wantsSasl && rawSasl === undefined) problems.push(`securityProtocol ${protocol} needs sasl: { mechanism, ... }`);
    if (wantsTls && tls === null && rawSsl === undefined) tls = {};
  }
  const securityProtocol: SecurityProtocol = protocol ?? (tls !== null ? (rawSasl !== undefined ? 'SASL_SSL' : 'SSL') : rawSasl !== undefined ? 'SASL_PLAINTEXT' : 'PLAINTEXT');

  let socketFactory: SocketFactory | undefined;
  if (tls !== null) {
    const tlsProblems = tlsOptionsProblems(tls);
    problems.push(...tlsProblems);
    if (tlsProblems.length === 0) socketFactory = tlsSocketFactory(tls);
  }
  const authenticate = mechanism === null ? undefined : saslAuthenticator(mechanism.mechanism);

  return {
    resolved: Object.freeze({
      securityProtocol,
      ssl: tls === null ? null : Object.freeze({ rejectUnauthorized: tls.rejectUnauthorized !== false }),
      sasl: mechanism === null ? null : Object.freeze({ mechanism: mechanism.name, username: mechanism.username }),
    }),
    plugins: { socketFactory, authenticate },
  };
}

function saslMechanismOf(raw: unknown, problems: string[]): { readonly name: SaslMechanismName; readonly username: string | null; readonly mechanism: SaslMechanism } | null {
  if (!isObject(raw)) {
    problems.push('sasl must be an object { mechanism, username, password } or { mechanism: "OAUTHBEARER", oauthBearerProvider }');
    return null;
  }
  const name = typeof raw.mechanism === 'string' ? raw.mechanism.toUpperCase() : raw.mechanism;
  if (typeof name !== 'string' || !MECHANISMS.includes(name as SaslMechanismName)) {
    problems.push(`sasl.mechanism must be one of ${MECHANISMS.join(', ')}`);
    return null;
  }
  const mechanism = name as SaslMechanismName;
  const before = problems.length;
  for (const key of Object.keys(raw)) {
    if (!SASL_KEYS[mechanism].includes(key) && raw[key] !== undefined) problems.push(`sasl.${key} is not a ${mechanism} setting (it takes ${SASL_KEYS[mechanism].join(', ')})`);
  }
  if (mechanism === 'OAUTHBEARER') {
    if (typeof raw.oauthBearerProvider !== 'function') problems.push('sasl.oauthBearerProvider must be a function returning { value, lifetimeMs?, extensions? } (or a promise of it)');
    if (problems.length > before) return null;
    return { name: mechanism, username: null, mechanism: oauthBearerMechanism(raw.oauthBearerProvider as OAuthBearerProvider) };
  }
  let credentials: SaslCredentialsProvider | null = null;
  let username: string | null = null;
  if (raw.credentials !== undefined) {
    if (typeof raw.credentials !== 'function') problems.push('sasl.credentials must be a function returning { username, password } (or a promise of it)');
    else if (raw.username !== undefined || raw.password !== undefined) problems.push('sasl takes either credentials or username and password, not both');
    else credentials = checkedCredentials(raw.credentials as SaslCredentialsProvider);
  } else {
    if (typeof raw.username !== 'string' || raw.username.length === 0) problems.push('sasl.username must be a non-empty string');
    if (typeof raw.password !== 'string' || raw.password.length === 0) problems.push('sasl.password must be a non-empty string');
    if (problems.length === before) {
      username = raw.username as string;
      const fixed: SaslCredentials = Object.freeze({ username, password: raw.password as string });
      credentials = () => fixed;
    }
  }
  if (credentials === null || problems.length > before) return null;
  const built = mechanism === 'PLAIN' ? plainMechanism(credentials) : scramMechanism(mechanism, credentials);
  return { name: mechanism, username, mechanism: built };
}

/** A provider's answer is checked every time; a bad one fails that authentication with a named reason. */
function checkedCredentials(provider: SaslCredentialsProvider): SaslCredentialsProvider {
  return async () => {
    let c: SaslCredentials;
    try {
      c = await provider();
    } catch (err) {
      throw new CredentialsProviderError('sasl.credentials', err);
    }
    if (!isObject(c) || typeof c.username !== 'string' || c.username.length === 0 || typeof c.password !== 'string' || c.password.length === 0) {
      throw new Error('the sasl.credentials provider must return { username, password } with non-empty strings');
    }
    return c;
  };
}
