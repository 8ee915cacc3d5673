/**
 * Public API of the producer library. Nothing from protocol/ or network/ is exported except the
 * error classes a caller may need to recognise.
 */
export * from './producer';
export { KafkaError, KafkaProtocolError, InvalidArgumentError, TopicAuthorizationError, TransactionalIdAuthorizationError, ClusterAuthorizationError } from './errors';
export { ConnectionError, RequestTimeoutError } from './network/errors';
export { UnsupportedVersionError, BootstrapError, AuthenticationError, SaslAuthenticationError, UnsupportedSaslMechanismError, CredentialsProviderError } from './network/errors';
