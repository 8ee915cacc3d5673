import { FakeSaslBroker, type FakeSaslBrokerOptions, type ScramFault } from '../../../test/support/fake-sasl-broker';
import { KafkaProducer } from '../../producer/kafka-producer';
import { silentLogger } from '../../producer/logger';
import { MetadataApi } from '../../protocol/messages/metadata.generated';
import { BrokerConnection } from '../broker-connection';
import { ConnectionError, CredentialsProviderError, SaslAuthenticationError, UnsupportedSaslMechanismError } from '../errors';
import { oauthBearerMechanism } from './oauthbearer';
import { plainMechanism } from './plain';
import { saslAuthenticator } from './sasl-authenticator';
import type { SaslMechanism } from './sasl-mechanism';
import { scramMechanism } from './scram';

const API_VERSIONS = 18;
const SASL_HANDSHAKE = 17;
const SASL_AUTHENTICATE = 36;
const METADATA = 3;
const PRODUCE = 0;

let broker: FakeSaslBroker | null = null;
const opened: BrokerConnection[] = [];

async function start(options: FakeSaslBrokerOptions): Promise<FakeSaslBroker> {
  broker = await FakeSaslBroker.start(options);
  return broker;
}

async function open(mechanism: SaslMechanism): Promise<BrokerConnection> {
  const c = await BrokerConnection.open({ host: '127.0.0.1', port: broker!.port, authenticate: saslAuthenticator(mechanism), requestTimeoutMs: 5000 });
  opened.push(c);
  return c;
}

async function failureOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

const alice = () => ({ username: 'alice', password: 'alice-secret' });

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
  await broker?.stop();
  broker = null;
});

describe('SCRAM-SHA-256 against the RFC 7677 example', () => {
  it('sends the client-first and client-final messages of the RFC, and accepts its server signature', async () => {
    const sent: string[] = [];
    const replies = [
      'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
      'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
    ];
    const scram = scramMechanism('SCRAM-SHA-256', () => ({ username: 'user', password: 'pencil' }), () => Buffer.from('rOprNGfwEbeRWgbNEkqO', 'base64'));
    await scram.authenticate(async (bytes) => {
      sent.push(bytes.toString('utf8'));
      return Buffer.from(replies.shift()!, 'utf8');
    });
    expect(sent).toEqual([
      'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    ]);
  });

  it('escapes , and = in the username (RFC 5802 saslname)', async () => {
    const sent: string[] = [];
    const scram = scramMechanism('SCRAM-SHA-256', () => ({ username: 'a=b,c', password: 'x' }));
    await expect(
      scram.authenticate(async (bytes) => {
        sent.push(bytes.toString('utf8'));
        throw new Error('stop');
      }),
    ).rejects.toThrow('stop');
    expect(sent[0]).toMatch(/^n,,n=a=3Db=2Cc,r=/);
  });
});

describe('SASL authentication against a scripted broker', () => {
  it.each(['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const)('completes %s and then carries other requests', async (name) => {
    await start({});
    const c = await open(scramMechanism(name, alice));
    await expect(c.send(MetadataApi, { topics: [], allowAutoTopicCreation: false })).resolves.toMatchObject({ clusterId: 'fake' });
    expect(broker!.apiKeys).toEqual([API_VERSIONS, SASL_HANDSHAKE, SASL_AUTHENTICATE, SASL_AUTHENTICATE, METADATA]);
    expect(broker!.authentications).toBe(1);
  });

  it('never sends the SCRAM password, only the nonce and the proof', async () => {
    await start({});
    await open(scramMechanism('SCRAM-SHA-512', alice));
    const sent = Buffer.concat(broker!.received.flatMap((r) => (r.authBytes === undefined ? [] : [r.authBytes])));
    expect(sent.includes(Buffer.from('alice-secret'))).toBe(false);
    expect(sent.includes(Buffer.from(Buffer.from('alice-secret').toString('base64')))).toBe(false);
  });

  it('completes PLAIN with an empty authorization id', async () => {
    await start({});
    await open(plainMechanism(alice));
    expect(broker!.received[2].authBytes).toEqual(Buffer.from('\0alice\0alice-secret'));
  });

  it('completes OAUTHBEARER with the RFC 7628 message, extensions included', async () => {
    await start({ tokens: ['eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.'] });
    await open(oauthBearerMechanism(() => ({ value: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.', extensions: { traceId: 'abc' } })));
    expect(broker!.received[2].authBytes!.toString('utf8')).toBe('n,,\x01auth=Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.\x01traceId=abc\x01\x01');
  });

  it('answers an OAUTHBEARER error challenge with a lone ^A and fails with the broker message', async () => {
    await start({ tokens: [] });
    const err = await failureOf(open(oauthBearerMechanism(() => ({ value: 'not.accepted.' }))));
    expect(err).toBeInstanceOf(SaslAuthenticationError);
    expect(err).toMatchObject({ retriable: false, brokerMessage: '{"status":"invalid_token"}' });
    expect(broker!.received.at(-1)!.authBytes!.toString('utf8')).toBe('\x01');
  });

  it('forgets a cached OAUTHBEARER token the broker refused, and asks the provider again next time', async () => {
    let calls = 0;
    const mechanism = oauthBearerMechanism(() => ({ value: `token-${++calls}`, lifetimeMs: 3_600_000 }));
    await expect(mechanism.authenticate(async () => Buffer.from('{"status":"invalid_token"}'))).rejects.toThrow(/rejected the token/);
    await mechanism.authenticate(async () => Buffer.alloc(0));
    expect(calls).toBe(2);
  });

  it.each([
    [{ value: 't', lifetimeMs: Date.now() + 3_600_000 }, /looks like an epoch time/],
    [{ value: 't', extensions: { traceId: '' } }, /SASL extension "traceId" must be a string of printable ASCII/],
    [{ value: 'has space' }, /characters a bearer token cannot hold/],
  ])('refuses a token it cannot send as it is: %j', async (token, message) => {
    await expect(oauthBearerMechanism(() => token).authenticate(async () => Buffer.alloc(0))).rejects.toThrow(message);
  });

  it('makes a provider that throws a retriable CredentialsProviderError, not a refusal', async () => {
    await expect(
      oauthBearerMechanism(() => {
        throw new Error('identity provider answered 503');
      }).authenticate(async () => Buffer.alloc(0)),
    ).rejects.toMatchObject({ code: 'CREDENTIALS_PROVIDER_FAILED', retriable: true });
    expect(new CredentialsProviderError('x', null).retriable).toBe(true);
  });

  it('gives up on a provider that never answers after the request timeout, retriably, and closes the attempt', async () => {
    await start({});
    const hung = scramMechanism('SCRAM-SHA-256', () => new Promise<never>(() => {}));
    const started = performance.now();
    const err = await failureOf(BrokerConnection.open({ host: '127.0.0.1', port: broker!.port, authenticate: saslAuthenticator(hung), requestTimeoutMs: 300 }));
    expect(performance.now() - started).toBeLessThan(3000);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({ code: 'CONNECTION_SETUP_TIMEOUT', retriable: true, message: expect.stringContaining('authentication did not complete within 300 ms') });
  });

  it('reuses an OAUTHBEARER token within 80% of its lifetime and asks again after', async () => {
    let now = 0;
    let calls = 0;
    const mechanism = oauthBearerMechanism(
      () => ({ value: `token-${++calls}`, lifetimeMs: 1000 }),
      () => now,
    );
    const seen: string[] = [];
    const exchange = async (b: Buffer) => {
      seen.push(b.toString('utf8').split('\x01')[1].slice('auth=Bearer '.length));
      return Buffer.alloc(0);
    };
    await mechanism.authenticate(exchange);
    now = 700;
    await mechanism.authenticate(exchange);
    now = 801;
    await mechanism.authenticate(exchange);
    expect(seen).toEqual(['token-1', 'token-1', 'token-2']);
  });

  it('fails a wrong password fast with a non-retriable SaslAuthenticationError that carries the broker message and no secret', async () => {
    await start({});
    const err = await failureOf(open(scramMechanism('SCRAM-SHA-256', () => ({ username: 'alice', password: 'wrong-password' }))));
    expect(err).toBeInstanceOf(SaslAuthenticationError);
    expect(err).toMatchObject({ code: 'SASL_AUTHENTICATION_FAILED', retriable: false, mechanism: 'SCRAM-SHA-256' });
    expect((err as SaslAuthenticationError).brokerMessage).toMatch(/invalid credentials/);
    expect(JSON.stringify({ m: err.message, s: err.stack, c: String(err.cause) })).not.toMatch(/wrong-password|alice-secret/);
  });

  it('refuses a mechanism the listener does not offer, without trying another one', async () => {
    await start({ mechanisms: ['PLAIN'] });
    const err = await failureOf(open(scramMechanism('SCRAM-SHA-512', alice)));
    expect(err).toBeInstanceOf(UnsupportedSaslMechanismError);
    expect(err).toMatchObject({ code: 'UNSUPPORTED_SASL_MECHANISM', retriable: false, enabledMechanisms: ['PLAIN'] });
    expect(broker!.apiKeys).toEqual([API_VERSIONS, SASL_HANDSHAKE]);
  });

  const faults: Array<[ScramFault, RegExp]> = [
    ['bad-server-signature', /server signature does not verify/],
    ['foreign-nonce', /server nonce does not extend the client nonce/],
    ['nonce-not-extended', /server nonce does not extend the client nonce/],
    ['low-iterations', /asks for 1024 iterations; Kafka accepts 4096 to 16384/],
    ['too-many-iterations', /asks for 1000000 iterations/],
    ['server-final-error', /refused the proof: other-error/],
  ];
  it.each(faults)('aborts the exchange on a SCRAM server that misbehaves (%s) before any other request goes out', async (fault, message) => {
    await start({ scramFault: fault });
    const err = await failureOf(open(scramMechanism('SCRAM-SHA-256', alice)));
    expect(err).toBeInstanceOf(SaslAuthenticationError);
    expect(err).toMatchObject({ retriable: false, brokerMessage: null });
    expect(err.message).toMatch(message);
    expect(broker!.apiKeys.every((k) => k === API_VERSIONS || k === SASL_HANDSHAKE || k === SASL_AUTHENTICATE)).toBe(true);
  });

  it.each(faults.slice(0, 4))('keeps a producer from sending Metadata or Produce to a SCRAM server that misbehaves (%s)', async (fault) => {
    await start({ scramFault: fault });
    const producer = new KafkaProducer({
      bootstrapServers: broker!.address,
      sasl: { mechanism: 'SCRAM-SHA-256', username: 'alice', password: 'alice-secret' },
      maxBlockMs: 10_000,
      logger: silentLogger,
    });
    try {
      const started = performance.now();
      const err = await failureOf(producer.send({ topic: 'orders', value: 'v' }));
      expect(performance.now() - started).toBeLessThan(5000);
      expect(JSON.stringify({ m: err.message, c: String(err.cause), cc: String((err.cause as Error | undefined)?.cause) })).toMatch(/SASL SCRAM-SHA-256 authentication failed/);
      expect(broker!.apiKeys).not.toContain(METADATA);
      expect(broker!.apiKeys).not.toContain(PRODUCE);
    } finally {
      await producer.close({ timeoutMs: 0 });
    }
  });
});

describe('a credentials provider that fails', () => {
  it('is retried: the producer connects once the provider answers again, no restart', async () => {
    await start({});
    let calls = 0;
    const producer = new KafkaProducer({
      bootstrapServers: broker!.address,
      sasl: {
        mechanism: 'SCRAM-SHA-512',
        credentials: async () => {
          if (++calls === 1) throw new Error('secret store briefly unavailable');
          return alice();
        },
      },
      logger: silentLogger,
    });
    try {
      const first = await failureOf(producer.connect());
      expect(JSON.stringify({ attempts: (first as unknown as { attempts: Array<{ error: { code: string; retriable: boolean } }> }).attempts })).toContain('"code":"CREDENTIALS_PROVIDER_FAILED","retriable":true');
      await producer.connect();
      expect(broker!.authentications).toBeGreaterThanOrEqual(1);
    } finally {
      await producer.close({ timeoutMs: 0 });
    }
  });
});

describe('re-authentication (KIP-368)', () => {
  it('refuses the requests it held at once when the connection closes mid-exchange, rather than when the provider answers', async () => {
    await start({ sessionLifetimeMs: 100 });
    let calls = 0;
    let entered!: () => void;
    const reauthStarted = new Promise<void>((r) => (entered = r));
    const c = await open(
      scramMechanism('SCRAM-SHA-256', () => {
        if (++calls === 1) return alice();
        entered();
        return new Promise<never>(() => {});
      }),
    );
    await reauthStarted;
    const held = c.send(MetadataApi, { topics: [], allowAutoTopicCreation: false });
    const started = performance.now();
    await c.close();
    await expect(held).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(broker!.apiKeys.filter((k) => k === METADATA)).toHaveLength(0);
  });

  it('closes the connection retriably when a re-authentication is refused, failing what it held with that (a new connection decides about the credentials)', async () => {
    await start({ sessionLifetimeMs: 150 });
    let calls = 0;
    const c = await open(scramMechanism('SCRAM-SHA-256', () => (++calls === 1 ? alice() : { username: 'alice', password: 'rotated-wrongly' })));
    const closed = new Promise<Error>((resolve) => c.onClose(resolve));
    const reason = await closed;
    expect(reason).toMatchObject({ code: 'CONNECTION_CLOSED', retriable: true, message: expect.stringContaining('re-authentication failed, reconnecting') });
    expect(reason.cause).toBeInstanceOf(SaslAuthenticationError);
  });

  it('is counted in the producer metrics (successful-reauthentication-total), on the same connections', async () => {
    await start({ sessionLifetimeMs: 150 });
    const producer = new KafkaProducer({ bootstrapServers: broker!.address, sasl: { mechanism: 'PLAIN', username: 'alice', password: 'alice-secret' }, logger: silentLogger });
    try {
      await producer.connect();
      await new Promise((r) => setTimeout(r, 800));
      const m = producer.metrics();
      expect(m['successful-reauthentication-total']).toBeGreaterThanOrEqual(2);
      expect(m['connection-close-total']).toBe(0);
    } finally {
      await producer.close({ timeoutMs: 0 });
    }
  });

  it('re-authenticates before the session ends, holding new requests meanwhile and failing none', async () => {
    await start({ sessionLifetimeMs: 200 });
    let asked = 0;
    const c = await open(
      scramMechanism('SCRAM-SHA-256', () => {
        asked++;
        return alice();
      }),
    );
    const results: Array<Promise<unknown>> = [];
    const until = performance.now() + 1200;
    while (performance.now() < until) {
      results.push(c.send(MetadataApi, { topics: [], allowAutoTopicCreation: false }));
      await new Promise((r) => setTimeout(r, 5));
    }
    await expect(Promise.all(results)).resolves.toHaveLength(results.length);
    expect(c.reauthentications).toBeGreaterThanOrEqual(3);
    expect(asked).toBe(c.reauthentications + 1);
    expect(broker!.sockets.size).toBe(1);
    // between a SaslHandshake and the end of its exchange (two SaslAuthenticates) nothing else went out;
    // the last exchange may still be under way when the test looks
    const keys = broker!.apiKeys;
    const exchange = [SASL_HANDSHAKE, SASL_AUTHENTICATE, SASL_AUTHENTICATE];
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === SASL_HANDSHAKE) expect(keys.slice(i, i + 3)).toEqual(exchange.slice(0, Math.min(3, keys.length - i)));
    }
  });
});
