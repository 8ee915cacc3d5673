import { FakeBroker, type FakeBrokerBehaviour } from '../../test/support/fake-broker';
import { KafkaError } from '../errors';
import { MetadataApi } from '../protocol/messages/metadata.generated';
import { BrokerConnection, type AuthenticatingConnection } from './broker-connection';
import { AuthenticationError, ConnectionError, NotAuthenticatedError } from './errors';
import type { ApiVersionTable } from './version-negotiation';

/** A fake broker listing Metadata as well as ApiVersions, so the authenticate hook has a Metadata version to read. */
function startListener(behaviour: FakeBrokerBehaviour): Promise<FakeBroker> {
  return FakeBroker.start(behaviour, {
    apiKeys: [
      { apiKey: 3, minVersion: 0, maxVersion: 12 },
      { apiKey: 18, minVersion: 0, maxVersion: 4 },
    ],
  });
}

let listener: FakeBroker | null = null;
const opened: BrokerConnection[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
  await listener?.stop();
  listener = null;
});

async function failureOf(p: Promise<unknown>): Promise<unknown> {
  try {
    opened.push((await p) as BrokerConnection);
  } catch (err) {
    return err;
  }
  throw new Error('expected open() to fail');
}

describe('BrokerConnection.open', () => {
  it('negotiates versions while authenticating, runs the authenticate hook, then hands out a ready connection', async () => {
    listener = await startListener('answer');
    const seen: { state?: string; metadataMax?: number; refusal?: unknown } = {};
    const authenticate = async (conn: AuthenticatingConnection, versions: ApiVersionTable): Promise<void> => {
      seen.state = conn.state;
      seen.metadataMax = versions.versionFor(MetadataApi);
      seen.refusal = await conn.request(MetadataApi, 12, { topics: [] }).catch((e: unknown) => e);
    };
    const bc = await BrokerConnection.open({ host: '127.0.0.1', port: listener.port, nodeId: 3, authenticate });
    opened.push(bc);
    expect(seen.state).toBe('authenticating');
    expect(seen.metadataMax).toBe(12);
    expect(seen.refusal).toBeInstanceOf(NotAuthenticatedError);
    expect(bc.state).toBe('ready');
    expect(bc.isConnected).toBe(true);
    expect(bc.nodeId).toBe(3);
  });

  it('without a hook, is ready right after ApiVersions', async () => {
    listener = await startListener('answer');
    const bc = await BrokerConnection.open({ host: '127.0.0.1', port: listener.port });
    opened.push(bc);
    expect(bc.state).toBe('ready');
  });

  it('turns a refusal by the authenticate hook into a non-retriable AuthenticationError and closes the socket', async () => {
    listener = await startListener('answer');
    const closed = listener.closes(1);
    const err = await failureOf(
      BrokerConnection.open({
        host: '127.0.0.1',
        port: listener.port,
        authenticate: async () => {
          throw new Error('invalid credentials');
        },
      }),
    );
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err).toMatchObject({ code: 'AUTHENTICATION_FAILED', retriable: false, broker: `127.0.0.1:${listener.port}` });
    expect((err as Error).message).toContain('invalid credentials');
    await closed;
  });

  it('keeps a transient failure inside the hook (a disconnect, a timeout) retriable', async () => {
    listener = await startListener('answer');
    const transient = new ConnectionError('x:1', 'NETWORK_EXCEPTION', 'reset during SASL');
    const err = await failureOf(
      BrokerConnection.open({
        host: '127.0.0.1',
        port: listener.port,
        authenticate: async () => {
          throw transient;
        },
      }),
    );
    expect(err).toBe(transient);
  });

  it('says the listener may need TLS or SASL when the broker hangs up during the ApiVersions handshake', async () => {
    listener = await startListener('hang-up');
    const err = await failureOf(BrokerConnection.open({ host: '127.0.0.1', port: listener.port }));
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({ code: 'HANDSHAKE_CLOSED', retriable: true });
    expect((err as Error).message).toMatch(/closed the connection during the ApiVersions handshake.*TLS or SASL/);
    expect((err as Error).cause).toBeInstanceOf(ConnectionError);
  });

  it('says the listener requires TLS, and that retrying in plaintext cannot help, when the broker answers ApiVersions with a TLS record', async () => {
    listener = await startListener('tls-alert');
    const err = await failureOf(BrokerConnection.open({ host: '127.0.0.1', port: listener.port }));
    expect(err).toMatchObject({ code: 'HANDSHAKE_CLOSED', retriable: false });
    expect((err as Error).message).toMatch(/answered the ApiVersions handshake in TLS: the listener requires TLS \(set ssl\)/);
    expect((err as Error).cause).toMatchObject({ code: 'FRAME_TOO_LARGE' });
  });

  it('leaves other handshake failures as they are (a silent broker times out)', async () => {
    listener = await startListener('silent');
    const err = await failureOf(BrokerConnection.open({ host: '127.0.0.1', port: listener.port, requestTimeoutMs: 50 }));
    expect(err).toBeInstanceOf(KafkaError);
    expect(err).toMatchObject({ code: 'REQUEST_TIMED_OUT' });
  });

  it('destroys the socket of an attempt at once when its signal aborts', async () => {
    listener = await startListener('silent');
    const abort = new AbortController();
    const attempt = BrokerConnection.open({ host: '127.0.0.1', port: listener.port, requestTimeoutMs: 60_000, signal: abort.signal });
    while (listener.accepted === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const closed = listener.closes(1);
    abort.abort();
    const err = await failureOf(attempt);
    expect(err).toMatchObject({ code: 'CONNECTION_CLOSED', message: expect.stringContaining('aborted') });
    // the broker sees the close now, not after the 60 s request timeout (jest's 5 s limit would fail first)
    await closed;
  });

  it('does not connect at all when the signal already aborted', async () => {
    listener = await startListener('answer');
    const abort = new AbortController();
    abort.abort();
    await expect(BrokerConnection.open({ host: '127.0.0.1', port: listener.port, signal: abort.signal })).rejects.toMatchObject({
      code: 'CONNECTION_CLOSED',
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(listener.accepted).toBe(0);
  });
});
