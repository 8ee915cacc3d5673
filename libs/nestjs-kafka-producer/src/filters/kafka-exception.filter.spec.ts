import 'reflect-metadata';
import {
  AuthenticationError,
  BufferExhaustedError,
  ConnectionError,
  InvalidRecordError,
  KafkaError,
  KafkaProtocolError,
  KafkaTimeoutError,
  ProducerClosedError,
  RecordTooLargeError,
  RequestTimeoutError,
  SaslAuthenticationError,
  TopicAuthorizationError,
  TransactionalIdAuthorizationError,
  UnsupportedSaslMechanismError,
} from '@app/kafka-producer';
import { Logger, type ArgumentsHost } from '@nestjs/common';
import { KafkaProducerOptionsException } from '../kafka-producer.exceptions';
import { KafkaExceptionFilter, kafkaErrorToHttpBody, kafkaErrorToHttpStatus } from './kafka-exception.filter';

const cases: Array<[string, unknown, number]> = [
  ['a delivery timeout', new KafkaTimeoutError('expired', 'DELIVERY_TIMEOUT'), 503],
  ['a metadata timeout (broker outage)', new KafkaTimeoutError('no metadata', 'METADATA_TIMEOUT'), 503],
  ['a request timeout', new RequestTimeoutError('broker:9092', 0, 9, 1, 30_000), 503],
  ['a connection error', new ConnectionError('broker:9092', 'CONNECT_FAILED', 'refused'), 503],
  ['an exhausted buffer', new BufferExhaustedError('full'), 503],
  ['a closed producer', new ProducerClosedError(), 503],
  ['a retriable broker error', new KafkaProtocolError(19 /* NOT_ENOUGH_REPLICAS */), 503],
  ['a record too large (client side)', new RecordTooLargeError('too big'), 413],
  ['a record too large (broker MESSAGE_TOO_LARGE)', new KafkaProtocolError(10), 413],
  ['an invalid record', new InvalidRecordError('partition must be a non-negative integer'), 400],
  ['bad module options', new KafkaProducerOptionsException('default', ['acks must be one of -1, 0, 1']), 500],
  ['failed authentication', new AuthenticationError('broker:9092', 'bad credentials'), 500],
  ['a refused SASL login', new SaslAuthenticationError('broker:9092', 'SCRAM-SHA-512', 'SASL SCRAM-SHA-512 authentication failed', 'Authentication failed'), 500],
  ['a SASL mechanism the broker does not enable', new UnsupportedSaslMechanismError('broker:9092', 'SCRAM-SHA-512', ['PLAIN']), 500],
  ['a TLS handshake refused over the certificate', new ConnectionError('broker:9093', 'TLS_HANDSHAKE_FAILED', 'unable to verify the first certificate', undefined, false), 500],
  ['a TLS handshake cut short (retriable)', new ConnectionError('broker:9093', 'TLS_HANDSHAKE_FAILED', 'socket hang up'), 503],
  ['a topic ACL missing', new TopicAuthorizationError(), 500],
  ['a transactional id ACL missing', new TransactionalIdAuthorizationError(), 500],
  ['another Kafka error', new KafkaError('odd', { code: 'SOMETHING' }), 500],
  ['a non-Kafka error', new Error('x'), 500],
];

describe('kafkaErrorToHttpStatus', () => {
  it.each(cases)('maps %s to its status', (_what, error, status) => {
    expect(kafkaErrorToHttpStatus(error)).toBe(status);
  });
});

describe('kafkaErrorToHttpBody', () => {
  it('gives a 4xx the producer message, which describes the caller’s record, and the code', () => {
    expect(kafkaErrorToHttpBody(new RecordTooLargeError('the record is 2000000 bytes'))).toEqual({
      statusCode: 413,
      error: 'Payload Too Large',
      message: 'the record is 2000000 bytes',
      code: 'RECORD_TOO_LARGE',
    });
  });

  it('gives a 5xx a fixed text, never the message (it may name brokers or configuration)', () => {
    const body = kafkaErrorToHttpBody(new ConnectionError('internal-broker.corp:9093', 'CONNECT_FAILED', 'refused'));
    expect(body).toEqual({ statusCode: 503, error: 'Service Unavailable', message: expect.any(String), code: 'CONNECT_FAILED' });
    expect(JSON.stringify(body)).not.toContain('internal-broker');
    expect(JSON.stringify(kafkaErrorToHttpBody(new KafkaProducerOptionsException('default', ['saslPassword: must be a string'])))).not.toContain('saslPassword');
  });
});

describe('KafkaExceptionFilter', () => {
  function httpHost(response: unknown): ArgumentsHost {
    return { getType: () => 'http', switchToHttp: () => ({ getResponse: () => response }) } as unknown as ArgumentsHost;
  }

  it('answers through the HTTP adapter with the status and body', () => {
    const reply = jest.fn();
    const filter = new KafkaExceptionFilter({ httpAdapter: { reply } } as never);
    const response = {};
    filter.catch(new InvalidRecordError('bad key'), httpHost(response));
    expect(reply).toHaveBeenCalledWith(response, expect.objectContaining({ statusCode: 400, code: 'INVALID_RECORD' }), 400);
  });

  it('answers an Express response directly when created without an adapter host, and logs a 5xx in full', () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const json = jest.fn();
    const response = { status: jest.fn(() => ({ json })) };
    new KafkaExceptionFilter().catch(new KafkaTimeoutError('expired after 120000 ms', 'DELIVERY_TIMEOUT'), httpHost(response));
    expect(response.status).toHaveBeenCalledWith(503);
    expect(json).toHaveBeenCalledWith(expect.objectContaining({ statusCode: 503, code: 'DELIVERY_TIMEOUT' }));
    expect(logged).toHaveBeenCalledWith(expect.stringContaining('expired after 120000 ms'));
    logged.mockRestore();
  });

  it('rethrows outside HTTP', () => {
    const error = new InvalidRecordError('bad');
    expect(() => new KafkaExceptionFilter().catch(error, { getType: () => 'rpc' } as unknown as ArgumentsHost)).toThrow(error);
  });
});
