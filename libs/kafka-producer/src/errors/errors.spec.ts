import { InvalidArgumentError, KafkaError, KafkaProtocolError, PROTOCOL_ERRORS } from '.';

describe('errors', () => {
  it('carry code, retriable and cause on the KafkaError base', () => {
    const cause = new Error('socket hang up');
    const e = new KafkaError('boom', { code: 'X', retriable: true, cause });
    expect(e).toBeInstanceOf(Error);
    expect([e.name, e.code, e.retriable, e.cause]).toEqual(['KafkaError', 'X', true, cause]);
    expect(new InvalidArgumentError('topic must be a string').retriable).toBe(false);
  });

  it('name a broker error by its Kafka name, with the retriable and metadata flags of the Java client', () => {
    const e = new KafkaProtocolError(6, 'leader moved');
    expect(e).toBeInstanceOf(KafkaError);
    expect(e.code).toBe('NOT_LEADER_OR_FOLLOWER');
    expect(e.errorCode).toBe(6);
    expect(e.retriable).toBe(true);
    expect(e.invalidatesMetadata).toBe(true);
    expect(e.message).toBe('NOT_LEADER_OR_FOLLOWER (6): leader moved');
    expect(new KafkaProtocolError(10).retriable).toBe(false);
  });

  it('know every code of the Kafka 4.3 table and survive an unknown one', () => {
    expect(PROTOCOL_ERRORS.size).toBeGreaterThan(130);
    expect(PROTOCOL_ERRORS.get(35)?.name).toBe('UNSUPPORTED_VERSION');
    const unknown = new KafkaProtocolError(9999);
    expect(unknown.code).toBe('UNKNOWN_ERROR_CODE_9999');
    expect(unknown.retriable).toBe(false);
  });
});
