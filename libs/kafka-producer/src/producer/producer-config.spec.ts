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

describe('batchMaxSize (batch growth under backlog)', () => {
  const resolve = (extra: Record<string, unknown>) => resolveProducerConfig({ bootstrapServers: 'a:1', ...extra } as never);
  const problems = (extra: Record<string, unknown>): readonly string[] => {
    try {
      resolve(extra);
    } catch (e) {
      expect(e).toBeInstanceOf(ProducerConfigError);
      return (e as ProducerConfigError).problems;
    }
    throw new Error('the configuration was accepted');
  };

  it('defaults to 1 MiB (the default maxRequestSize), but never above maxRequestSize nor below batchSize', () => {
    expect(resolve({}).batchMaxSize).toBe(1_048_576);
    expect(resolve({ maxRequestSize: 100_000 }).batchMaxSize).toBe(100_000);
    expect(resolve({ maxRequestSize: 4_194_304 }).batchMaxSize).toBe(1_048_576);
    expect(resolve({ batchSize: 2_097_152, maxRequestSize: 4_194_304 }).batchMaxSize).toBe(2_097_152);
  });

  it('takes an explicit value between batchSize and maxRequestSize; equal to batchSize turns growth off', () => {
    expect(resolve({ batchMaxSize: 65536 }).batchMaxSize).toBe(65536);
    expect(resolve({ batchSize: 32768, batchMaxSize: 32768 }).batchMaxSize).toBe(32768);
  });

  it('rejects a value below batchSize, above maxRequestSize, or not a positive integer, naming the rule', () => {
    expect(problems({ batchSize: 32768, batchMaxSize: 16384 })).toEqual(['batchMaxSize (16384) must be at least batchSize (32768)']);
    expect(problems({ batchMaxSize: 2_000_000 })).toEqual(['batchMaxSize (2000000) must be at most maxRequestSize (1048576): a batch must fit in one request']);
    expect(problems({ batchMaxSize: 1.5 })).toEqual(['batchMaxSize must be a positive integer, got 1.5']);
    expect(problems({ batchMaxSize: '64k' })).toEqual(['batchMaxSize must be a positive integer, got "64k"']);
  });
});

describe('producer configuration keys', () => {
  /** The problems of a configuration that must be rejected; typed loosely, as JavaScript callers pass it. */
  function problemsOf(config: Record<string, unknown>): readonly string[] {
    try {
      resolveProducerConfig(config as never);
    } catch (e) {
      expect(e).toBeInstanceOf(ProducerConfigError);
      return (e as ProducerConfigError).problems;
    }
    throw new Error('the configuration was accepted');
  }

  it('accepts every key of the producer options, including the serializers and a logger', () => {
    const noop = (): void => undefined;
    expect(() =>
      resolveProducerConfig({
        bootstrapServers: 'a:1', clientId: 'c', acks: 'all', lingerMs: 1, batchSize: 1, bufferMemory: 1, maxBlockMs: 1,
        requestTimeoutMs: 1, deliveryTimeoutMs: 2, retries: 1, retryBackoffMs: 1, retryBackoffMaxMs: 1, reconnectBackoffMs: 1,
        reconnectBackoffMaxMs: 1, socketConnectionSetupTimeoutMs: 1, socketConnectionSetupTimeoutMaxMs: 1,
        maxInFlightRequestsPerConnection: 1, maxRequestSize: 1, compressionType: 'gzip', compressionGzipLevel: 1,
        compressionLz4Level: 9, compressionZstdLevel: 3, metadataMaxAgeMs: 1, metadataMaxIdleMs: 5000,
        partitionerAdaptivePartitioningEnable: true, partitionerAvailabilityTimeoutMs: 0, partitionerIgnoreKeys: false,
        partitioner: { partition: () => 0 }, interceptors: [], allowAutoCreateTopics: false,
        keySerializer: { serialize: () => Buffer.alloc(0) }, valueSerializer: { serialize: () => Buffer.alloc(0) },
        logger: { debug: noop, info: noop, warn: noop, error: noop },
      } as never),
    ).not.toThrow();
  });

  it('rejects an unknown key, suggesting the known name that differs only in case', () => {
    expect(problemsOf({ bootstrapServers: 'a:1', lingerMS: 5 })).toEqual(['unknown configuration key "lingerMS" (did you mean lingerMs?)']);
  });

  it('suggests the known name for a small typo', () => {
    expect(problemsOf({ bootstrapServers: 'a:1', bacthSize: 1 })).toEqual(['unknown configuration key "bacthSize" (did you mean batchSize?)']);
    expect(problemsOf({ bootstrapServers: 'a:1', retrys: 1 })).toEqual(['unknown configuration key "retrys" (did you mean retries?)']);
    expect(problemsOf({ bootstrapServers: 'a:1', ack: 1 })).toEqual(['unknown configuration key "ack" (did you mean acks?)']);
  });

  it.each([
    ['linger.ms', 'lingerMs'],
    ['batch.size', 'batchSize'],
    ['bootstrap.servers', 'bootstrapServers'],
    ['max.in.flight.requests.per.connection', 'maxInFlightRequestsPerConnection'],
    ['partitioner.class', 'partitioner'],
    ['interceptor.classes', 'interceptors'],
    ['key.serializer', 'keySerializer'],
    ['LINGER_MS', 'lingerMs'],
  ])('maps the Java name %s to %s in the suggestion', (javaName, ours) => {
    expect(problemsOf({ bootstrapServers: 'a:1', [javaName]: 1 })).toEqual([`unknown configuration key "${javaName}" (did you mean ${ours}?)`]);
  });

  it('offers no suggestion when no known name is close', () => {
    expect(problemsOf({ bootstrapServers: 'a:1', colour: 'blue' })).toEqual(['unknown configuration key "colour"']);
  });

  it('never prints the value of an unknown key, which may be a secret', () => {
    const secret = 'hunter2-s3cr3t';
    let message = '';
    try {
      resolveProducerConfig({ bootstrapServers: 'a:1', password: secret, 'sasl.jaas.config': secret, sasl: { password: secret }, lingerMS: secret } as never);
    } catch (e) {
      message = (e as Error).message;
      expect((e as ProducerConfigError).problems.join('\n')).not.toContain(secret);
    }
    expect(message).toContain('"password"');
    expect(message).not.toContain(secret);
  });


  it('rejects an enableIdempotence that is not a boolean', () => {
    expect(problemsOf({ bootstrapServers: 'a:1', enableIdempotence: 'false' })).toEqual(['enableIdempotence must be a boolean, got "false"']);
  });

  it('takes sasl: undefined (an unset environment variable) as no SASL', () => {
    expect(resolveProducerConfig({ bootstrapServers: 'a:1', sasl: undefined } as never).securityProtocol).toBe('PLAINTEXT');
  });

  it('rejects an unknown key even when its value is undefined: the typo is there whatever the environment supplies', () => {
    expect(problemsOf({ bootstrapServers: 'a:1', lingerMS: undefined })).toHaveLength(1);
  });

  it('points Java names at ours, and Java\'s flat ssl.* and sasl.* keys at the object that holds them', () => {
    expect(problemsOf({ bootstrapServers: 'a:1', 'enable.idempotence': true })).toEqual(['unknown configuration key "enable.idempotence" (did you mean enableIdempotence?)']);
    expect(problemsOf({ bootstrapServers: 'a:1', 'sasl.mechanism': 'PLAIN' })).toEqual(['unknown configuration key "sasl.mechanism" (did you mean sasl? it takes an object, e.g. { mechanism, username, password })']);
    expect(problemsOf({ bootstrapServers: 'a:1', 'ssl.truststore.location': '/x' })).toEqual(['unknown configuration key "ssl.truststore.location" (did you mean ssl? it takes an object, e.g. { ca, cert, key })']);
  });

  it.each(['127.0.0.1:0', '127.0.0.1:99999', '[::1]:65536'])('rejects bootstrapServers entry %s, whose port is outside 1-65535, at construction rather than after maxBlockMs on every send', (entry) => {
    const port = entry.slice(entry.lastIndexOf(':') + 1);
    expect(problemsOf({ bootstrapServers: [entry, 'b:9092'] })).toEqual([`bootstrapServers entry "${entry}" has port ${port}, outside 1-65535`]);
  });

  it('accepts ports 1 and 65535', () => {
    expect(resolveProducerConfig({ bootstrapServers: 'a:1,b:65535' }).bootstrapServers).toEqual(['a:1', 'b:65535']);
  });

  it('reports unknown keys in the same error as every other problem', () => {
    const problems = problemsOf({ bootstrapServers: 'nohost', lingerMs: -1, lingerMS: 5, sasl: {} });
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/lingerMS[\s\S]*nohost[\s\S]*lingerMs must be[\s\S]*sasl.mechanism must be/);
  });

  describe('logger', () => {
    it('accepts an object with some or none of debug, info, warn and error', () => {
      expect(() => resolveProducerConfig({ bootstrapServers: 'a:1', logger: {} } as never)).not.toThrow();
      expect(() => resolveProducerConfig({ bootstrapServers: 'a:1', logger: { warn: () => undefined } } as never)).not.toThrow();
      expect(() => resolveProducerConfig({ bootstrapServers: 'a:1', logger: console } as never)).not.toThrow();
    });

    it.each([[null], ['console'], [() => undefined]])('rejects %p, which is not an object', (logger) => {
      expect(problemsOf({ bootstrapServers: 'a:1', logger })).toEqual(['logger must be an object with optional debug, info, warn and error functions']);
    });

    it('names each level that is present but not a function', () => {
      expect(problemsOf({ bootstrapServers: 'a:1', logger: { debug: true, info: () => undefined, error: 'x' } })).toEqual(['logger.debug must be a function', 'logger.error must be a function']);
    });
  });
});

describe('idempotence settings (Java rules)', () => {
  function problemsOf(config: Record<string, unknown>): readonly string[] {
    try {
      resolveProducerConfig(config as never);
      return [];
    } catch (e) {
      return (e as ProducerConfigError).problems;
    }
  }

  it('is on by default, with acks all, retries and 5 requests in flight', () => {
    const c = resolveProducerConfig({ bootstrapServers: 'a:1' });
    expect(c.enableIdempotence).toBe(true);
    expect(c.idempotenceDisabledReason).toBeNull();
    expect(c.transactionalId).toBeNull();
    expect(c.transactionTimeoutMs).toBe(60000);
  });

  it.each([
    [{ acks: 1 }, 'acks must be all (got 1)'],
    [{ acks: 0 }, 'acks must be all (got 0)'],
    [{ retries: 0 }, 'retries must be greater than 0'],
    [{ maxInFlightRequestsPerConnection: 6 }, 'maxInFlightRequestsPerConnection must be at most 5 (got 6)'],
  ])('left unset, a conflicting %j turns idempotence off and says why', (setting, reason) => {
    const c = resolveProducerConfig({ bootstrapServers: 'a:1', ...setting } as never);
    expect(c.enableIdempotence).toBe(false);
    expect(c.idempotenceDisabledReason).toBe(reason);
  });

  it.each([
    [{ acks: 1 }, 'acks must be all (got 1): enableIdempotence is true'],
    [{ retries: 0 }, 'retries must be greater than 0: enableIdempotence is true'],
    [{ maxInFlightRequestsPerConnection: 6 }, 'maxInFlightRequestsPerConnection must be at most 5 (got 6): enableIdempotence is true'],
  ])('set explicitly to true, a conflicting %j fails construction with the reason', (setting, problem) => {
    expect(problemsOf({ bootstrapServers: 'a:1', enableIdempotence: true, ...setting })).toEqual([problem]);
  });

  it('is off without a reason when switched off explicitly', () => {
    const c = resolveProducerConfig({ bootstrapServers: 'a:1', enableIdempotence: false, acks: 1 });
    expect(c.enableIdempotence).toBe(false);
    expect(c.idempotenceDisabledReason).toBeNull();
  });

  it('a transactionalId requires idempotence: switching it off or a conflicting setting is an error', () => {
    expect(problemsOf({ bootstrapServers: 'a:1', transactionalId: 'tx', enableIdempotence: false })).toEqual([
      'transactionalId requires enableIdempotence: a transactional producer is idempotent (remove enableIdempotence: false)',
    ]);
    expect(problemsOf({ bootstrapServers: 'a:1', transactionalId: 'tx', acks: 1 })).toEqual(['acks must be all (got 1): a transactional producer (transactionalId) is idempotent']);
    expect(problemsOf({ bootstrapServers: 'a:1', transactionalId: '' })).toEqual(['transactionalId must be a non-empty string']);
    expect(problemsOf({ bootstrapServers: 'a:1', transactionalId: 'tx', transactionTimeoutMs: 0 })).toEqual(['transactionTimeoutMs must be an integer in [1, 2147483647], got 0']);
    expect(resolveProducerConfig({ bootstrapServers: 'a:1', transactionalId: 'tx', transactionTimeoutMs: 5000 })).toMatchObject({ transactionalId: 'tx', transactionTimeoutMs: 5000, enableIdempotence: true });
  });
});
