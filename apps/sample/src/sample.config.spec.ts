import 'reflect-metadata';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KafkaProducerModule, KafkaProducerService } from '@app/nestjs-kafka-producer';
import { Test } from '@nestjs/testing';
import { SampleConfig, SampleConfigException } from './sample.config';

const PASSWORD = 'S3cr3t-Ø-%s-MARKER';
const BASE = { KAFKA_BOOTSTRAP_SERVERS: 'broker-1.example:9093' };

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sample-config-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, contents: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, contents);
  return file;
}

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    SampleConfig.fromEnv({ ...BASE, ...env });
  } catch (e) {
    if (e instanceof SampleConfigException) return e.problems;
    throw e;
  }
  throw new Error('the environment was accepted');
}

function expectNoSecret(text: string, secret: string = PASSWORD): void {
  const bytes = Buffer.from(secret, 'utf8');
  for (const form of [secret, bytes.toString('base64'), bytes.toString('hex'), encodeURIComponent(secret)]) expect(text).not.toContain(form);
}

describe('SampleConfig: connecting to a secured cluster from the environment', () => {
  it('without any security variable, talks plaintext', () => {
    const config = SampleConfig.fromEnv(BASE);
    expect(config.kafkaSecurity).toEqual({});
    expect(config.securityLabel).toBe('PLAINTEXT');
  });

  it('TLS with a CA file: the producer gets the file as read, verification on', () => {
    const ca = write('ca.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const config = SampleConfig.fromEnv({ ...BASE, KAFKA_SSL_CA_FILE: ca });
    expect(config.kafkaSecurity).toEqual({ ssl: { ca: fs.readFileSync(ca) } });
    expect(config.securityLabel).toBe('SSL');
  });

  it('KAFKA_SECURITY_PROTOCOL=SSL alone means TLS against the system CAs', () => {
    expect(SampleConfig.fromEnv({ ...BASE, KAFKA_SECURITY_PROTOCOL: 'ssl' }).kafkaSecurity).toEqual({ securityProtocol: 'SSL', ssl: true });
  });

  it('mutual TLS: certificate, key and passphrase', () => {
    const files = { KAFKA_SSL_CERT_FILE: write('client.pem', 'CERT'), KAFKA_SSL_KEY_FILE: write('client.key', 'KEY') };
    const config = SampleConfig.fromEnv({ ...BASE, ...files, KAFKA_SSL_KEY_PASSPHRASE: PASSWORD });
    expect(config.kafkaSecurity.ssl).toEqual({ cert: Buffer.from('CERT'), key: Buffer.from('KEY'), passphrase: PASSWORD });
  });

  it.each([
    ['false', false],
    ['true', undefined],
  ])('KAFKA_SSL_REJECT_UNAUTHORIZED=%s: only false turns verification off', (value, rejectUnauthorized) => {
    const ssl = SampleConfig.fromEnv({ ...BASE, KAFKA_SSL_REJECT_UNAUTHORIZED: value }).kafkaSecurity.ssl;
    expect(ssl === true ? undefined : (ssl as { rejectUnauthorized?: boolean }).rejectUnauthorized).toBe(rejectUnauthorized);
  });

  it('any other KAFKA_SSL_REJECT_UNAUTHORIZED is a problem rather than a guess', () => {
    expect(problemsOf({ KAFKA_SSL_REJECT_UNAUTHORIZED: '0' })).toEqual(['KAFKA_SSL_REJECT_UNAUTHORIZED must be true or false (only false turns certificate verification off), not "0"']);
  });

  it('SCRAM over SASL_SSL with the password in a variable', () => {
    const config = SampleConfig.fromEnv({ ...BASE, KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'orders', KAFKA_SASL_PASSWORD: PASSWORD });
    expect(config.kafkaSecurity).toEqual({ securityProtocol: 'SASL_SSL', ssl: true, sasl: { mechanism: 'SCRAM-SHA-512', username: 'orders', password: PASSWORD } });
    expect(config.securityLabel).toBe('SASL_SSL/SCRAM-SHA-512');
  });

  it('KAFKA_SASL_PASSWORD_FILE is read at every authentication, so a rotated password is picked up', async () => {
    const file = write('password', 'first\n');
    const sasl = SampleConfig.fromEnv({ ...BASE, KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_USERNAME: 'orders', KAFKA_SASL_PASSWORD_FILE: file }).kafkaSecurity.sasl as {
      credentials: () => Promise<{ username: string; password: string }>;
    };
    expect(await sasl.credentials()).toEqual({ username: 'orders', password: 'first' });
    fs.writeFileSync(file, 'second\n');
    expect(await sasl.credentials()).toEqual({ username: 'orders', password: 'second' });
  });

  it('KAFKA_SASL_OAUTHBEARER_TOKEN_FILE is read at every authentication, so a sidecar can rotate the token', async () => {
    const file = write('token', 'token-1\n');
    const sasl = SampleConfig.fromEnv({ ...BASE, KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'OAUTHBEARER', KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: file }).kafkaSecurity.sasl as {
      mechanism: string;
      oauthBearerProvider: () => Promise<{ value: string; lifetimeMs?: number }>;
    };
    expect(sasl.mechanism).toBe('OAUTHBEARER');
    // no lifetimeMs: the producer would otherwise reuse the token instead of reading the file again
    expect(await sasl.oauthBearerProvider()).toEqual({ value: 'token-1' });
    fs.writeFileSync(file, 'token-2');
    expect(await sasl.oauthBearerProvider()).toEqual({ value: 'token-2' });
  });

  it('a file that cannot be read is a problem naming the variable and the path', () => {
    const missing = path.join(dir, 'nope', 'ca.pem');
    expect(problemsOf({ KAFKA_SSL_CA_FILE: missing, KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD_FILE: dir })).toEqual([
      `KAFKA_SSL_CA_FILE: cannot read ${missing} (ENOENT)`,
      `KAFKA_SASL_PASSWORD_FILE: cannot read ${dir} (EISDIR)`,
    ]);
  });

  it('reports every bad variable at once, and never what a file holds', () => {
    const key = write('lonely.key', `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${PASSWORD}\n-----END ENCRYPTED PRIVATE KEY-----\n`);
    const problems = problemsOf({ KAFKA_SECURITY_PROTOCOL: 'TLS', KAFKA_SSL_KEY_FILE: key, KAFKA_SASL_MECHANISM: 'GSSAPI', PORT: 'x' });
    expect(problems).toEqual([
      'PORT must be an integer from 0 to 65535, not "x"',
      'KAFKA_SECURITY_PROTOCOL must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL, not "TLS"',
      'KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together (mutual TLS needs the client certificate and its key)',
      'KAFKA_SASL_MECHANISM must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER',
    ]);
    expectNoSecret(problems.join('\n'));
  });

  it.each<[string, NodeJS.ProcessEnv, string[]]>([
    ['a password without a mechanism', { KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: PASSWORD }, ['KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD set, but KAFKA_SASL_MECHANISM is not (one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER)']],
    ['a password without a username', { KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_PASSWORD: PASSWORD }, ['KAFKA_SASL_MECHANISM PLAIN needs KAFKA_SASL_USERNAME']],
    ['a password both ways', { KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: PASSWORD, KAFKA_SASL_PASSWORD_FILE: '/run/secrets/kafka' }, ['KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE exclude each other (set one)']],
    ['no password at all', { KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256', KAFKA_SASL_USERNAME: 'u' }, ['KAFKA_SASL_MECHANISM SCRAM-SHA-256 needs KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE']],
    ['a password with OAUTHBEARER', { KAFKA_SASL_MECHANISM: 'OAUTHBEARER', KAFKA_SASL_PASSWORD: PASSWORD }, [
      'KAFKA_SASL_PASSWORD is not used with OAUTHBEARER (it takes KAFKA_SASL_OAUTHBEARER_TOKEN_FILE)',
      'KAFKA_SASL_MECHANISM OAUTHBEARER needs KAFKA_SASL_OAUTHBEARER_TOKEN_FILE (a file holding the token, rewritten when it is renewed)',
    ]],
    ['the password pasted into the mechanism', { KAFKA_SASL_MECHANISM: PASSWORD, KAFKA_SASL_USERNAME: 'u' }, ['KAFKA_SASL_MECHANISM must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER']],
    ['SASL settings on a TLS-only protocol', { KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: PASSWORD, KAFKA_SECURITY_PROTOCOL: 'SSL' }, [
      'KAFKA_SASL_MECHANISM is set, but KAFKA_SECURITY_PROTOCOL SSL does not use SASL (use SASL_PLAINTEXT or SASL_SSL)',
    ]],
    ['a passphrase without a key', { KAFKA_SSL_KEY_PASSPHRASE: PASSWORD }, ['KAFKA_SSL_KEY_PASSPHRASE is set, but KAFKA_SSL_KEY_FILE is not (the passphrase decrypts that key)']],
    ['TLS settings on a plaintext protocol', { KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT', KAFKA_SSL_KEY_PASSPHRASE: PASSWORD, KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: PASSWORD }, [
      'KAFKA_SSL_KEY_PASSPHRASE set, but KAFKA_SECURITY_PROTOCOL SASL_PLAINTEXT does not use TLS (use SSL or SASL_SSL)',
      'KAFKA_SSL_KEY_PASSPHRASE is set, but KAFKA_SSL_KEY_FILE is not (the passphrase decrypts that key)',
    ]],
    ['a SASL protocol without a mechanism', { KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' }, ['KAFKA_SECURITY_PROTOCOL SASL_SSL needs KAFKA_SASL_MECHANISM (one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER)']],
  ])('%s: says what to set, and never the secret', (_label, env, expected) => {
    const problems = problemsOf(env);
    expect(problems).toEqual(expected);
    expectNoSecret(problems.join('\n'));
  });

  it("what it reads is what the sample's producers are built with", async () => {
    const ca = write('ca-bundle.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const config = SampleConfig.fromEnv({ ...BASE, KAFKA_SSL_CA_FILE: ca, KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256', KAFKA_SASL_USERNAME: 'orders', KAFKA_SASL_PASSWORD: PASSWORD });
    const moduleRef = await Test.createTestingModule({ imports: [KafkaProducerModule.forRoot({ bootstrapServers: ['127.0.0.1:1'], ...config.kafkaSecurity })] }).compile();
    const producer = moduleRef.get(KafkaProducerService).producer;
    try {
      expect(producer.config).toMatchObject({ securityProtocol: 'SASL_SSL', ssl: { rejectUnauthorized: true }, sasl: { mechanism: 'SCRAM-SHA-256', username: 'orders' } });
    } finally {
      await producer.close({ timeoutMs: 0 });
    }
  });
});
