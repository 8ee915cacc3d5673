import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import * as tls from 'node:tls';
import { inspect } from 'node:util';
import type { SaslMechanismName } from '@app/kafka-producer';
import { Injectable, Module, type LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { KafkaProducerOptionsException } from './kafka-producer.exceptions';
import { KafkaProducerModule } from './kafka-producer.module';
import type { KafkaProducerModuleOptions } from './kafka-producer.options';
import { KafkaProducerService } from './kafka-producer.service';

// compile() builds (and validates) the producer; nothing connects unless a test calls connect()
const BROKERS = ['127.0.0.1:1'];
const SECRET = 'S3cr3t-Ø-%s-MARKER';

/** An encrypted private key (no certificate needed: a secure context loads a key on its own). */
function encryptedKey(passphrase: string): string {
  return generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  }).privateKey;
}

/** Every spelling in which a secret could slip into text: raw, base64, hex, URI-encoded. */
function spellings(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  return [secret, bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex'), encodeURIComponent(secret)];
}

function expectNoSecret(text: string, secret: string = SECRET): void {
  for (const form of spellings(secret)) expect(text).not.toContain(form);
}

/** Everything one could print of an error: message, response, JSON, a deep inspect, and its causes. */
function everythingPrintable(err: unknown): string {
  const out: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    const e = current as { message?: unknown; getResponse?: () => unknown; response?: unknown; cause?: unknown; stack?: unknown };
    out.push(String(e.message), String(e.stack), inspect(e, { depth: Infinity, showHidden: true }), JSON.stringify(e) ?? '');
    if (typeof e.getResponse === 'function') out.push(JSON.stringify(e.getResponse()) ?? '');
    if (e.response !== undefined) out.push(JSON.stringify(e.response) ?? '');
    current = e.cause;
  }
  return out.join('\n');
}

type Register = (options: Partial<KafkaProducerModuleOptions>) => ReturnType<typeof KafkaProducerModule.forRoot>;
const registrations: Array<{ how: string; register: Register }> = [
  { how: 'forRoot', register: (options) => KafkaProducerModule.forRoot({ bootstrapServers: BROKERS, ...options }) },
  { how: 'forRootAsync', register: (options) => KafkaProducerModule.forRootAsync({ useFactory: async () => ({ bootstrapServers: BROKERS, ...options }) }) },
];

const built: KafkaProducerService[] = [];
afterAll(async () => {
  await Promise.all(built.map((s) => s.producer.close({ timeoutMs: 0 })));
});

async function serviceFrom(module: ReturnType<typeof KafkaProducerModule.forRoot>): Promise<KafkaProducerService> {
  const moduleRef = await Test.createTestingModule({ imports: [module] }).compile();
  const service = moduleRef.get(KafkaProducerService);
  built.push(service);
  return service;
}

async function rejectionOf(module: ReturnType<typeof KafkaProducerModule.forRoot>): Promise<KafkaProducerOptionsException> {
  try {
    await serviceFrom(module);
  } catch (e) {
    if (e instanceof KafkaProducerOptionsException) return e;
    throw e;
  }
  throw new Error('the options were accepted');
}

describe.each(registrations)('KafkaProducerModule.$how: security options', ({ register }) => {
  afterEach(() => jest.restoreAllMocks());

  it('passes ssl, sasl and securityProtocol to the producer, which shows only what is not secret', async () => {
    const service = await serviceFrom(register({ securityProtocol: 'SASL_SSL', ssl: { rejectUnauthorized: true }, sasl: { mechanism: 'SCRAM-SHA-512', username: 'orders', password: SECRET } }));
    expect(service.producer.config).toMatchObject({ securityProtocol: 'SASL_SSL', ssl: { rejectUnauthorized: true }, sasl: { mechanism: 'SCRAM-SHA-512', username: 'orders' } });
    expectNoSecret(JSON.stringify(service.producer.config));
  });

  it('accepts the protocol and mechanism in any case, as the producer does', async () => {
    const service = await serviceFrom(register({ securityProtocol: 'sasl_plaintext' as 'SASL_PLAINTEXT', sasl: { mechanism: 'plain' as 'PLAIN', username: 'u', password: 'p' } }));
    expect([service.producer.config.securityProtocol, service.producer.config.sasl?.mechanism]).toEqual(['SASL_PLAINTEXT', 'PLAIN']);
  });

  it('hands the TLS material to the producer as the very objects given: Buffers, arrays of them and key objects are not copied', async () => {
    const createSecureContext = jest.spyOn(tls, 'createSecureContext');
    const ca = Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const caList = [ca];
    const keyEntry = { pem: Buffer.from(encryptedKey(SECRET)), passphrase: SECRET };
    const keys = [keyEntry];
    const checkServerIdentity = (): undefined => undefined;
    const ssl = { ca: caList, key: keys, servername: 'broker.example', checkServerIdentity };
    const service = await serviceFrom(register({ ssl }));
    expect(service.producer.config.securityProtocol).toBe('SSL');
    const seen = createSecureContext.mock.calls.map(([options]) => options!);
    expect(seen.length).toBeGreaterThan(0);
    for (const options of seen) {
      expect(options.ca).toBe(caList);
      expect((options.ca as Buffer[])[0]).toBe(ca);
      expect(options.key).toBe(keys);
      expect((options.key as Array<typeof keyEntry>)[0]).toBe(keyEntry);
      expect((options.key as Array<typeof keyEntry>)[0].pem).toBe(keyEntry.pem);
    }
    expect(ssl).toEqual({ ca: [ca], key: [keyEntry], servername: 'broker.example', checkServerIdentity });
  });

  it('hands a ready secure context to the socket as the same object', async () => {
    const secureContext = tls.createSecureContext({ key: encryptedKey(SECRET), passphrase: SECRET });
    const connect = jest.spyOn(tls, 'connect');
    const service = await serviceFrom(register({ ssl: { secureContext }, reconnectBackoffMs: 10_000 }));
    service.producer.connect().catch(() => undefined);
    await new Promise<void>((resolve) => {
      const poll = (): void => void (connect.mock.calls.length > 0 ? resolve() : setTimeout(poll, 5));
      poll();
    });
    expect((connect.mock.calls[0][0] as tls.ConnectionOptions).secureContext).toBe(secureContext);
    await service.producer.close({ timeoutMs: 0 });
  });

  it('names every bad security field once, with a message saying what it takes', async () => {
    const err = await rejectionOf(register({ securityProtocol: 'TLS' as 'SSL', ssl: { passphrase: 123456 as unknown as string }, sasl: { mechanism: 'GSSAPI' as 'PLAIN', username: 'u', password: 'p' } }));
    expect(err.problems).toEqual([
      'securityProtocol must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL',
      'ssl.passphrase must be a string',
      'sasl.mechanism must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER',
    ]);
  });

  it("adds the producer's own checks that the shapes cannot express: fields per mechanism, protocol consistency, key loading", async () => {
    const err = await rejectionOf(
      register({ securityProtocol: 'SASL_PLAINTEXT', ssl: { key: encryptedKey('right'), passphrase: 'wrong' }, sasl: { mechanism: 'OAUTHBEARER', username: 'u' } as never }),
    );
    expect(err.problems).toEqual([
      'sasl.username is not a OAUTHBEARER setting (it takes mechanism, oauthBearerProvider)',
      'sasl.oauthBearerProvider must be a function returning { value, lifetimeMs?, extensions? } (or a promise of it)',
      'securityProtocol SASL_PLAINTEXT does not use TLS, but ssl is set (use SSL or SASL_SSL, or drop ssl)',
      expect.stringMatching(/^ssl: the CA, certificate or key could not be loaded: .*bad decrypt/),
    ]);
  });

  describe('a secret in the wrong place never reaches the error, whatever one prints of it', () => {
    const misplaced: Array<[string, Partial<KafkaProducerModuleOptions>]> = [
      ['sasl given as the password string', { sasl: SECRET as never }],
      ['sasl as an array holding it', { sasl: [SECRET] as never }],
      ['the password as the mechanism', { sasl: { mechanism: SECRET, username: 'u', password: SECRET } as never }],
      ['the password under a misspelt key, next to a bad one', { sasl: { mechanism: 'PLAIN', username: 'u', password: SECRET, pasword: SECRET } as never }],
      ['an empty username next to the password', { sasl: { mechanism: 'SCRAM-SHA-256', username: '', password: SECRET } }],
      ['the password as a top-level key', { password: SECRET } as never],
      ["Java's flat sasl.jaas.config", { 'sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="${SECRET}";` } as never],
      ['the password as securityProtocol', { securityProtocol: SECRET as never }],
      ['the password as ssl', { ssl: SECRET as never }],
      ['ssl.key as a number', { ssl: { key: 4242 as never } }],
      ['a numeric passphrase', { ssl: { key: encryptedKey('x'), passphrase: 77_123_456 as never } }],
      ['the passphrase next to a wrong-typed cert', { ssl: { passphrase: SECRET, cert: {} as never } }],
      ['the passphrase next to a wrong-typed cipher list', { ssl: { passphrase: SECRET, ciphers: 5 as never } }],
      ['the passphrase as minVersion', { ssl: { minVersion: SECRET as never, passphrase: SECRET } }],
      ['the passphrase as servername', { ssl: { servername: 42 as never, passphrase: SECRET } }],
      ['a key that does not decrypt with the passphrase', { ssl: { key: encryptedKey('another'), passphrase: SECRET } }],
      ['the passphrase as the key', { ssl: { key: SECRET, passphrase: SECRET } }],
      ['a wrong protocol for the password mechanism', { securityProtocol: 'SSL', sasl: { mechanism: 'PLAIN', username: 'u', password: SECRET } }],
    ];

    it.each(misplaced)('%s', async (_label, options) => {
      const err = await rejectionOf(register(options));
      expect(err.problems.length).toBeGreaterThan(0);
      const printed = everythingPrintable(err);
      expectNoSecret(printed);
      // numbers are secrets too when they are where a passphrase or key belongs
      for (const n of ['77123456', '4242']) expect(printed).not.toContain(n);
    });
  });
});

describe('KafkaProducerModule.forRootAsync: security settings from configuration', () => {
  /** What @nestjs/config's ConfigService offers, over `load` factories (the package is not a dependency here). */
  @Injectable()
  class ConfigService {
    private readonly values: Record<string, unknown> = {
      kafka: { bootstrapServers: BROKERS, securityProtocol: 'SASL_SSL', saslMechanism: 'SCRAM-SHA-256', saslUsername: 'orders', saslPassword: SECRET, rejectUnauthorized: true },
    };
    getOrThrow<T>(path: string): T {
      const value = path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], this.values);
      if (value === undefined) throw new TypeError(`Configuration key "${path}" does not exist`);
      return value as T;
    }
  }
  @Module({ providers: [ConfigService], exports: [ConfigService] })
  class ConfigModule {}

  const fromConfig = (config: ConfigService): KafkaProducerModuleOptions => ({
    bootstrapServers: config.getOrThrow<string[]>('kafka.bootstrapServers'),
    securityProtocol: config.getOrThrow('kafka.securityProtocol'),
    ssl: { rejectUnauthorized: config.getOrThrow<boolean>('kafka.rejectUnauthorized') },
    sasl: { mechanism: config.getOrThrow<Exclude<SaslMechanismName, 'OAUTHBEARER'>>('kafka.saslMechanism'), username: config.getOrThrow('kafka.saslUsername'), password: config.getOrThrow('kafka.saslPassword') },
  });

  it('builds the producer from what the factory read', async () => {
    const service = await serviceFrom(KafkaProducerModule.forRootAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory: fromConfig }));
    expect(service.producer.config.securityProtocol).toBe('SASL_SSL');
    expect(service.producer.config.sasl).toEqual({ mechanism: 'SCRAM-SHA-256', username: 'orders' });
    expect(service.producer.config.ssl).toEqual({ rejectUnauthorized: true });
  });

  it('a credentials provider reading the config at every authentication is passed as the same function', async () => {
    const credentials = jest.fn(async () => ({ username: 'orders', password: SECRET }));
    const service = await serviceFrom(KafkaProducerModule.forRootAsync({ useFactory: () => ({ bootstrapServers: BROKERS, ssl: true, sasl: { mechanism: 'PLAIN', credentials } }) }));
    expect(service.producer.config.sasl).toEqual({ mechanism: 'PLAIN', username: null });
    // asked at authentication time, not at boot
    expect(credentials).not.toHaveBeenCalled();
  });

  it('keeps the password out of the error when the factory puts it in the wrong place', async () => {
    const err = await rejectionOf(
      KafkaProducerModule.forRootAsync({
        imports: [ConfigModule],
        inject: [ConfigService],
        // a typical slip: the whole secret where the sasl object belongs, and the protocol misspelt
        useFactory: (config: ConfigService) => ({ ...fromConfig(config), sasl: config.getOrThrow<string>('kafka.saslPassword') as never, securityProtocol: 'SASL-SSL' as never }),
      }),
    );
    expect(err.problems).toEqual(['securityProtocol must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL', 'sasl must be an object { mechanism, username, password } or { mechanism: "OAUTHBEARER", oauthBearerProvider }']);
    expectNoSecret(everythingPrintable(err));
  });

  it('logs nothing secret while building the producer, even with verification turned off', async () => {
    const lines: string[] = [];
    const capture: LoggerService = {
      log: (m: unknown, ...rest: unknown[]) => void lines.push(inspect([m, ...rest], { depth: Infinity })),
      warn: (m: unknown, ...rest: unknown[]) => void lines.push(inspect([m, ...rest], { depth: Infinity })),
      error: (m: unknown, ...rest: unknown[]) => void lines.push(inspect([m, ...rest], { depth: Infinity })),
      debug: (m: unknown, ...rest: unknown[]) => void lines.push(inspect([m, ...rest], { depth: Infinity })),
    };
    const moduleRef = await Test.createTestingModule({
      imports: [
        KafkaProducerModule.forRootAsync({
          imports: [ConfigModule],
          inject: [ConfigService],
          useFactory: (config: ConfigService) => ({ ...fromConfig(config), ssl: { rejectUnauthorized: false } }),
        }),
      ],
    })
      .setLogger(capture)
      .compile();
    built.push(moduleRef.get(KafkaProducerService));
    expect(lines.join('\n')).toMatch(/rejectUnauthorized is false/);
    expectNoSecret(lines.join('\n'));
  });
});
