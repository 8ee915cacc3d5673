import { closedPort, FakeBroker } from '../../test/support/fake-broker';
import { connectBootstrap, firstReachable, parseBootstrapServers } from './bootstrap';
import type { BrokerConnection } from './broker-connection';
import { BootstrapError, ConnectionError, RequestTimeoutError } from './errors';

describe('parseBootstrapServers', () => {
  it('parses a comma-separated string and arrays, trimming and skipping blanks', () => {
    expect(parseBootstrapServers(' a:1, b.example:9092 ,,')).toEqual([
      { host: 'a', port: 1 },
      { host: 'b.example', port: 9092 },
    ]);
    expect(parseBootstrapServers(['a:1', 'c:3,d:4'])).toEqual([
      { host: 'a', port: 1 },
      { host: 'c', port: 3 },
      { host: 'd', port: 4 },
    ]);
  });

  it('parses bracketed IPv6 literals, and unbracketed ones at the last colon as Java does', () => {
    expect(parseBootstrapServers('[::1]:9092,[fe80::1:2]:19092')).toEqual([
      { host: '::1', port: 9092 },
      { host: 'fe80::1:2', port: 19092 },
    ]);
    expect(parseBootstrapServers('::1:9092')).toEqual([{ host: '::1', port: 9092 }]);
  });

  it('drops exact duplicates, keeping the first position', () => {
    expect(parseBootstrapServers('a:1,b:2,a:1')).toEqual([
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
    ]);
  });

  it.each(['', ' , ', 'a', 'a:', ':9092', 'a:x', 'a:0', 'a:65536', '[::1]', '[not-ipv6]:1', 'a]:1', 'a:-1'])(
    'rejects %p',
    (entry) => {
      expect(() => parseBootstrapServers(entry)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    },
  );
});

describe('connectBootstrap', () => {
  const opened: BrokerConnection[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close()));
  });

  it('falls back past a refused address and an unknown host to the first one that works', async () => {
    const good = await FakeBroker.start();
    try {
      const refused = await closedPort();
      const conn = await connectBootstrap(`127.0.0.1:${refused},kafka-broker.invalid:9092,127.0.0.1:${good.port}`, {
        clientId: 'bootstrap-test',
      });
      opened.push(conn);
      expect(conn.address).toBe(`127.0.0.1:${good.port}`);
      expect(conn.isConnected).toBe(true);
      expect(conn.nodeId).toBe(-1);
    } finally {
      await good.stop();
    }
  });

  it('falls back past a broker that accepts but never answers ApiVersions', async () => {
    const silent = await FakeBroker.start('silent');
    const good = await FakeBroker.start();
    try {
      const conn = await connectBootstrap([`127.0.0.1:${silent.port}`, `localhost:${good.port}`], { requestTimeoutMs: 100 });
      opened.push(conn);
      expect(conn.address).toBe(`localhost:${good.port}`);
    } finally {
      await silent.stop();
      await good.stop();
    }
  });

  it('fails with one error listing every address tried and why', async () => {
    const refused = await closedPort();
    const silent = await FakeBroker.start('silent');
    try {
      const err = await connectBootstrap(`127.0.0.1:${refused},nowhere.invalid:9092,127.0.0.1:${silent.port}`, {
        requestTimeoutMs: 100,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BootstrapError);
      const b = err as BootstrapError;
      expect(b).toMatchObject({ code: 'BOOTSTRAP_FAILED', retriable: true });
      expect(b.attempts.map((a) => a.address)).toEqual([`127.0.0.1:${refused}`, 'nowhere.invalid:9092', `127.0.0.1:${silent.port}`]);
      expect(b.attempts[0].error).toMatchObject({ code: 'CONNECT_FAILED', cause: expect.objectContaining({ code: 'ECONNREFUSED' }) });
      expect(b.attempts[1].error).toBeInstanceOf(ConnectionError);
      expect((b.attempts[1].error as Error).cause).toMatchObject({ code: expect.stringMatching(/^(ENOTFOUND|EAI_AGAIN)$/) });
      expect(b.attempts[2].error).toBeInstanceOf(RequestTimeoutError);
      expect(b.message).toContain(`127.0.0.1:${refused} (`);
      expect(b.message).toContain('nowhere.invalid:9092 (');
    } finally {
      await silent.stop();
    }
  });

  it('rejects an invalid bootstrap list without connecting', async () => {
    await expect(connectBootstrap('no-port')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('firstReachable', () => {
  const addresses = [
    { host: 'a', port: 1 },
    { host: 'b', port: 2 },
    { host: 'c', port: 3 },
  ];

  it('tries addresses in the given order by default', async () => {
    const tried: string[] = [];
    const result = await firstReachable(addresses, async (a) => {
      tried.push(a.host);
      if (a.host !== 'c') throw new Error(`no ${a.host}`);
      return a.host;
    });
    expect(result).toBe('c');
    expect(tried).toEqual(['a', 'b', 'c']);
  });

  it('shuffles with the given random source when asked, without touching the input', async () => {
    const tried: string[] = [];
    await firstReachable(
      addresses,
      async (a) => {
        tried.push(a.host);
        throw new Error('down');
      },
      { shuffle: true, random: () => 0 },
    ).catch(() => undefined);
    // Fisher-Yates with random() = 0 rotates: [a,b,c] -> [b,c,a]
    expect(tried).toEqual(['b', 'c', 'a']);
    expect(addresses.map((a) => a.host)).toEqual(['a', 'b', 'c']);
  });

  it('is not retriable when no attempt failed retriably', async () => {
    const err = await firstReachable(addresses.slice(0, 1), async () => {
      throw new Error('plain');
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BOOTSTRAP_FAILED', retriable: false });
  });
});
