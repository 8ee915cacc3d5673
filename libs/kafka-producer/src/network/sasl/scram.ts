import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { SaslCredentialsProvider, SaslMechanism } from './sasl-mechanism';

const pbkdf2Async = promisify(pbkdf2);

/**
 * Kafka's limits (ScramMechanism): a broker never stores fewer than 4096 iterations, nor more than
 * 16384. Fewer would let whoever answers in the broker's place (or an attacker rewriting the
 * exchange) brute-force the password from our proof cheaply; more only burns our CPU.
 */
export const SCRAM_MIN_ITERATIONS = 4096;
export const SCRAM_MAX_ITERATIONS = 16384;

const HASHES = { 'SCRAM-SHA-256': { hash: 'sha256', bytes: 32 }, 'SCRAM-SHA-512': { hash: 'sha512', bytes: 64 } } as const;

export type ScramMechanismName = keyof typeof HASHES;

/** RFC 5802 §5.1: ',' and '=' in a username are escaped as =2C and =3D. */
function saslName(username: string): string {
  return username.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** `k=v,k=v` attributes; values may contain '=' (base64), so only the first one splits. */
function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) out.set(part[0], part.slice(2));
  }
  return out;
}

/**
 * SCRAM-SHA-256/512 (RFC 5802, RFC 7677) as Kafka speaks it: client-first with a fresh nonce,
 * client-final with the proof, then the server's signature checked before the connection counts as
 * authenticated, so a server that does not know the password (an impostor) is refused too. The
 * password never travels; only the salted proof does.
 */
export function scramMechanism(name: ScramMechanismName, credentials: SaslCredentialsProvider, nonceBytes: () => Buffer = () => randomBytes(24)): SaslMechanism {
  const { hash, bytes } = HASHES[name];
  const hmac = (key: Buffer, data: string | Buffer): Buffer => createHmac(hash, key).update(data).digest();
  return {
    name,
    async authenticate(exchange) {
      const { username, password } = await credentials();
      // base64 of random bytes: printable and free of ',' as the nonce must be
      const clientNonce = nonceBytes().toString('base64');
      const clientFirstBare = `n=${saslName(username)},r=${clientNonce}`;
      const serverFirst = (await exchange(Buffer.from(`n,,${clientFirstBare}`, 'utf8'))).toString('utf8');
      const first = attributes(serverFirst);
      if (first.has('e')) throw new Error(`the server refused the client-first message: ${first.get('e')}`);
      const nonce = first.get('r');
      if (nonce === undefined || !nonce.startsWith(clientNonce) || nonce.length === clientNonce.length) {
        throw new Error('the server nonce does not extend the client nonce (a replayed or forged server-first message)');
      }
      const saltText = first.get('s');
      const salt = saltText === undefined ? Buffer.alloc(0) : Buffer.from(saltText, 'base64');
      if (salt.length === 0) throw new Error('the server-first message has no salt');
      const iterationsText = first.get('i') ?? '';
      const iterations = /^\d{1,9}$/.test(iterationsText) ? Number(iterationsText) : NaN;
      if (!(iterations >= SCRAM_MIN_ITERATIONS && iterations <= SCRAM_MAX_ITERATIONS)) {
        throw new Error(`the server asks for ${iterationsText || 'no'} iterations; Kafka accepts ${SCRAM_MIN_ITERATIONS} to ${SCRAM_MAX_ITERATIONS}`);
      }

      const salted = await pbkdf2Async(Buffer.from(password, 'utf8'), salt, iterations, bytes, hash);
      const clientKey = hmac(salted, 'Client Key');
      const storedKey = createHash(hash).update(clientKey).digest();
      // c=biws is base64("n,,"): no channel binding, no authzid, as in client-first
      const clientFinalBare = `c=biws,r=${nonce}`;
      const authMessage = `${clientFirstBare},${serverFirst},${clientFinalBare}`;
      const clientSignature = hmac(storedKey, authMessage);
      const proof = Buffer.alloc(bytes);
      for (let i = 0; i < bytes; i++) proof[i] = clientKey[i] ^ clientSignature[i];
      const expectedServerSignature = hmac(hmac(salted, 'Server Key'), authMessage);
      salted.fill(0);
      clientKey.fill(0);

      const serverFinal = attributes((await exchange(Buffer.from(`${clientFinalBare},p=${proof.toString('base64')}`, 'utf8'))).toString('utf8'));
      if (serverFinal.has('e')) throw new Error(`the server refused the proof: ${serverFinal.get('e')}`);
      const signature = Buffer.from(serverFinal.get('v') ?? '', 'base64');
      if (signature.length !== expectedServerSignature.length || !timingSafeEqual(signature, expectedServerSignature)) {
        throw new Error('the server signature does not verify: the server does not know the password (an impostor, or the exchange was tampered with)');
      }
    },
  };
}
