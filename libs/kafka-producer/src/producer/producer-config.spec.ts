import { ProducerConfigError } from './errors';
import { PRODUCER_DEFAULTS, resolveProducerConfig } from './producer-config';

describe('producer configuration', () => {
  it('uses the Kafka 4.x defaults', () => {
    const c = resolveProducerConfig({ bootstrapServers: 'a:9092' });
    expect(c).toMatchObject({ acks: -1, lingerMs: 5, batchSize: 16384, bufferMemory: 33554432, maxBlockMs: 60000, requestTimeoutMs: 30000, deliveryTimeoutMs: 120000, retries: 2147483647, maxInFlightRequestsPerConnection: 5, maxRequestSize: 1048576, compressionType: 'none' });
    expect(c.bootstrapServers).toEqual(['a:9092']);
    expect(c.clientId).toMatch(/^producer-\d+$/);
    expect(PRODUCER_DEFAULTS.metadataMaxAgeMs).toBe(300000);
  });

  it('accepts a comma-separated bootstrap string and IPv6 addresses', () => {
    expect(resolveProducerConfig({ bootstrapServers: 'a:1, b:2,[::1]:3' }).bootstrapServers).toEqual(['a:1', 'b:2', '[::1]:3']);
  });

  it('normalises acks like Java: all and -1 are the same', () => {
    expect(resolveProducerConfig({ bootstrapServers: 'a:1', acks: 'all' }).acks).toBe(-1);
    expect(resolveProducerConfig({ bootstrapServers: 'a:1', acks: '1' }).acks).toBe(1);
    expect(resolveProducerConfig({ bootstrapServers: 'a:1', acks: 0 }).acks).toBe(0);
  });

  it('fails once, naming every bad field', () => {
    let error: ProducerConfigError | undefined;
    try {
      resolveProducerConfig({ bootstrapServers: 'nohost', acks: 2 as never, lingerMs: -1, compressionType: 'brotli' as never, maxInFlightRequestsPerConnection: 0 });
    } catch (e) {
      error = e as ProducerConfigError;
    }
    expect(error).toBeInstanceOf(ProducerConfigError);
    expect(error!.code).toBe('INVALID_CONFIG');
    expect(error!.problems).toHaveLength(5);
    for (const field of ['bootstrapServers entry "nohost"', 'acks', 'lingerMs', 'compressionType', 'maxInFlightRequestsPerConnection']) {
      expect(error!.message).toContain(field);
    }
  });

  it('raises a default deliveryTimeoutMs below linger + request timeout, but rejects an explicit one (Java)', () => {
    expect(resolveProducerConfig({ bootstrapServers: 'a:1', lingerMs: 100000, requestTimeoutMs: 30000 }).deliveryTimeoutMs).toBe(130000);
    expect(() => resolveProducerConfig({ bootstrapServers: 'a:1', deliveryTimeoutMs: 1000 })).toThrow(/deliveryTimeoutMs \(1000\) must be at least lingerMs \+ requestTimeoutMs \(30005\)/);
  });

  it('caps retryBackoffMs at retryBackoffMaxMs and treats batchSize 0 as 1', () => {
    const c = resolveProducerConfig({ bootstrapServers: 'a:1', retryBackoffMs: 5000, retryBackoffMaxMs: 1000, batchSize: 0 });
    expect(c.retryBackoffMs).toBe(1000);
    expect(c.batchSize).toBe(1);
  });
});
