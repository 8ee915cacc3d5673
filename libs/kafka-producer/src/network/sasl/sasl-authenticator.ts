import { KafkaError, KafkaProtocolError } from '../../errors';
import { SaslAuthenticateApi } from '../../protocol/messages/sasl-authenticate.generated';
import { SaslHandshakeApi } from '../../protocol/messages/sasl-handshake.generated';
import type { Authenticate, AuthenticatingConnection, AuthenticationOutcome } from '../broker-connection';
import { SaslAuthenticationError, UnsupportedSaslMechanismError } from '../errors';
import type { ApiVersionTable } from '../version-negotiation';
import type { SaslMechanism } from './sasl-mechanism';

const UNSUPPORTED_SASL_MECHANISM = 33;

/**
 * The SASL handshake Java's SaslClientAuthenticator runs on every new connection, right after
 * ApiVersions: SaslHandshake (v1: the mechanism's own bytes travel in SaslAuthenticate requests), then
 * the mechanism's rounds as SaslAuthenticate requests. The same function re-authenticates an open
 * connection (KIP-368), so what the broker says about the session's lifetime is returned each time.
 */
export function saslAuthenticator(mechanism: SaslMechanism): Authenticate {
  return async (connection: AuthenticatingConnection, versions: ApiVersionTable): Promise<AuthenticationOutcome> => {
    const address = connection.address;
    const failed = (message: string, brokerMessage: string | null, cause?: unknown): SaslAuthenticationError =>
      new SaslAuthenticationError(address, mechanism.name, message, brokerMessage, cause);
    // v0 of SaslHandshake sent the mechanism's bytes raw, outside Kafka framing (Kafka < 1.0); not spoken here
    const handshakeVersion = versions.versionFor(SaslHandshakeApi);
    if (handshakeVersion < 1) throw failed('the broker speaks only SaslHandshake v0 (Kafka before 1.0), which this client does not support', null);
    const handshake = await connection.request(SaslHandshakeApi, handshakeVersion, { mechanism: mechanism.name });
    if (handshake.errorCode === UNSUPPORTED_SASL_MECHANISM) throw new UnsupportedSaslMechanismError(address, mechanism.name, handshake.mechanisms);
    if (handshake.errorCode !== 0) {
      const refusal = new KafkaProtocolError(handshake.errorCode);
      throw failed(`the broker refused the SaslHandshake: ${refusal.message}`, null, refusal);
    }

    const authenticateVersion = versions.versionFor(SaslAuthenticateApi);
    let sessionLifetimeMs = 0;
    try {
      await mechanism.authenticate(async (authBytes) => {
        const response = await connection.request(SaslAuthenticateApi, authenticateVersion, { authBytes });
        if (response.errorCode !== 0) {
          const refusal = new KafkaProtocolError(response.errorCode, response.errorMessage);
          throw failed(response.errorMessage ?? refusal.message, response.errorMessage ?? null, refusal);
        }
        sessionLifetimeMs = Number(response.sessionLifetimeMs ?? 0n);
        return response.authBytes;
      });
    } catch (err) {
      // a disconnect or a timeout mid-exchange says nothing about the credentials: retriable as it is
      if (err instanceof SaslAuthenticationError || (err instanceof KafkaError && err.retriable)) throw err;
      throw failed(err instanceof Error ? err.message : String(err), null, err instanceof KafkaError ? err : undefined);
    }
    return { sessionLifetimeMs };
  };
}
