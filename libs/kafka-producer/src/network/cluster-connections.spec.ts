import { closedPort, FakeBroker, type FakeBrokerBehaviour } from '../../test/support/fake-broker';
import { ApiVersionsApi } from '../protocol/messages/api-versions.generated';
import type { BrokerAddress } from './address';
import { NetworkClusterConnections, type ClusterConnectionsConfig } from './cluster-connections';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { AuthenticationError, BootstrapError, ConnectionError } from './errors';

/** Fails with a message naming what did not happen, rather than leaving it to jest's test timeout. */
async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function noop(): void {}

const config = (bootstrapServers: string[], overrides: Partial<ClusterConnectionsConfig> = {}): ClusterConnectionsConfig => ({
  clientId: 'cluster-connections-test',
  bootstrapServers,
  socketConnectionSetupTimeoutMs: 2000,
  socketConnectionSetupTimeoutMaxMs: 2000,
  requestTimeoutMs: 60_000,
  reconnectBackoffMs: 50,
  reconnectBackoffMaxMs: 1000,
  ...overrides,
});

const node = (nodeId: number, port: number): BrokerAddress => ({ nodeId, host: '127.0.0.1', port, rack: null });

const listeners: FakeBroker[] = [];
let cc: NetworkClusterConnections | null = null;

async function listen(behaviour: FakeBrokerBehaviour): Promise<FakeBroker> {
  const l = await FakeBroker.start(behaviour);
  listeners.push(l);
  return l;
}

/** Connections whose onChange resolves the promises `changed()` hands out. */
function connections(cfg: ClusterConnectionsConfig): { cc: NetworkClusterConnections; changed: () => Promise<void> } {
  let waiters: Array<() => void> = [];
  const created = new NetworkClusterConnections(cfg, () => {
    const w = waiters;
    waiters = [];
    for (const resolve of w) resolve();
  });
  cc = created;
  return { cc: created, changed: () => new Promise<void>((resolve) => waiters.push(resolve)) };
}

afterEach(async () => {
  await cc?.close();
  cc = null;
  await Promise.all(listeners.splice(0).map((l) => l.stop()));
});

describe('NetworkClusterConnections.connectedNodeIds', () => {
  it('counts only nodes with an open, ready connection: not nodes never tried, connecting, or failed', async () => {
    const good = await listen('answer');
    const refused = await closedPort();
    const { cc, changed } = connections(config([good.address]));
    cc.updateNodes([node(1, good.port), node(2, refused)]);
    // known from metadata, never connected
    expect(cc.connectedNodeIds()).toEqual([]);

    const opened = changed();
    expect(cc.ready(node(1, good.port))).toBeNull();
    expect(cc.connectedNodeIds()).toEqual([]);
    await opened;
    expect(cc.ready(node(1, good.port))).not.toBeNull();
    expect(cc.connectedNodeIds()).toEqual([1]);

    const failed = changed();
    expect(cc.ready(node(2, refused))).toBeNull();
    await failed;
    expect(cc.connectionDelay(2)).toBeGreaterThan(0);
    expect(cc.connectedNodeIds()).toEqual([1]);
  });
});

describe('NetworkClusterConnections.close', () => {
  it('aborts a bootstrap attempt under way: its socket closes at once, not at the request timeout', async () => {
    const silent = await listen('silent');
    const { cc } = connections(config([silent.address], { requestTimeoutMs: 60_000 }));
    const attempt = cc.any();
    attempt.catch(noop);
    await within(2000, 'bootstrap connection accepted', silent.accepts(1));
    await within(2000, 'close() resolved', cc.close());
    await within(1000, 'broker saw the bootstrap socket close', silent.closes(1));
    await expect(attempt).rejects.toMatchObject({ code: 'CONNECTIONS_CLOSED' });
  });

  it('aborts a node connection attempt under way the same way', async () => {
    const silent = await listen('silent');
    const { cc } = connections(config([silent.address], { requestTimeoutMs: 60_000 }));
    expect(cc.ready(node(1, silent.port))).toBeNull();
    await within(2000, 'node connection accepted', silent.accepts(1));
    await cc.close();
    await within(1000, 'broker saw the node socket close', silent.closes(1));
  });

  it('rejects any() after close', async () => {
    const { cc } = connections(config(['127.0.0.1:1']));
    await cc.close();
    await expect(cc.any()).rejects.toMatchObject({ code: 'CONNECTIONS_CLOSED' });
  });
});

describe('NetworkClusterConnections.any', () => {
  it('bootstraps through the configured servers and reuses a connected node once there is one', async () => {
    const good = await listen('answer');
    const { cc, changed } = connections(config([good.address]));
    const first = await cc.any();
    expect(first.nodeId).toBe(-1);
    expect(first.isConnected).toBe(true);
    await expect(cc.any()).resolves.toBe(first);
    const opened = changed();
    cc.ready(node(5, good.port));
    await opened;
    await expect(cc.any()).resolves.toMatchObject({ nodeId: 5 });
  });

  it('picks the connected node with the fewest requests waiting, so a broker that stopped answering is passed over', async () => {
    const frozen = await listen('answer');
    const healthy = await listen('answer');
    const { cc, changed } = connections(config([frozen.address]));
    for (const [id, l] of [[1, frozen], [2, healthy]] as const) {
      const opened = changed();
      cc.ready(node(id, l.port));
      await opened;
    }
    frozen.freeze();
    const stuck = cc.ready(node(1, frozen.port))!;
    const waiting = stuck.send(ApiVersionsApi, { clientSoftwareName: 'test', clientSoftwareVersion: '0' });
    waiting.catch(noop);
    // whatever node the search starts from, the one with nothing waiting wins
    for (let i = 0; i < 20; i++) await expect(cc.any()).resolves.toMatchObject({ nodeId: 2 });
  });

  it('rejects with the handshake failure as cause when the broker hangs up during ApiVersions', async () => {
    const sasl = await listen('hang-up');
    const { cc } = connections(config([sasl.address]));
    const err = await cc.any().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BootstrapError);
    expect((err as Error).message).toContain('closed the connection during the ApiVersions handshake');
    expect((err as Error).cause).toMatchObject({ code: 'HANDSHAKE_CLOSED', message: expect.stringContaining('TLS or SASL') });
  });

  it('rejects with the AuthenticationError itself, without trying further servers, and repeats it until the backoff max passed', async () => {
    const first = await listen('answer');
    const second = await listen('answer');
    let authentications = 0;
    const { cc } = connections(
      config([first.address, second.address], {
        reconnectBackoffMaxMs: 60_000,
        authenticate: async () => {
          authentications++;
          throw new Error('bad password');
        },
      }),
    );
    const err = await cc.any().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err).toMatchObject({ code: 'AUTHENTICATION_FAILED', retriable: false });
    expect(second.accepted).toBe(0);
    await expect(cc.any()).rejects.toBe(err);
    expect(authentications).toBe(1);
    expect(first.accepted).toBe(1);
  });
});

describe('NetworkClusterConnections.nodeError', () => {
  it('reports a node whose authentication failed, and ready() does not retry it before reconnectBackoffMaxMs', async () => {
    const good = await listen('answer');
    let authentications = 0;
    const { cc, changed } = connections(
      config([good.address], {
        reconnectBackoffMs: 10,
        reconnectBackoffMaxMs: 60_000,
        authenticate: async () => {
          authentications++;
          throw new Error('bad password');
        },
      }),
    );
    const failed = changed();
    expect(cc.ready(node(1, good.port))).toBeNull();
    await failed;
    expect(cc.nodeError(1)).toBeInstanceOf(AuthenticationError);
    // the full max, not the 10 ms first step of the exponential backoff
    expect(cc.connectionDelay(1)).toBeGreaterThan(59_000);
    for (let i = 0; i < 5; i++) expect(cc.ready(node(1, good.port))).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(cc.ready(node(1, good.port))).toBeNull();
    expect(authentications).toBe(1);
  });

  it('is null for a failure that retrying may fix, and for a node without failures', async () => {
    const refused = await closedPort();
    const { cc, changed } = connections(config(['127.0.0.1:1']));
    const failed = changed();
    cc.ready(node(1, refused));
    await failed;
    expect(cc.nodeError(1)).toBeNull();
    expect(cc.nodeError(2)).toBeNull();
  });
});

describe('NetworkClusterConnections.ready', () => {
  it('follows a node to a new address it is given before metadata lists it', async () => {
    const a = await listen('answer');
    const b = await listen('answer');
    const { cc, changed } = connections(config([a.address]));
    let opened = changed();
    cc.ready(node(1, a.port));
    await opened;
    const onA = cc.ready(node(1, a.port));
    expect(onA?.address).toBe(a.address);
    opened = changed();
    expect(cc.ready(node(1, b.port))).toBeNull();
    expect(onA?.isConnected).toBe(false);
    await opened;
    expect(cc.ready(node(1, b.port))?.address).toBe(b.address);
  });
});

describe('a TLS client pointed at a plaintext listener', () => {
  it('is told so after three bootstrap rounds dropped mid-handshake, not after maxBlockMs; one such round alone stays retriable', async () => {
    // 'hang-up' drops the connection on the first bytes, as a Kafka plaintext listener drops a ClientHello
    const plaintext = await listen('hang-up');
    const { cc } = connections(config([plaintext.address], { socketFactory: (o) => tls.connect({ host: o.host, port: o.port }) }));
    const rounds: unknown[] = [];
    for (let i = 0; i < 3; i++) rounds.push(await cc.any().catch((e: unknown) => e));
    expect(rounds[0]).toBeInstanceOf(BootstrapError);
    expect(rounds[0]).toMatchObject({ retriable: true, attempts: [{ error: expect.objectContaining({ code: 'TLS_HANDSHAKE_FAILED', retriable: true }) }] });
    expect(rounds[1]).toMatchObject({ retriable: true });
    expect(rounds[2]).toBeInstanceOf(ConnectionError);
    expect(rounds[2]).toMatchObject({ code: 'TLS_HANDSHAKE_FAILED', retriable: false, message: expect.stringContaining('probably a plaintext listener') });
  });
});

describe('a TLS port that starts dropping handshakes after a connection got through', () => {
  it('stays retriable round after round: an outage behind a load balancer, not a plaintext port', async () => {
    const good = await listen('answer');
    const dropping = await listen('hang-up');
    let opened = 0;
    // the first socket reaches a working broker, every later one a port that drops the ClientHello
    const socketFactory = (): net.Socket => (opened++ === 0 ? net.createConnection({ host: '127.0.0.1', port: good.port }) : tls.connect({ host: '127.0.0.1', port: dropping.port }));
    const { cc, changed } = connections(config([good.address], { socketFactory }));
    await cc.any();
    const lost = changed();
    good.dropAll();
    await lost;
    const rounds: unknown[] = [];
    for (let i = 0; i < 4; i++) rounds.push(await cc.any().catch((e: unknown) => e));
    for (const r of rounds) expect(r).toMatchObject({ retriable: true });
  });
});
