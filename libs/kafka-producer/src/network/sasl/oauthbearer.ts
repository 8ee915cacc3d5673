import { CredentialsProviderError } from '../errors';
import type { OAuthBearerProvider, OAuthBearerToken, SaslExchange, SaslMechanism } from './sasl-mechanism';

const SEPARATOR = '\x01';
// RFC 7628 §3.1: key = 1*(ALPHA), value = *(VCHAR / SP / HTAB / CR / LF); "auth" is the token itself
const EXTENSION_KEY = /^[A-Za-z]+$/;
const EXTENSION_VALUE = /^[\x21-\x7E \t\r\n]+$/;
/** Beyond this a lifetimeMs is an epoch time (Java's token lifetime is one), not a duration. */
const MAX_LIFETIME_MS = 1e11;

/** Why a token from the provider cannot be sent, or null. Never quotes the token. */
export function oauthBearerTokenProblem(token: unknown): string | null {
  if (token === null || typeof token !== 'object') return 'the oauthBearerProvider must return an object { value, lifetimeMs?, extensions? }';
  const t = token as Partial<OAuthBearerToken>;
  if (typeof t.value !== 'string' || t.value.length === 0) return 'the oauthBearerProvider returned a token whose value is not a non-empty string';
  if (!/^[\x21-\x7E]+$/.test(t.value)) return 'the oauthBearerProvider returned a token value with characters a bearer token cannot hold (spaces, control or non-ASCII characters)';
  if (t.lifetimeMs !== undefined && !(typeof t.lifetimeMs === 'number' && t.lifetimeMs > 0)) return 'the oauthBearerProvider returned a lifetimeMs that is not a positive number';
  if (t.lifetimeMs !== undefined && t.lifetimeMs > MAX_LIFETIME_MS) return 'the oauthBearerProvider returned a lifetimeMs that looks like an epoch time: it is how long the token stays valid, in ms';
  if (t.extensions !== undefined) {
    if (t.extensions === null || typeof t.extensions !== 'object') return 'the oauthBearerProvider returned extensions that are not an object of strings';
    for (const [key, value] of Object.entries(t.extensions)) {
      if (!EXTENSION_KEY.test(key) || key === 'auth') return `SASL extension name "${key}" is not allowed (letters only, and not "auth")`;
      if (typeof value !== 'string' || !EXTENSION_VALUE.test(value)) return `SASL extension "${key}" must be a string of printable ASCII`;
    }
  }
  return null;
}

/**
 * OAUTHBEARER (RFC 7628) as Kafka speaks it: `n,,^Aauth=Bearer <token>^A<key=value^A>...^A`. When the
 * broker rejects the token it answers with a JSON error challenge first; the RFC has the client reply
 * with a lone ^A, after which the broker fails the exchange with its message.
 */
export function oauthBearerMechanism(provider: OAuthBearerProvider, now: () => number = () => performance.now()): SaslMechanism {
  let cached: { readonly token: OAuthBearerToken; readonly refreshAt: number } | null = null;
  const token = async (): Promise<OAuthBearerToken> => {
    if (cached !== null && now() < cached.refreshAt) return cached.token;
    const obtainedAt = now();
    let fresh: OAuthBearerToken;
    try {
      fresh = await provider();
    } catch (err) {
      throw new CredentialsProviderError('sasl.oauthBearerProvider', err);
    }
    const problem = oauthBearerTokenProblem(fresh);
    if (problem !== null) throw new Error(problem);
    // reuse until 80% of the lifetime has passed, as Java's token refresh does
    cached = fresh.lifetimeMs === undefined ? null : { token: fresh, refreshAt: obtainedAt + fresh.lifetimeMs * 0.8 };
    return fresh;
  };
  return {
    name: 'OAUTHBEARER',
    async authenticate(exchange) {
      const t = await token();
      try {
        await send(exchange, t);
      } catch (err) {
        // a token the broker refused (revoked, expired early) must not be offered again
        cached = null;
        throw err;
      }
    },
  };
}

/** The RFC 7628 initial response, and the error-challenge acknowledgement when the broker refuses. */
async function send(exchange: SaslExchange, t: OAuthBearerToken): Promise<void> {
  let message = `n,,${SEPARATOR}auth=Bearer ${t.value}`;
  for (const [key, value] of Object.entries(t.extensions ?? {})) message += `${SEPARATOR}${key}=${value}`;
  message += SEPARATOR + SEPARATOR;
  const challenge = await exchange(Buffer.from(message, 'utf8'));
  if (challenge.length > 0) {
    // the error challenge: acknowledge it so the broker ends the exchange with its own error
    const detail = challenge.toString('utf8');
    await exchange(Buffer.from(SEPARATOR, 'utf8'));
    throw new Error(`the broker rejected the token: ${detail}`);
  }
}
