import { inspect } from 'node:util';
import {
  AuthenticationError,
  ConnectionError,
  KafkaError,
  KafkaProducer,
  SaslAuthenticationError,
  TopicAuthorizationError,
  TransactionalIdAuthorizationError,
  UnsupportedSaslMechanismError,
  type KafkaProducerOptions,
  type Logger,
} from '@app/kafka-producer';
import { SecureKafkaCluster, unsecuredJwt } from '@app/kafka-testing';

/**
 * Issue #11 against a real Kafka 4.3 broker secured by the test helpers (SecureKafkaCluster): records
 * produced over every listener and mechanism are read back by Kafka's Java consumer; every negative
 * case ends in its typed error within 5 s; ACLs are enforced and picked up without a restart; a
 * session limited by connections.max.reauth.ms is renewed without one error; and no secret reaches a
 * log line, an error, inspect or JSON output.
 */

const PASSWORD = 'S3cr3t-Ø-%s-MARKER';
const FORMS = [PASSWORD, Buffer.from(PASSWORD).toString('base64'), Buffer.from(PASSWORD).toString('hex'), encodeURIComponent(PASSWORD)];
const TOPIC = 'sec-orders';
const FAST_MS = 5000;

let cluster: SecureKafkaCluster;
/** Everything a leak could hide in: log lines, errors (message, stack, causes), inspect and JSON output. */
const captured: string[] = [];
const producers: KafkaProducer<unknown, unknown>[] = [];

const logger: Logger = {
  debug: (m, ctx) => captured.push(`debug ${m} ${inspect(ctx, { depth: Infinity })}`),
  info: (m, ctx) => captured.push(`info ${m} ${inspect(ctx, { depth: Infinity })}`),
  warn: (m, ctx) => captured.push(`warn ${m} ${inspect(ctx, { depth: Infinity })}`),
  error: (m, ctx) => captured.push(`error ${m} ${inspect(ctx, { depth: Infinity })}`),
};

function producer(options: Omit<KafkaProducerOptions<unknown, unknown>, 'logger'>): KafkaProducer<unknown, unknown> {
  const p = new KafkaProducer<unknown, unknown>({ maxBlockMs: 20_000, requestTimeoutMs: 10_000, deliveryTimeoutMs: 20_000, ...options, logger });
  producers.push(p);
  captured.push(inspect(p, { depth: Infinity, showHidden: true }), JSON.stringify(p.config), inspect(p.config, { depth: Infinity }));
  return p;
}

function capture(err: unknown): void {
  captured.push(inspect(err, { depth: Infinity, showHidden: true }), JSON.stringify(err));
  for (let e: unknown = err; e instanceof Error; e = e.cause) captured.push(`${e.message}\n${e.stack}`);
}

/** The rejection of `p`, with how long it took; fails the test if `p` resolves. */
async function failure(p: Promise<unknown>): Promise<{ error: Error; ms: number }> {
  const started = performance.now();
  try {
    await p;
  } catch (error) {
    capture(error);
    return { error: error as Error, ms: performance.now() - started };
  }
  throw new Error('expected the operation to fail');
}

const sasl = (mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512', username = 'alice', password = PASSWORD) => ({ mechanism, username, password });
const tlsCa = () => ({ ca: cluster.pki.ca });

beforeAll(async () => {
  cluster = await SecureKafkaCluster.start({ users: { alice: PASSWORD }, connectionsMaxReauthMs: 10_000 });
  await cluster.createTopic(TOPIC, 2);
  await cluster.createTopic('sec-secret');
  await cluster.createTopic('sec-denied');
  await cluster.createTopic('sec-bob-ok');
  await cluster.createTopic('sec-late');
  await cluster.addAcl({ principal: 'User:alice', operations: ['Write', 'Describe'], topic: TOPIC });
  await cluster.addAcl({ principal: 'User:alice', operations: ['Write', 'Describe'], transactionalId: 'alice-tx-', prefixed: true });
  await cluster.addAcl({ principal: 'User:CN=alice-client', operations: ['Write', 'Describe'], topic: TOPIC });
  await cluster.addAcl({ principal: 'User:mallory', operations: ['Describe'], topic: TOPIC });
  await cluster.addAcl({ principal: 'User:*', operations: ['Write', 'Describe'], topic: 'sec-denied' });
  await cluster.addAcl({ principal: 'User:alice', operations: ['Write'], topic: 'sec-denied', deny: true });
  // without this the wildcard ALLOW above would be mallory's Write on some topic, which is all an
  // idempotent InitProducerId asks for (KIP-679)
  await cluster.addAcl({ principal: 'User:mallory', operations: ['Write'], topic: 'sec-denied', deny: true });
  await cluster.addAcl({ principal: 'User:bob', operations: ['Write', 'Describe'], topic: 'sec-bob-ok' });
}, 240_000);

afterEach(async () => {
  await Promise.all(producers.splice(0).map((p) => p.close({ timeoutMs: 5000 }).catch(() => undefined)));
});

afterAll(async () => {
  await cluster?.stop();
});

describe('records produced over each listener and mechanism are read back by the Java consumer', () => {
  const cases: Array<[string, () => Omit<KafkaProducerOptions<unknown, unknown>, 'logger'>]> = [
    ['SSL', () => ({ bootstrapServers: cluster.listeners.ssl, ssl: tlsCa() })],
    ['SSL with a client certificate (mTLS)', () => ({ bootstrapServers: cluster.listeners.mtls, ssl: { ...tlsCa(), cert: cluster.pki.certs.client.cert, key: cluster.pki.certs.client.key } })],
    ['SSL limited to TLS 1.2', () => ({ bootstrapServers: cluster.listeners.tls12, ssl: tlsCa() })],
    ...(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const).flatMap((m): Array<[string, () => Omit<KafkaProducerOptions<unknown, unknown>, 'logger'>]> => [
      [`SASL_PLAINTEXT ${m}`, () => ({ bootstrapServers: cluster.listeners.saslPlaintext, sasl: sasl(m) })],
      [`SASL_SSL ${m}`, () => ({ bootstrapServers: cluster.listeners.saslSsl, ssl: tlsCa(), sasl: sasl(m) })],
    ]),
    ['SASL_PLAINTEXT SCRAM-SHA-512 with a credentials provider', () => ({ bootstrapServers: cluster.listeners.saslPlaintext, sasl: { mechanism: 'SCRAM-SHA-512', credentials: async () => ({ username: 'alice', password: PASSWORD }) } })],
    ['SASL_PLAINTEXT OAUTHBEARER', () => ({ bootstrapServers: cluster.listeners.saslPlaintext, sasl: { mechanism: 'OAUTHBEARER', oauthBearerProvider: async () => ({ value: unsecuredJwt('alice', 3_600_000), lifetimeMs: 3_600_000 }) } })],
    ['SASL_SSL OAUTHBEARER', () => ({ bootstrapServers: cluster.listeners.saslSsl, ssl: tlsCa(), sasl: { mechanism: 'OAUTHBEARER', oauthBearerProvider: () => ({ value: unsecuredJwt('alice', 3_600_000) }) } })],
  ];
  const sent = new Map<string, string[]>();

  it.each(cases)('%s', async (name, options) => {
    const p = producer({ ...options(), clientId: `sec-${name.replace(/\W+/g, '-')}` });
    const values = Array.from({ length: 20 }, (_, i) => `${name}#${i}`);
    const acks = await Promise.all(values.map((value, i) => p.send({ topic: TOPIC, key: `k${i}`, value })));
    expect(acks.every((a) => a.offset >= 0)).toBe(true);
    sent.set(name, values);
  });

  it('every record of every case is in the topic, once', async () => {
    const expected = [...sent.values()].flat();
    expect(expected).toHaveLength(cases.length * 20);
    const records = await cluster.consume(TOPIC, { expectedCount: expected.length, timeoutMs: 60_000 });
    const values = records.map((r) => r.value?.toString());
    expect(new Set(values).size).toBe(values.length);
    expect(values.sort()).toEqual(expected.sort());
  });
});

describe('negative cases end in their typed error within 5 s', () => {
  const tlsCases: Array<[string, () => Omit<KafkaProducerOptions<unknown, unknown>, 'logger'>, RegExp]> = [
    ['a broker certificate from an untrusted CA', () => ({ bootstrapServers: cluster.listeners.untrusted, ssl: tlsCa(), sasl: sasl('PLAIN') }), /certificate did not verify/],
    ['a certificate for another host', () => ({ bootstrapServers: cluster.listeners.badHost, ssl: tlsCa(), sasl: sasl('PLAIN') }), /ERR_TLS_CERT_ALTNAME_INVALID/],
    ['a certificate naming the DNS name only, reached by IP', () => ({ bootstrapServers: cluster.listeners.ipSsl, ssl: tlsCa() }), /ERR_TLS_CERT_ALTNAME_INVALID/],
    ['an expired certificate', () => ({ bootstrapServers: cluster.listeners.expired, ssl: tlsCa() }), /CERT_HAS_EXPIRED/],
    ['a certificate not valid yet', () => ({ bootstrapServers: cluster.listeners.notYetValid, ssl: tlsCa() }), /CERT_NOT_YET_VALID/],
    ['a certificate not meant for servers (no serverAuth usage)', () => ({ bootstrapServers: cluster.listeners.noServerAuth, ssl: tlsCa() }), /serverAuth|INVALID_PURPOSE|unsupported certificate purpose/],
    ['mTLS without a client certificate', () => ({ bootstrapServers: cluster.listeners.mtls, ssl: tlsCa() }), /refused the handshake|certificate/],
    ['mTLS with a client certificate from an untrusted CA', () => ({ bootstrapServers: cluster.listeners.mtls, ssl: { ...tlsCa(), cert: cluster.pki.certs.untrustedClient.cert, key: cluster.pki.certs.untrustedClient.key } }), /refused the handshake|certificate/],
    ['TLS 1.3 as the floor against a TLS 1.2-only listener', () => ({ bootstrapServers: cluster.listeners.tls12, ssl: { ...tlsCa(), minVersion: 'TLSv1.3' } }), /TLS handshake failed/],
    ['TLS to a plaintext port', () => ({ bootstrapServers: cluster.listeners.saslPlaintext, ssl: tlsCa(), sasl: sasl('PLAIN') }), /plaintext listener/],
  ];

  it.each(tlsCases)('%s: a TLS_HANDSHAKE_FAILED ConnectionError, before any SASL byte', async (_name, options, message) => {
    const p = producer(options());
    const { error, ms } = await failure(p.send({ topic: TOPIC, value: 'never' }));
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ code: 'TLS_HANDSHAKE_FAILED', retriable: false });
    expect(error.message).toMatch(message);
    expect(ms).toBeLessThan(FAST_MS);
  });

  it('plaintext to a TLS port: a HANDSHAKE_CLOSED ConnectionError that says the listener requires TLS', async () => {
    const p = producer({ bootstrapServers: cluster.listeners.ssl });
    const { error, ms } = await failure(p.send({ topic: TOPIC, value: 'never' }));
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ code: 'HANDSHAKE_CLOSED', retriable: false });
    expect(error.message).toMatch(/requires TLS/);
    expect(ms).toBeLessThan(FAST_MS);
  });

  it.each([
    ['a wrong password (SCRAM-SHA-512)', () => sasl('SCRAM-SHA-512', 'alice', `${PASSWORD}-wrong`)],
    ['a wrong password (PLAIN)', () => sasl('PLAIN', 'alice', `${PASSWORD}-wrong`)],
    ['an unknown user (SCRAM-SHA-256)', () => sasl('SCRAM-SHA-256', 'nobody', PASSWORD)],
    ['an unknown user (PLAIN)', () => sasl('PLAIN', 'nobody', PASSWORD)],
  ])('%s: a non-retriable SaslAuthenticationError carrying the broker message', async (_name, credentials) => {
    const p = producer({ bootstrapServers: cluster.listeners.saslSsl, ssl: tlsCa(), sasl: credentials() });
    const { error, ms } = await failure(p.send({ topic: TOPIC, value: 'never' }));
    expect(error).toBeInstanceOf(SaslAuthenticationError);
    expect(error).toMatchObject({ code: 'SASL_AUTHENTICATION_FAILED', retriable: false });
    expect((error as SaslAuthenticationError).brokerMessage).toMatch(/[Aa]uthentication failed/);
    expect(ms).toBeLessThan(FAST_MS);
    // no reconnect storm: a refused node is retried no sooner than reconnectBackoffMaxMs
    expect(p.health().state).toBe('fatal');
  });

  it('a mechanism the listener does not offer: UnsupportedSaslMechanismError, and no fallback to PLAIN', async () => {
    const p = producer({ bootstrapServers: cluster.listeners.plainOnly, sasl: sasl('SCRAM-SHA-512') });
    const { error, ms } = await failure(p.send({ topic: TOPIC, value: 'never' }));
    expect(error).toBeInstanceOf(UnsupportedSaslMechanismError);
    expect(error).toMatchObject({ code: 'UNSUPPORTED_SASL_MECHANISM', retriable: false, enabledMechanisms: ['PLAIN'] });
    expect(ms).toBeLessThan(FAST_MS);
  });

  it('an OAUTHBEARER token the broker rejects (expired): SaslAuthenticationError', async () => {
    const p = producer({ bootstrapServers: cluster.listeners.saslPlaintext, sasl: { mechanism: 'OAUTHBEARER', oauthBearerProvider: () => ({ value: unsecuredJwt('alice', -60_000) }) } });
    const { error, ms } = await failure(p.send({ topic: TOPIC, value: 'never' }));
    expect(error).toBeInstanceOf(SaslAuthenticationError);
    expect(ms).toBeLessThan(FAST_MS);
  });
});

describe('authorization', () => {
  it('Z2: Describe but no Write, idempotence off: the records fail with TopicAuthorizationError, fast and not retried', async () => {
    const p = producer({ bootstrapServers: cluster.listeners.saslPlaintext, sasl: { mechanism: 'PLAIN', username: 'mallory', password: 'mallory-secret' }, enableIdempotence: false });
    const { error, ms } = await failure(p.send({ topic: TOPIC, value: 'never' }));
    expect(error).toBeInstanceOf(TopicAuthorizationError);
    expect(error).toMatchObject({ code: 'TOPIC_AUTHORIZATION_FAILED', retriable: false });
    expect(error.message).toContain(TOPIC);
    expect(ms).toBeLessThan(FAST_MS);
  });

  it('Z2: Describe but no Write anywhere, idempotence on: InitProducerId is refused (ClusterAuthorizationError) and the producer says it is unusable', async () => {
    const p = producer({ bootstrapServers: cluster.listeners.saslPlaintext, sasl: { mechanism: 'PLAIN', username: 'mallory', password: 'mallory-secret' } });
    const { error, ms } = await failure(p.send({ topic: TOPIC, value: 'never' }));
    expect(error).toBeInstanceOf(KafkaError);
    const codes = [];
    for (let e: unknown = error; e instanceof KafkaError; e = e.cause) codes.push(e.code);
    expect(codes).toContain('CLUSTER_AUTHORIZATION_FAILED');
    expect(ms).toBeLessThan(FAST_MS);
    expect(p.health().state).toBe('fatal');
  });

  it('Z3: no Describe: TopicAuthorizationError from metadata, the topic named', async () => {
    const p = producer({ bootstrapServers: cluster.listeners.saslPlaintext, sasl: sasl('SCRAM-SHA-256') });
    const { error, ms } = await failure(p.send({ topic: 'sec-secret', value: 'never' }));
    expect(error).toBeInstanceOf(TopicAuthorizationError);
    expect(error.message).toContain('sec-secret');
    expect(ms).toBeLessThan(FAST_MS);
  });

  it('Z4: a DENY overrides a wildcard ALLOW', async () => {
    const p = producer({ bootstrapServers: cluster.listeners.saslPlaintext, sasl: sasl('SCRAM-SHA-256') });
    await expect(p.send({ topic: TOPIC, value: 'allowed' })).resolves.toMatchObject({ topic: TOPIC });
    const { error, ms } = await failure(p.send({ topic: 'sec-denied', value: 'never' }));
    expect(error).toBeInstanceOf(TopicAuthorizationError);
    expect(ms).toBeLessThan(FAST_MS);
  });

  it('Z5: a transactional id without Write fails initTransactions with TransactionalIdAuthorizationError', async () => {
    const p = producer({ bootstrapServers: cluster.listeners.saslPlaintext, sasl: sasl('SCRAM-SHA-512'), transactionalId: 'not-alices-tx' });
    const { error, ms } = await failure(p.initTransactions());
    expect(error).toBeInstanceOf(TransactionalIdAuthorizationError);
    expect(error).toMatchObject({ code: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', retriable: false });
    expect(ms).toBeLessThan(FAST_MS);
  });

  it('Z5: with Write on its transactional id the same user commits a transaction', async () => {
    const p = producer({ bootstrapServers: cluster.listeners.saslPlaintext, sasl: sasl('SCRAM-SHA-512'), transactionalId: 'alice-tx-1' });
    await p.initTransactions();
    await p.transaction(async (tx) => {
      await tx.send({ topic: TOPIC, value: 'in-a-transaction' });
    });
  });

  it('Z6: an ACL granted while the producer is failing lets the same producer through, without a restart', async () => {
    const p = producer({ bootstrapServers: cluster.listeners.saslPlaintext, sasl: { mechanism: 'SCRAM-SHA-256', username: 'bob', password: cluster.users.bob } });
    await expect(p.send({ topic: 'sec-bob-ok', value: 'warm-up' })).resolves.toMatchObject({ topic: 'sec-bob-ok' });
    const { error } = await failure(p.send({ topic: 'sec-late', value: 'before-grant' }));
    expect(error).toBeInstanceOf(TopicAuthorizationError);
    await cluster.addAcl({ principal: 'User:bob', operations: ['Write', 'Describe'], topic: 'sec-late' });
    // the grant reaches the broker through the metadata log; a send may still meet the old view once
    let ack: unknown = null;
    for (let attempt = 0; attempt < 20 && ack === null; attempt++) {
      ack = await p.send({ topic: 'sec-late', value: `after-grant-${attempt}` }).catch((e: unknown) => {
        expect(e).toBeInstanceOf(TopicAuthorizationError);
        return new Promise((r) => setTimeout(() => r(null), 500));
      });
    }
    expect(ack).toMatchObject({ topic: 'sec-late' });
    const records = await cluster.consume('sec-late', { timeoutMs: 30_000 });
    expect(records.map((r) => r.value?.toString())).toEqual([expect.stringMatching(/^after-grant-/)]);
  });

  it('Z7: an ACL revoked mid-stream fails the records after it with an authorization error; those acked before are all there', async () => {
    await cluster.createTopic('sec-revoke');
    await cluster.addAcl({ principal: 'User:bob', operations: ['Write', 'Describe'], topic: 'sec-revoke' });
    const p = producer({ bootstrapServers: cluster.listeners.saslPlaintext, sasl: { mechanism: 'PLAIN', username: 'bob', password: cluster.users.bob } });
    const acked: string[] = [];
    for (let i = 0; i < 20; i++) acked.push((await p.send({ topic: 'sec-revoke', value: `before-${i}` })) && `before-${i}`);
    await cluster.removeAcl({ principal: 'User:bob', operations: ['Write', 'Describe'], topic: 'sec-revoke' });
    let refused: Error | null = null;
    for (let i = 0; i < 40 && refused === null; i++) {
      await p.send({ topic: 'sec-revoke', value: `after-${i}` }).then(
        (m) => acked.push(`after-${i}`) && m,
        (e: Error) => (refused = e),
      );
    }
    expect(refused).toBeInstanceOf(TopicAuthorizationError);
    const records = await cluster.consume('sec-revoke', { timeoutMs: 30_000 });
    expect(records.map((r) => r.value?.toString()).sort()).toEqual(acked.sort());
  });
});

// 60 s as the issue asks; the Node 24 pass of CI runs 25 s of it (the same code, two renewals per connection)
const REAUTH_SECONDS = Number(process.env.SECURITY_REAUTH_SECONDS ?? 60);

describe('re-authentication (KIP-368)', () => {
  it(`with connections.max.reauth.ms=10000, ${REAUTH_SECONDS} s of producing has zero errors`, async () => {
    let authentications = 0;
    const p = producer({
      bootstrapServers: cluster.listeners.saslSsl,
      ssl: tlsCa(),
      sasl: {
        mechanism: 'SCRAM-SHA-512',
        credentials: () => {
          authentications++;
          return { username: 'alice', password: PASSWORD };
        },
      },
      lingerMs: 5,
    });
    const errors: unknown[] = [];
    let acked = 0;
    const until = performance.now() + REAUTH_SECONDS * 1000;
    const inFlight = new Set<Promise<unknown>>();
    let i = 0;
    while (performance.now() < until) {
      const send = p.send({ topic: TOPIC, key: `r${i % 8}`, value: `reauth-${i++}` }).then(
        () => acked++,
        (e: unknown) => errors.push(e),
      );
      inFlight.add(send);
      void send.finally(() => inFlight.delete(send));
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(inFlight);
    errors.forEach(capture);
    expect(errors).toEqual([]);
    expect(acked).toBe(i);
    // renewed on the open connections (KIP-368) every 8.5-9.5 s, not by reconnecting
    const m = p.metrics();
    expect(m['successful-reauthentication-total']).toBeGreaterThanOrEqual(Math.max(2, Math.floor(REAUTH_SECONDS / 10) - 1));
    expect(m['connection-close-total']).toBe(0);
    expect(authentications).toBe(m['connection-creation-total'] + m['successful-reauthentication-total']);
  }, 120_000);
});

describe('no credential leak', () => {
  it('no captured log line, error, inspect or JSON output holds the password, raw, base64, hex or URL-encoded', () => {
    expect(captured.length).toBeGreaterThan(50);
    const all = captured.join('\n');
    for (const form of FORMS) expect(all).not.toContain(form);
    // the errors were there to be searched: the negative cases above were all captured
    expect(all).toMatch(/SASL SCRAM-SHA-512 authentication failed/);
    expect(all).toMatch(/TLS handshake failed/);
  });

  it('an AuthenticationError is what a caller can catch for every refused credential or certificate', () => {
    expect(new SaslAuthenticationError('b:1', 'PLAIN', 'x', null)).toBeInstanceOf(AuthenticationError);
  });
});
