import * as net from 'node:net';
import { ApiVersionsApi } from '../protocol/messages/api-versions.generated';
import { writeResponseHeader } from '../protocol/messages/headers';
import { Writer } from '../protocol/primitives/writer';
import { BrokerConnection, type BrokerConnectionOptions } from './broker-connection';
import { ConnectionPool, exponentialBackoff, type PoolEvent } from './connection-pool';
import { ConnectionError } from './errors';

/** A listener on 127.0.0.1 answering ApiVersions; counts connections and can drop them all. */
class Broker {
  readonly sockets = new Set<net.Socket>();
  accepted = 0;
  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(): Promise<Broker> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const broker = new Broker(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (socket) => {
      broker.accepted++;
      broker.sockets.add(socket);
      socket.on('close', () => broker.sockets.delete(socket));
      socket.on('error', () => {});
      let buffered = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
          const frame = buffered.subarray(4, 4 + buffered.readInt32BE(0));
          buffered = buffered.subarray(4 + frame.length);
          const w = new Writer(64);
          w.int32(0);
          writeResponseHeader(w, 0, frame.readInt32BE(4));
          ApiVersionsApi.encodeResponse(w, { errorCode: 0, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }] }, frame.readInt16BE(2));
          w.patchInt32(0, w.offset - 4);
          socket.write(Buffer.from(w.toBuffer()));
        }
      });
    });
    return broker;
  }

  dropAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  async stop(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function nextEvent(pool: ConnectionPool, type: PoolEvent['type']): Promise<PoolEvent> {
  return new Promise((resolve) => {
    const off = pool.onEvent((e) => {
      if (e.type === type) {
        off();
        resolve(e);
      }
    });
  });
}

describe('exponentialBackoff', () => {
  it('doubles from the initial value up to the max, with +-20% jitter', () => {
    const mid = () => 0.5;
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => exponentialBackoff(n, 50, 1000, 0.2, mid))).toEqual([50, 100, 200, 400, 800, 1000, 1000]);
    expect(exponentialBackoff(0, 50, 1000, 0.2, () => 0)).toBe(40);
    expect(exponentialBackoff(1, 50, 1000, 0.2, () => 0.999999)).toBe(119);
    expect(exponentialBackoff(10, 50, 1000, 0.2, () => 0)).toBe(800);
  });

  it('is a constant initial value, without jitter, when max <= initial', () => {
    expect(exponentialBackoff(5, 100, 100, 0.2, () => 0)).toBe(100);
    expect(exponentialBackoff(5, 100, 10, 0.2, () => 0.9)).toBe(100);
  });
});

describe('ConnectionPool', () => {
  let broker: Broker;
  let pool: ConnectionPool | null = null;

  beforeEach(async () => {
    broker = await Broker.start();
  });
  afterEach(async () => {
    await pool?.close();
    pool = null;
    await broker.stop();
  });

  const node = (nodeId = 1, port = broker.port) => ({ nodeId, host: '127.0.0.1', port, rack: null });

  it('opens a connection lazily, once, and hands it out when ready', async () => {
    pool = new ConnectionPool([node()], { clientId: 'pool-test' });
    await tick(20);
    expect(broker.accepted).toBe(0);
    const connected = nextEvent(pool, 'connected');
    expect(pool.ready(1)).toBeNull();
    expect(pool.ready(1)).toBeNull();
    expect(pool.connectionDelay(1)).toBe(Infinity);
    const event = await connected;
    const conn = pool.ready(1);
    expect(conn).not.toBeNull();
    expect(event).toEqual({ type: 'connected', nodeId: 1, connection: conn });
    expect(conn?.nodeId).toBe(1);
    expect(pool.connectionDelay(1)).toBe(0);
    await expect(pool.get(1)).resolves.toBe(conn);
    expect(broker.accepted).toBe(1);
  });

  it('shares one attempt between concurrent get() calls', async () => {
    pool = new ConnectionPool([node()]);
    const [a, b] = await Promise.all([pool.get(1), pool.get(1)]);
    expect(a).toBe(b);
    expect(broker.accepted).toBe(1);
  });

  it('drops a connection the broker closes and reconnects after the backoff', async () => {
    pool = new ConnectionPool([node()], { random: () => 0.5 });
    const first = await pool.get(1);
    const disconnected = nextEvent(pool, 'disconnected');
    broker.dropAll();
    const event = await disconnected;
    expect(event).toMatchObject({ type: 'disconnected', nodeId: 1 });
    expect((event as { reason: unknown }).reason).toBeInstanceOf(ConnectionError);
    expect(first.isConnected).toBe(false);
    expect(pool.ready(1)).toBeNull();
    const delay = pool.connectionDelay(1);
    expect(delay).toBeGreaterThan(20);
    expect(delay).toBeLessThanOrEqual(50);
    expect(pool.lastError(1)).toBe((event as { reason: unknown }).reason);
    await tick(20);
    expect(broker.accepted).toBe(1);
    const second = await pool.get(1);
    expect(second).not.toBe(first);
    expect(second.isConnected).toBe(true);
    expect(broker.accepted).toBe(2);
    expect(pool.lastError(1)).toBeNull();
  });

  it('backs off exponentially after consecutive failures and resets after a success', async () => {
    let failuresLeft = 3;
    let attempts = 0;
    const open = (o: BrokerConnectionOptions): Promise<BrokerConnection> => {
      attempts++;
      if (failuresLeft-- > 0) return Promise.reject(new ConnectionError(`${o.host}:${o.port}`, 'CONNECT_FAILED', 'refused'));
      return BrokerConnection.open(o);
    };
    pool = new ConnectionPool([node()], { random: () => 0.5, reconnectBackoffMs: 40, reconnectBackoffMaxMs: 1000, open });
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      await expect(pool.get(1)).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
      delays.push(pool.connectionDelay(1));
      // ready() within the backoff starts nothing
      expect(pool.ready(1)).toBeNull();
      expect(attempts).toBe(i + 1);
    }
    expect(delays[0]).toBeGreaterThan(25);
    expect(delays[0]).toBeLessThanOrEqual(40);
    expect(delays[1]).toBeGreaterThan(65);
    expect(delays[1]).toBeLessThanOrEqual(80);
    expect(delays[2]).toBeGreaterThan(145);
    expect(delays[2]).toBeLessThanOrEqual(160);
    const started = performance.now();
    const conn = await pool.get(1); // waits out the third backoff
    expect(performance.now() - started).toBeGreaterThan(140);
    expect(conn.isConnected).toBe(true);
    // a disconnect now backs off from the start again
    const disconnected = nextEvent(pool, 'disconnected');
    broker.dropAll();
    await disconnected;
    expect(pool.connectionDelay(1)).toBeLessThanOrEqual(40);
  });

  it('grows the connection-setup timeout with consecutive failures, up to socketConnectionSetupTimeoutMaxMs', async () => {
    const timeouts: number[] = [];
    const pool = new ConnectionPool([{ nodeId: 1, host: '127.0.0.1', port: 1, rack: null }], {
      socketConnectionSetupTimeoutMs: 100,
      socketConnectionSetupTimeoutMaxMs: 350,
      reconnectBackoffMs: 0,
      reconnectBackoffMaxMs: 0,
      random: () => 0.5,
      open: async (o: BrokerConnectionOptions) => {
        timeouts.push(o.socketConnectionSetupTimeoutMs!);
        throw new ConnectionError('127.0.0.1:1', 'CONNECT_FAILED', 'refused');
      },
    });
    for (let i = 0; i < 4; i++) await pool.get(1).catch(() => undefined);
    await pool.close();
    expect(timeouts).toEqual([100, 200, 350, 350]);
  });

  it('uses reconnectBackoffMs as a constant backoff when no max is given', async () => {
    const open = (o: BrokerConnectionOptions): Promise<BrokerConnection> =>
      Promise.reject(new ConnectionError(`${o.host}:${o.port}`, 'CONNECT_FAILED', 'refused'));
    pool = new ConnectionPool([node()], { reconnectBackoffMs: 30, random: () => 0, open });
    for (let i = 0; i < 3; i++) {
      await expect(pool.get(1)).rejects.toBeInstanceOf(ConnectionError);
      expect(pool.connectionDelay(1)).toBeGreaterThan(15);
      expect(pool.connectionDelay(1)).toBeLessThanOrEqual(30);
    }
  });

  it('closes the connection of a node whose address changed or that disappeared', async () => {
    const other = await Broker.start();
    try {
      pool = new ConnectionPool([node(1), node(2)]);
      const c1 = await pool.get(1);
      const c2 = await pool.get(2);
      const disconnects: PoolEvent[] = [];
      pool.onEvent((e) => e.type === 'disconnected' && disconnects.push(e));
      pool.updateNodes([node(1, other.port)]);
      await tick(20);
      expect(c1.isConnected).toBe(false);
      expect(c2.isConnected).toBe(false);
      // the pool dropped them itself: no failure, no backoff
      expect(disconnects).toEqual([]);
      expect(pool.connectionDelay(1)).toBe(0);
      expect(pool.node(1)).toEqual(node(1, other.port));
      const moved = await pool.get(1);
      expect(moved.address).toBe(`127.0.0.1:${other.port}`);
      expect(pool.ready(2)).toBeNull();
      await expect(pool.get(2)).rejects.toMatchObject({ code: 'UNKNOWN_NODE' });
      expect(pool.nodes().map((n) => n.nodeId)).toEqual([1]);
    } finally {
      await pool?.close();
      await other.stop();
    }
  });

  it('keeps an open connection when metadata repeats the same address', async () => {
    pool = new ConnectionPool([node()]);
    const c = await pool.get(1);
    pool.updateNodes([node()]);
    expect(pool.ready(1)).toBe(c);
  });

  it('close() closes every connection, and attempts that finish later', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const open = async (o: BrokerConnectionOptions): Promise<BrokerConnection> => {
      const c = await BrokerConnection.open(o);
      if (o.nodeId === 2) await gate;
      return c;
    };
    pool = new ConnectionPool([node(1), node(2)], { open });
    const c1 = await pool.get(1);
    const late = pool.get(2);
    await tick(20);
    await pool.close();
    expect(c1.isConnected).toBe(false);
    release();
    await expect(late).rejects.toMatchObject({ code: 'POOL_CLOSED' });
    await tick(20);
    expect(broker.sockets.size).toBe(0);
    await expect(pool.get(1)).rejects.toMatchObject({ code: 'POOL_CLOSED' });
    expect(pool.ready(1)).toBeNull();
  });
});
