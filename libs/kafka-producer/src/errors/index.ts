export * from './kafka-error';
export * from './protocol-error';
export { PROTOCOL_ERRORS } from './error-codes.generated';
export type { ProtocolErrorInfo } from './error-codes.generated';
