import type { SaslCredentialsProvider, SaslMechanism } from './sasl-mechanism';

/**
 * SASL PLAIN (RFC 4616): `authzid NUL authcid NUL passwd` in one message, with an empty authzid as
 * Kafka's PlainSaslServer expects. The password travels as is, so PLAIN belongs on TLS listeners.
 */
export function plainMechanism(credentials: SaslCredentialsProvider): SaslMechanism {
  return {
    name: 'PLAIN',
    async authenticate(exchange) {
      const { username, password } = await credentials();
      const user = Buffer.from(username, 'utf8');
      const pass = Buffer.from(password, 'utf8');
      const message = Buffer.alloc(2 + user.length + pass.length);
      user.copy(message, 1);
      pass.copy(message, 2 + user.length);
      try {
        await exchange(message);
      } finally {
        // the buffers may sit in memory until the next GC; do not leave the password readable in them
        message.fill(0);
        pass.fill(0);
      }
    },
  };
}
