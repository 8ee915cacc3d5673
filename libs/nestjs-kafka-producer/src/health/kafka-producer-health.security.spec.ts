import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { FakeBroker } from '../../../kafka-producer/test/support/fake-broker';
import { FakeSaslBroker } from '../../../kafka-producer/test/support/fake-sasl-broker';
import { KafkaProducerModule } from '../kafka-producer.module';
import type { KafkaProducerModuleOptions } from '../kafka-producer.options';
import { KafkaProducerService } from '../kafka-producer.service';
import { KafkaProducerHealthIndicator } from './kafka-producer-health.indicator';
import { KafkaProducerHealthModule } from './kafka-producer-health.module';

const SECRET = 'S3cr3t-Ø-%s-MARKER';

function spellings(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  return [secret, bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex'), encodeURIComponent(secret)];
}

function expectNoSecret(text: string, secrets: readonly string[]): void {
  for (const secret of secrets) for (const form of spellings(secret)) expect(text).not.toContain(form);
}

/** Every line the app logs, at every level, with its context and any error fully inspected. */
function capturingLogger(lines: string[]): LoggerService {
  const keep = (...args: unknown[]): void => void lines.push(args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: Infinity, showHidden: true }))).join(' '));
  return { log: keep, warn: keep, error: keep, debug: keep, verbose: keep, fatal: keep };
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * What an operator sees of a secured producer: the /health body, the metrics and the log. None may
 * hold a password, token, passphrase or private key, whether authentication worked or failed.
 */
describe('health, metrics and logs of a producer with SASL and TLS settings', () => {
  let broker: FakeSaslBroker;
  let app: INestApplication | undefined;
  let lines: string[];

  beforeAll(async () => {
    broker = await FakeSaslBroker.start({ users: { alice: 'alice-secret' }, tokens: ['the-good-token'] });
  });
  afterAll(() => broker.stop());
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  // a failed first connect is what the module logs (the producer's health keeps lastError for record failures)
  const connectFailure = (): string | undefined => lines.find((l) => l.includes('background connect failed'));

  async function boot(options: Partial<KafkaProducerModuleOptions>): Promise<{ service: KafkaProducerService; printed: () => string }> {
    lines = [];
    const moduleRef = await Test.createTestingModule({
      imports: [
        KafkaProducerModule.forRoot({ isGlobal: true, bootstrapServers: [broker.address], connect: 'background', reconnectBackoffMs: 50, shutdownTimeoutMs: 0, ...options }),
        KafkaProducerHealthModule.forProducer(),
      ],
    })
      .setLogger(capturingLogger(lines))
      .compile();
    app = moduleRef.createNestApplication({ logger: capturingLogger(lines) });
    await app.init();
    const service = app.get(KafkaProducerService);
    const indicator = app.get(KafkaProducerHealthIndicator);
    const printed = (): string =>
      [JSON.stringify(indicator.isHealthy('kafka')), JSON.stringify(service.health(), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)), inspect(service.metrics(), { depth: Infinity }), JSON.stringify(service.producer.config), ...lines].join('\n');
    return { service, printed };
  }

  it.each([
    ['PLAIN', { mechanism: 'PLAIN', username: 'alice', password: SECRET }],
    ['SCRAM-SHA-256', { mechanism: 'SCRAM-SHA-256', username: 'alice', password: SECRET }],
    ['SCRAM-SHA-512 through a credentials provider', { mechanism: 'SCRAM-SHA-512', credentials: async () => ({ username: 'alice', password: SECRET }) }],
  ] as const)('a refused %s login reads down with SaslAuthenticationError, and the password appears nowhere', async (_label, sasl) => {
    const { printed } = await boot({ sasl });
    await until(() => connectFailure() !== undefined);
    expect(connectFailure()).toMatch(/SASL \S+ authentication failed/);
    expect(app!.get(KafkaProducerHealthIndicator).isHealthy('kafka')).toMatchObject({ kafka: { status: 'down', reasons: expect.arrayContaining(['no broker connection is ready']) } });
    expectNoSecret(printed(), [SECRET]);
  });

  it('a refused OAUTHBEARER token appears nowhere', async () => {
    const { printed } = await boot({ sasl: { mechanism: 'OAUTHBEARER', oauthBearerProvider: async () => ({ value: SECRET, lifetimeMs: 60_000 }) } });
    await until(() => connectFailure() !== undefined);
    expect(connectFailure()).toMatch(/OAUTHBEARER authentication failed/);
    expectNoSecret(printed(), [SECRET]);
  });

  it('an accepted login leaves its password nowhere either', async () => {
    const before = broker.authentications;
    const { printed } = await boot({ sasl: { mechanism: 'SCRAM-SHA-256', username: 'alice', password: 'alice-secret' } });
    await until(() => broker.authentications > before);
    expect(connectFailure()).toBeUndefined();
    expectNoSecret(printed(), ['alice-secret']);
  });

  it('a TLS connection that fails with verification off warns loudly, and neither the passphrase nor the key appears', async () => {
    const key = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: SECRET },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    }).privateKey;
    const keyBody = key.split('\n').filter((l) => l !== '' && !l.startsWith('-----'));
    // a plaintext listener that hangs up on the ClientHello: the handshake cannot complete
    const plaintext = await FakeBroker.start('hang-up');
    const { service, printed } = await boot({ bootstrapServers: [plaintext.address], ssl: { key, passphrase: SECRET, rejectUnauthorized: false } });
    await until(() => connectFailure() !== undefined).finally(() => plaintext.stop());
    expect(service.producer.config.ssl).toEqual({ rejectUnauthorized: false });
    const text = printed();
    expect(text).toMatch(/rejectUnauthorized is false: broker certificates are NOT verified/);
    expectNoSecret(text, [SECRET]);
    for (const line of keyBody) expect(text).not.toContain(line);
  });
});
