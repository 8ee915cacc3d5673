import * as net from 'node:net';
import { KafkaError } from '../errors';
import { ApiVersionsApi } from '../protocol/messages/api-versions.generated';
import { writeResponseHeader } from '../protocol/messages/headers';
import { MetadataApi } from '../protocol/messages/metadata.generated';
import { Writer } from '../protocol/primitives/writer';
import { BrokerConnection, type AuthenticatingConnection } from './broker-connection';
import { AuthenticationError, ConnectionError, NotAuthenticatedError } from './errors';
import type { ApiVersionTable } from './version-negotiation';

type Behaviour = 'answer' | 'close' | 'tls-garbage' | 'silent';

/** A TLS alert record (content type 21, TLS 1.2, fatal, unexpected_message): what a TLS port may send plaintext clients. */
const TLS_ALERT = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x0a]);

/**
 * A listener that answers ApiVersions ('answer'), hangs up on the first request as a SASL listener
 * would ('close'), answers it with a TLS record as a TLS listener would ('tls-garbage'), or never
 * answers ('silent'). Counts what it accepted and what closed.
 */
class Listener {
  accepted = 0;
  closedByPeer = 0;
  private readonly sockets = new Set<net.Socket>();
  private readonly closeWaiters: Array<() => void> = [];

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(behaviour: Behaviour): Promise<Listener> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const listener = new Listener(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (socket) => listener.accept(socket, behaviour));
    return listener;
  }

  /** Resolves when the next accepted socket closes (or at once if one already closed). */
  nextClose(): Promise<void> {
    if (this.closedByPeer > 0) return Promise.resolve();
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  private accept(socket: net.Socket, behaviour: Behaviour): void {
    this.accepted++;
    this.sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.closedByPeer++;
      for (const resolve of this.closeWaiters.splice(0)) resolve();
    });
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      if (behaviour === 'silent') return;
      if (behaviour === 'close') {
        socket.destroy();
        return;
      }
      if (behaviour === 'tls-garbage') {
        socket.end(TLS_ALERT);
        return;
      }
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const frame = buffered.subarray(4, 4 + buffered.readInt32BE(0));
        buffered = buffered.subarray(4 + frame.length);
        const w = new Writer(128);
        w.int32(0);
        writeResponseHeader(w, 0, frame.readInt32BE(4));
        ApiVersionsApi.encodeResponse(
          w,
          {
            errorCode: 0,
            apiKeys: [
              { apiKey: 3, minVersion: 0, maxVersion: 12 },
              { apiKey: 18, minVersion: 0, maxVersion: 4 },
            ],
          },
          frame.readInt16BE(2),
        );
        w.patchInt32(0, w.offset - 4);
        socket.write(Buffer.from(w.toBuffer()));
      }
    });
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let listener: Listener | null = null;
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
    listener = await Listener.start('answer');
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
    listener = await Listener.start('answer');
    const bc = await BrokerConnection.open({ host: '127.0.0.1', port: listener.port });
    opened.push(bc);
    expect(bc.state).toBe('ready');
  });

  it('turns a refusal by the authenticate hook into a non-retriable AuthenticationError and closes the socket', async () => {
    listener = await Listener.start('answer');
    const closed = listener.nextClose();
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
    listener = await Listener.start('answer');
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
    listener = await Listener.start('close');
    const err = await failureOf(BrokerConnection.open({ host: '127.0.0.1', port: listener.port }));
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({ code: 'HANDSHAKE_CLOSED', retriable: true });
    expect((err as Error).message).toMatch(/closed the connection during the ApiVersions handshake.*TLS or SASL/);
    expect((err as Error).cause).toBeInstanceOf(ConnectionError);
  });

  it('says the same, noting the bytes look like TLS, when the broker answers ApiVersions with a TLS record', async () => {
    listener = await Listener.start('tls-garbage');
    const err = await failureOf(BrokerConnection.open({ host: '127.0.0.1', port: listener.port }));
    expect(err).toMatchObject({ code: 'HANDSHAKE_CLOSED' });
    expect((err as Error).message).toMatch(/not a Kafka response \(they look like TLS\).*TLS or SASL/);
    expect((err as Error).cause).toMatchObject({ code: 'FRAME_TOO_LARGE' });
  });

  it('leaves other handshake failures as they are (a silent broker times out)', async () => {
    listener = await Listener.start('silent');
    const err = await failureOf(BrokerConnection.open({ host: '127.0.0.1', port: listener.port, requestTimeoutMs: 50 }));
    expect(err).toBeInstanceOf(KafkaError);
    expect(err).toMatchObject({ code: 'REQUEST_TIMED_OUT' });
  });

  it('destroys the socket of an attempt at once when its signal aborts', async () => {
    listener = await Listener.start('silent');
    const abort = new AbortController();
    const attempt = BrokerConnection.open({ host: '127.0.0.1', port: listener.port, requestTimeoutMs: 60_000, signal: abort.signal });
    while (listener.accepted === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const closed = listener.nextClose();
    abort.abort();
    const err = await failureOf(attempt);
    expect(err).toMatchObject({ code: 'CONNECTION_CLOSED', message: expect.stringContaining('aborted') });
    // the broker sees the close now, not after the 60 s request timeout (jest's 5 s limit would fail first)
    await closed;
  });

  it('does not connect at all when the signal already aborted', async () => {
    listener = await Listener.start('answer');
    const abort = new AbortController();
    abort.abort();
    await expect(BrokerConnection.open({ host: '127.0.0.1', port: listener.port, signal: abort.signal })).rejects.toMatchObject({
      code: 'CONNECTION_CLOSED',
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(listener.accepted).toBe(0);
  });
});
