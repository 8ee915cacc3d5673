import { inspect } from 'node:util';
import { KafkaProducer } from './kafka-producer';
import { ProducerConfigError } from './errors';
import { resolveProducerConfig, securityPlugins } from './producer-config';

const PASSWORD = 'S3cr3t-Ø-%s-MARKER';

/** The password in every form a careless log line or serialiser could carry it. */
const FORMS = [PASSWORD, Buffer.from(PASSWORD).toString('base64'), Buffer.from(PASSWORD).toString('hex'), encodeURIComponent(PASSWORD)];

function problemsOf(config: Record<string, unknown>): string[] {
  try {
    resolveProducerConfig({ bootstrapServers: 'a:1', ...config } as never);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(ProducerConfigError);
    return [...(err as ProducerConfigError).problems];
  }
}

function expectNoPassword(text: string): void {
  for (const form of FORMS) expect(text).not.toContain(form);
}

describe('securityProtocol', () => {
  it.each([
    [{}, 'PLAINTEXT'],
    [{ ssl: true }, 'SSL'],
    [{ ssl: { ca: [] } }, 'SSL'],
    [{ ssl: false }, 'PLAINTEXT'],
    [{ sasl: { mechanism: 'PLAIN', username: 'u', password: 'p' } }, 'SASL_PLAINTEXT'],
    [{ ssl: true, sasl: { mechanism: 'SCRAM-SHA-512', username: 'u', password: 'p' } }, 'SASL_SSL'],
    [{ securityProtocol: 'SSL' }, 'SSL'],
    [{ securityProtocol: 'sasl_ssl', sasl: { mechanism: 'OAUTHBEARER', oauthBearerProvider: () => ({ value: 't' }) } }, 'SASL_SSL'],
  ])('is derived from ssl and sasl, or taken as given: %j', (config, expected) => {
    expect(resolveProducerConfig({ bootstrapServers: 'a:1', ...config } as never).securityProtocol).toBe(expected);
  });

  it('turns TLS on with the system CAs when SSL is asked for without ssl options', () => {
    const config = resolveProducerConfig({ bootstrapServers: 'a:1', securityProtocol: 'SSL' });
    expect(config.ssl).toEqual({ rejectUnauthorized: true });
    expect(securityPlugins(config).socketFactory).toBeInstanceOf(Function);
  });

  it.each([
    [{ securityProtocol: 'PLAINTEXT', ssl: true }, 'securityProtocol PLAINTEXT does not use TLS, but ssl is set (use SSL or SASL_SSL, or drop ssl)'],
    [{ securityProtocol: 'SSL', ssl: false }, 'securityProtocol SSL uses TLS, but ssl is false'],
    [{ securityProtocol: 'SSL', sasl: { mechanism: 'PLAIN', username: 'u', password: 'p' } }, 'securityProtocol SSL does not use SASL, but sasl is set (use SASL_PLAINTEXT or SASL_SSL, or drop sasl)'],
    [{ securityProtocol: 'SASL_SSL' }, 'securityProtocol SASL_SSL needs sasl: { mechanism, ... }'],
    [{ securityProtocol: 'TLS' }, 'securityProtocol must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL'],
  ])('refuses a securityProtocol at odds with the other settings: %j', (config, problem) => {
    expect(problemsOf(config)).toEqual([problem]);
  });
});

describe('sasl settings', () => {
  it.each([
    [{ sasl: 'PLAIN' }, 'sasl must be an object { mechanism, username, password } or { mechanism: "OAUTHBEARER", oauthBearerProvider }'],
    [{ sasl: { mechanism: 'GSSAPI', username: 'u', password: 'p' } }, 'sasl.mechanism must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER'],
    [{ sasl: { mechanism: 'PLAIN', username: '', password: 'p' } }, 'sasl.username must be a non-empty string'],
    [{ sasl: { mechanism: 'PLAIN', username: 'u' } }, 'sasl.password must be a non-empty string'],
    [{ sasl: { mechanism: 'OAUTHBEARER' } }, 'sasl.oauthBearerProvider must be a function returning { value, lifetimeMs?, extensions? } (or a promise of it)'],
    [{ sasl: { mechanism: 'PLAIN', credentials: 'x' } }, 'sasl.credentials must be a function returning { username, password } (or a promise of it)'],
    [{ sasl: { mechanism: 'PLAIN', credentials: () => ({}), password: 'p' } }, 'sasl takes either credentials or username and password, not both'],
    [{ sasl: { mechanism: 'OAUTHBEARER', oauthBearerProvider: () => ({ value: 't' }), password: 'p' } }, 'sasl.password is not a OAUTHBEARER setting (it takes mechanism, oauthBearerProvider)'],
  ])('names what is wrong: %j', (config, problem) => {
    expect(problemsOf(config)).toEqual([problem]);
  });

  it('takes the mechanism in any case', () => {
    expect(resolveProducerConfig({ bootstrapServers: 'a:1', sasl: { mechanism: 'scram-sha-256', username: 'u', password: 'p' } } as never).sasl).toEqual({ mechanism: 'SCRAM-SHA-256', username: 'u' });
  });

  it('never prints the password, wherever it was put', () => {
    const cases: Array<Record<string, unknown>> = [
      { sasl: PASSWORD },
      { sasl: { mechanism: 'PLAIN', username: 'u', password: PASSWORD, extra: PASSWORD } },
      { sasl: { mechanism: PASSWORD, username: 'u', password: 'p' } },
      { sasl: { mechanism: 'PLAIN', username: 'u', password: [PASSWORD] } },
      { securityProtocol: PASSWORD },
      { ssl: PASSWORD },
      { ssl: { passphrase: PASSWORD, minVersion: 'TLSv1' } },
      { ssl: { key: PASSWORD, cert: PASSWORD } },
      { 'sasl.jaas.config': `PlainLoginModule required password="${PASSWORD}"` },
    ];
    for (const c of cases) {
      try {
        resolveProducerConfig({ bootstrapServers: 'a:1', ...c } as never);
        throw new Error(`accepted ${Object.keys(c).join()}`);
      } catch (err) {
        expect(err).toBeInstanceOf(ProducerConfigError);
        expectNoPassword(`${(err as Error).message}\n${(err as Error).stack}\n${inspect(err, { depth: Infinity, showHidden: true })}\n${JSON.stringify(err)}`);
      }
    }
  });
});

describe('what a configured producer shows', () => {
  it('keeps no secret in its config, util.inspect of it at any depth, or JSON of it', async () => {
    const producer = new KafkaProducer({
      bootstrapServers: '127.0.0.1:1',
      ssl: { rejectUnauthorized: true, passphrase: PASSWORD },
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'alice', password: PASSWORD },
      logger: { warn: () => {}, error: () => {} },
    });
    try {
      expect(producer.config).toMatchObject({ securityProtocol: 'SASL_SSL', ssl: { rejectUnauthorized: true }, sasl: { mechanism: 'SCRAM-SHA-512', username: 'alice' } });
      expectNoPassword(JSON.stringify(producer.config));
      expectNoPassword(inspect(producer.config, { depth: Infinity, showHidden: true }));
      expectNoPassword(inspect(producer, { depth: Infinity, showHidden: true }));
      expectNoPassword(JSON.stringify(producer.metrics()));
      expectNoPassword(JSON.stringify(producer.health()));
    } finally {
      await producer.close({ timeoutMs: 0 });
    }
  });

  it('warns, once and loudly, when certificate verification is switched off', async () => {
    const warnings: string[] = [];
    const producer = new KafkaProducer({ bootstrapServers: '127.0.0.1:1', ssl: { rejectUnauthorized: false }, logger: { warn: (m: string) => warnings.push(m) } });
    await producer.close({ timeoutMs: 0 });
    expect(producer.config.ssl).toEqual({ rejectUnauthorized: false });
    expect(warnings.filter((w) => /rejectUnauthorized is false: broker certificates are NOT verified/.test(w))).toHaveLength(1);
  });
});
