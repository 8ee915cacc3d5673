import { FakeBroker } from '../../test/support/fake-broker';
import { BrokerConnection, type BrokerConnectionOptions } from './broker-connection';
import { ConnectionPool, exponentialBackoff, type PoolEvent } from './connection-pool';
import { AuthenticationError, ConnectionError } from './errors';

const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for a condition that depends on the other side of a socket, however loaded the machine is. */
async function eventually(condition: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await tick(5);
  }
}

/**
 * The pool's clock, driven by the test: backoff deadlines then come out exact, whatever the time a
 * loaded machine takes between two statements.
 */
class ManualClock {
  ms = 1_000;
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

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
  let broker: FakeBroker;
  let pool: ConnectionPool | null = null;

  beforeEach(async () => {
    broker = await FakeBroker.start();
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

  it('drops a connection the broker closes and reconnects once the backoff has passed', async () => {
    const clock = new ManualClock();
    pool = new ConnectionPool([node()], { random: () => 0.5, now: clock.now });
    const first = await pool.get(1);
    const disconnected = nextEvent(pool, 'disconnected');
    broker.dropAll();
    const event = await disconnected;
    expect(event).toMatchObject({ type: 'disconnected', nodeId: 1 });
    expect((event as { reason: unknown }).reason).toBeInstanceOf(ConnectionError);
    expect(first.isConnected).toBe(false);
    expect(pool.lastError(1)).toBe((event as { reason: unknown }).reason);
    // reconnectBackoffMs 50, jitter factor 1 at random() = 0.5
    expect(pool.connectionDelay(1)).toBe(50);
    expect(pool.ready(1)).toBeNull();
    clock.advance(49);
    expect(pool.connectionDelay(1)).toBe(1);
    expect(pool.ready(1)).toBeNull();
    await tick(20);
    expect(broker.accepted).toBe(1);
    clock.advance(1);
    const connected = nextEvent(pool, 'connected');
    expect(pool.ready(1)).toBeNull(); // starts the attempt
    await connected;
    const second = pool.ready(1);
    expect(second).not.toBeNull();
    expect(second).not.toBe(first);
    expect(second?.isConnected).toBe(true);
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
    const clock = new ManualClock();
    pool = new ConnectionPool([node()], { random: () => 0.5, reconnectBackoffMs: 40, reconnectBackoffMaxMs: 1000, open, now: clock.now });
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      clock.advance(pool.connectionDelay(1));
      await expect(pool.get(1)).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
      delays.push(pool.connectionDelay(1));
      // ready() within the backoff starts nothing
      expect(pool.ready(1)).toBeNull();
      expect(attempts).toBe(i + 1);
    }
    expect(delays).toEqual([40, 80, 160]);
    // get() waits out the third backoff: nothing is attempted until the clock has passed it
    const waiting = pool.get(1);
    clock.advance(159);
    await tick(20);
    expect(attempts).toBe(3);
    clock.advance(1);
    const conn = await waiting;
    expect(attempts).toBe(4);
    expect(conn.isConnected).toBe(true);
    // a disconnect now backs off from the start again
    const disconnected = nextEvent(pool, 'disconnected');
    broker.dropAll();
    await disconnected;
    expect(pool.connectionDelay(1)).toBe(40);
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
    const clock = new ManualClock();
    pool = new ConnectionPool([node()], { reconnectBackoffMs: 30, random: () => 0, open, now: clock.now });
    for (let i = 0; i < 3; i++) {
      clock.advance(pool.connectionDelay(1));
      await expect(pool.get(1)).rejects.toBeInstanceOf(ConnectionError);
      // no jitter either: random() = 0 would otherwise take 20 % off
      expect(pool.connectionDelay(1)).toBe(30);
    }
  });

  it('closes the connection of a node whose address changed or that disappeared', async () => {
    const other = await FakeBroker.start();
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
    await eventually(() => broker.sockets.size === 0, 'the late connection closed');
    await expect(pool.get(1)).rejects.toMatchObject({ code: 'POOL_CLOSED' });
    expect(pool.ready(1)).toBeNull();
  });

  it('aborts an attempt under way on close(), and one to a node that moved or disappeared', async () => {
    const signals = new Map<string, AbortSignal>();
    const open = (o: BrokerConnectionOptions): Promise<BrokerConnection> =>
      new Promise((_, reject) => {
        signals.set(`${o.nodeId}@${o.port}`, o.signal!);
        o.signal!.addEventListener('abort', () => reject(new ConnectionError(`${o.host}:${o.port}`, 'CONNECTION_CLOSED', 'aborted')));
      });
    pool = new ConnectionPool([node(1), node(2), node(3)], { open });
    for (const id of [1, 2, 3]) pool.ready(id);
    pool.updateNodes([node(1, broker.port + 1), node(3)]);
    expect(signals.get(`1@${broker.port}`)?.aborted).toBe(true);
    expect(signals.get(`2@${broker.port}`)?.aborted).toBe(true);
    expect(signals.get(`3@${broker.port}`)?.aborted).toBe(false);
    // the pool dropped those attempts itself: no failure is recorded
    expect(pool.lastError(3)).toBeNull();
    await pool.close();
    expect(signals.get(`3@${broker.port}`)?.aborted).toBe(true);
  });

  it('with the real open, close() destroys the socket of an attempt whose broker never answers ApiVersions', async () => {
    const silent = await FakeBroker.start('silent');
    try {
      pool = new ConnectionPool([node(1, silent.port)], { requestTimeoutMs: 60_000 });
      pool.ready(1);
      await eventually(() => silent.accepted === 1, 'the attempt connected');
      await pool.close();
      await eventually(() => silent.closed === 1, 'the broker saw the attempt close', 1000);
    } finally {
      await silent.stop();
    }
  });

  it('keeps the handshake failure as lastError when the broker hangs up during ApiVersions', async () => {
    const sasl = await FakeBroker.start('hang-up');
    try {
      pool = new ConnectionPool([node(1, sasl.port)]);
      const err = await pool.get(1).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'HANDSHAKE_CLOSED', message: expect.stringContaining('TLS or SASL') });
      expect(pool.lastError(1)).toBe(err);
      // retrying may help (a broker restarting hangs up too): not a fatal node error
      expect(pool.nodeError(1)).toBeNull();
    } finally {
      await sasl.stop();
    }
  });

  it('after a fatal failure, reports it as nodeError and waits reconnectBackoffMaxMs before the next attempt', async () => {
    const clock = new ManualClock();
    let attempts = 0;
    const refused = new AuthenticationError(`127.0.0.1:${broker.port}`, 'bad password');
    const open = (): Promise<BrokerConnection> => {
      attempts++;
      return Promise.reject(refused);
    };
    pool = new ConnectionPool([node()], { reconnectBackoffMs: 10, reconnectBackoffMaxMs: 5000, random: () => 0.5, open, now: clock.now });
    await expect(pool.get(1)).rejects.toBe(refused);
    expect(pool.nodeError(1)).toBe(refused);
    expect(pool.connectionDelay(1)).toBe(5000);
    clock.advance(4999);
    expect(pool.ready(1)).toBeNull();
    expect(attempts).toBe(1);
    clock.advance(1);
    expect(pool.ready(1)).toBeNull();
    expect(attempts).toBe(2);
  });

  it('lists as connected only nodes whose connection is open', async () => {
    pool = new ConnectionPool([node(1), node(2)]);
    expect(pool.connectedNodeIds()).toEqual([]);
    await pool.get(2);
    expect(pool.connectedNodeIds()).toEqual([2]);
    const disconnected = nextEvent(pool, 'disconnected');
    broker.dropAll();
    await disconnected;
    expect(pool.connectedNodeIds()).toEqual([]);
  });

  it('keeps the connection when only the rack of a node changes, and reports the new rack', async () => {
    pool = new ConnectionPool([node()]);
    const c = await pool.get(1);
    pool.updateNodes([{ ...node(), rack: 'r2' }]);
    expect(pool.ready(1)).toBe(c);
    expect(pool.node(1)?.rack).toBe('r2');
  });
});
