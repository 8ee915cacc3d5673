import * as net from 'node:net';
import { FaultProxy } from './fault-proxy';

/**
 * The proxy against a fake broker that speaks only Kafka's framing: it answers every request with a
 * frame carrying the request's correlation id and its payload, so a test can tell which request each
 * response belongs to and whether the broker saw a request at all.
 */

interface SeenRequest {
  connection: number;
  apiKey: number;
  correlationId: number;
  payload: string;
}

interface FakeBroker {
  port: number;
  seen: SeenRequest[];
  /** Connections the broker saw closed. */
  closed: number;
  close(): Promise<void>;
}

/**
 * `holdUntil`: answer nothing on a connection until it has sent that many requests, then answer them
 * all at once, so "requests in flight when a response comes back" does not depend on TCP timing.
 * `correlationOffset` answers with a wrong correlation id.
 */
async function fakeBroker(options: { holdUntil?: number; correlationOffset?: number } = {}): Promise<FakeBroker> {
  const seen: SeenRequest[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const state = { closed: 0 };
  const server = net.createServer((socket) => {
    const connection = ++connections;
    sockets.add(socket);
    let buffered = Buffer.alloc(0);
    const held: Buffer[] = [];
    socket.on('close', () => {
      sockets.delete(socket);
      state.closed++;
    });
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const size = buffered.readInt32BE(0);
        const frame = buffered.subarray(4, 4 + size);
        buffered = buffered.subarray(4 + size);
        const apiKey = frame.readInt16BE(0);
        const correlationId = frame.readInt32BE(4);
        const payload = frame.subarray(8).toString();
        seen.push({ connection, apiKey, correlationId, payload });
        held.push(responseFrame(correlationId + (options.correlationOffset ?? 0), `re:${payload}`));
        if (held.length >= (options.holdUntil ?? 1)) socket.write(Buffer.concat(held.splice(0)));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    get closed() {
      return state.closed;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function requestFrame(apiKey: number, correlationId: number, payload: string): Buffer {
  const body = Buffer.from(payload);
  const frame = Buffer.alloc(12 + body.length);
  frame.writeInt32BE(8 + body.length, 0);
  frame.writeInt16BE(apiKey, 4);
  frame.writeInt16BE(3, 6);
  frame.writeInt32BE(correlationId, 8);
  body.copy(frame, 12);
  return frame;
}

function responseFrame(correlationId: number, payload: string): Buffer {
  const body = Buffer.from(payload);
  const frame = Buffer.alloc(8 + body.length);
  frame.writeInt32BE(4 + body.length, 0);
  frame.writeInt32BE(correlationId, 4);
  body.copy(frame, 8);
  return frame;
}

/** A client that collects decoded responses and notices when its connection ends. */
class Client {
  readonly responses: Array<{ correlationId: number; payload: string; at: number }> = [];
  ended = false;
  error: NodeJS.ErrnoException | null = null;
  private buffered = Buffer.alloc(0);
  private readonly socket: net.Socket;
  private readonly connected: Promise<void>;
  private readonly endedPromise: Promise<void>;

  constructor(port: number) {
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.connected = new Promise((r) => this.socket.once('connect', () => r()));
    this.endedPromise = new Promise((r) =>
      this.socket.once('close', () => {
        this.ended = true;
        r();
      }),
    );
    this.socket.on('error', (e: NodeJS.ErrnoException) => (this.error = e));
    this.socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
        const size = this.buffered.readInt32BE(0);
        this.responses.push({ correlationId: this.buffered.readInt32BE(4), payload: this.buffered.subarray(8, 4 + size).toString(), at: Date.now() });
        this.buffered = this.buffered.subarray(4 + size);
      }
    });
  }

  async send(...frames: Buffer[]): Promise<void> {
    await this.connected;
    this.socket.write(Buffer.concat(frames));
  }

  /** Writes bytes one small piece at a time, so frames arrive split at arbitrary points. */
  async sendInPieces(bytes: Buffer, piece: number): Promise<void> {
    await this.connected;
    for (let i = 0; i < bytes.length; i += piece) {
      this.socket.write(bytes.subarray(i, i + piece));
      await new Promise((r) => setImmediate(r));
    }
  }

  async waitFor(responses: number, timeoutMs = 2000): Promise<void> {
    await until(() => this.responses.length >= responses, timeoutMs, `${responses} responses (have ${this.responses.length})`);
  }

  async waitClosed(timeoutMs = 2000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([this.endedPromise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('connection still open')), timeoutMs)))]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const PRODUCE = 0;
const METADATA = 3;

describe('FaultProxy', () => {
  let broker: FakeBroker;
  let proxy: FaultProxy;
  const clients: Client[] = [];
  const client = (): Client => {
    const c = new Client(proxy.port);
    clients.push(c);
    return c;
  };

  async function setUp(options: Parameters<typeof fakeBroker>[0] = {}): Promise<void> {
    broker = await fakeBroker(options);
    proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: broker.port }, name: 'test' });
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await proxy?.close();
    await broker?.close();
  });

  it('forwards frames both ways byte for byte, whether they arrive split or several per read, and counts them by api key', async () => {
    await setUp();
    const c = client();
    const frames = [requestFrame(PRODUCE, 1, 'a'.repeat(300)), requestFrame(METADATA, 2, 'm'), requestFrame(PRODUCE, 3, 'b')];
    await c.sendInPieces(Buffer.concat(frames), 7);
    await c.send(requestFrame(PRODUCE, 4, 'c'), requestFrame(PRODUCE, 5, 'd'));
    await c.waitFor(5);
    expect(broker.seen.map((s) => [s.apiKey, s.correlationId, s.payload])).toEqual([
      [PRODUCE, 1, 'a'.repeat(300)],
      [METADATA, 2, 'm'],
      [PRODUCE, 3, 'b'],
      [PRODUCE, 4, 'c'],
      [PRODUCE, 5, 'd'],
    ]);
    expect(c.responses.map((r) => [r.correlationId, r.payload])).toEqual([
      [1, `re:${'a'.repeat(300)}`],
      [2, 're:m'],
      [3, 're:b'],
      [4, 're:c'],
      [5, 're:d'],
    ]);
    expect(proxy.counts()).toEqual({ requests: { [PRODUCE]: 4, [METADATA]: 1 }, responses: { [PRODUCE]: 4, [METADATA]: 1 }, connections: 1 });
    expect(proxy.eventsOf('connect')).toHaveLength(1);
  });

  it('dropResponse lets the request reach the broker, then closes the client connection instead of delivering its response', async () => {
    await setUp();
    const rule = proxy.dropResponse({ apiKey: PRODUCE, nth: 2 });
    const c = client();
    await c.send(requestFrame(PRODUCE, 10, 'first'));
    await c.waitFor(1);
    await c.send(requestFrame(METADATA, 11, 'not a produce'));
    await c.waitFor(2);
    await c.send(requestFrame(PRODUCE, 12, 'second'));
    await c.waitClosed();
    // the broker executed the request whose response was lost
    expect(broker.seen.map((s) => s.correlationId)).toEqual([10, 11, 12]);
    expect(c.responses.map((r) => r.correlationId)).toEqual([10, 11]);
    expect(proxy.eventsOf('drop-response')).toEqual([expect.objectContaining({ apiKey: PRODUCE, apiVersion: 3, correlationId: 12, connectionId: 1, inFlight: 0 })]);
    expect(rule).toMatchObject({ matched: 2, applied: 1, done: true });
    // the broker side is closed too, as when a client's connection dies
    await until(() => broker.closed === 1, 2000, 'broker side closed');
  });

  it('loses every response still pending on the connection along with the dropped one, and reports how many were in flight', async () => {
    await setUp({ holdUntil: 4 });
    proxy.dropResponse({ apiKey: PRODUCE, nth: 2 });
    const c = client();
    await c.send(requestFrame(PRODUCE, 1, 'p1'), requestFrame(PRODUCE, 2, 'p2'), requestFrame(PRODUCE, 3, 'p3'), requestFrame(PRODUCE, 4, 'p4'));
    await c.waitClosed();
    expect(broker.seen.map((s) => s.correlationId)).toEqual([1, 2, 3, 4]);
    expect(c.responses.map((r) => r.correlationId)).toEqual([1]);
    expect(proxy.eventsOf('drop-response')).toEqual([expect.objectContaining({ correlationId: 2, inFlight: 2 })]);
    expect(proxy.eventsOf('close')).toEqual([expect.objectContaining({ connectionId: 1, detail: 'response dropped' })]);
  });

  it('counts nth and count across connections, so retries on a new connection can be dropped too', async () => {
    await setUp();
    const rule = proxy.dropResponse({ apiKey: PRODUCE, nth: 1, count: 2 });
    const first = client();
    await first.send(requestFrame(PRODUCE, 1, 'try 1'));
    await first.waitClosed();
    const second = client();
    await second.send(requestFrame(PRODUCE, 1, 'try 2'));
    await second.waitClosed();
    const third = client();
    await third.send(requestFrame(PRODUCE, 1, 'try 3'));
    await third.waitFor(1);
    expect(third.responses[0].payload).toBe('re:try 3');
    expect(broker.seen.map((s) => s.payload)).toEqual(['try 1', 'try 2', 'try 3']);
    expect(proxy.eventsOf('drop-response').map((e) => e.connectionId)).toEqual([1, 2]);
    expect(rule).toMatchObject({ applied: 2, done: true });
    expect(proxy.activeRules()).toEqual([]);
  });

  it('blackhole keeps connections open but lets nothing through; resume() restores the flow on the same connection', async () => {
    await setUp();
    const c = client();
    await c.send(requestFrame(PRODUCE, 1, 'before'));
    await c.waitFor(1);
    proxy.blackhole();
    await c.send(requestFrame(PRODUCE, 2, 'swallowed'));
    const late = client();
    await late.send(requestFrame(METADATA, 1, 'also swallowed'));
    await sleep(150);
    expect(broker.seen.map((s) => s.payload)).toEqual(['before']);
    expect(c.responses).toHaveLength(1);
    expect(c.ended || late.ended).toBe(false);
    expect(proxy.eventsOf('discard').map((e) => [e.direction, e.correlationId])).toEqual([
      ['request', 2],
      ['request', 1],
    ]);
    proxy.resume();
    await c.send(requestFrame(PRODUCE, 3, 'after'));
    await c.waitFor(2);
    expect(c.responses.map((r) => r.correlationId)).toEqual([1, 3]);
  });

  it('blackhole on responses only: the broker executes the request, the client never hears back', async () => {
    await setUp();
    proxy.blackhole({ direction: 'response' });
    const c = client();
    await c.send(requestFrame(PRODUCE, 7, 'written'));
    await until(() => broker.seen.length === 1, 2000, 'request at the broker');
    await sleep(100);
    expect(c.responses).toEqual([]);
    expect(proxy.eventsOf('discard')).toEqual([expect.objectContaining({ direction: 'response', apiKey: PRODUCE, correlationId: 7 })]);
  });

  it('delay holds each frame at least that long and never reorders them', async () => {
    await setUp();
    const c = client();
    const rule = proxy.delay(120, { direction: 'response' });
    const sentAt = Date.now();
    await c.send(requestFrame(PRODUCE, 1, 'x'), requestFrame(METADATA, 2, 'y'), requestFrame(PRODUCE, 3, 'z'));
    await c.waitFor(3);
    expect(c.responses.map((r) => r.correlationId)).toEqual([1, 2, 3]);
    for (const r of c.responses) expect(r.at - sentAt).toBeGreaterThanOrEqual(115);
    expect(rule.applied).toBe(3);
    rule.remove();
    const fastAt = Date.now();
    await c.send(requestFrame(PRODUCE, 4, 'fast'));
    await c.waitFor(4);
    expect(c.responses[3].at - fastAt).toBeLessThan(100);
  });

  it('reset closes every open connection with a TCP reset; new connections work', async () => {
    await setUp();
    const a = client();
    const b = client();
    await a.send(requestFrame(PRODUCE, 1, 'a'));
    await b.send(requestFrame(PRODUCE, 1, 'b'));
    await a.waitFor(1);
    await b.waitFor(1);
    expect(proxy.reset()).toBe(2);
    await a.waitClosed();
    await b.waitClosed();
    expect(a.error?.code).toBe('ECONNRESET');
    const c = client();
    await c.send(requestFrame(PRODUCE, 1, 'c'));
    await c.waitFor(1);
    expect(proxy.openConnections).toBe(1);
  });

  it('closes the client connection when the broker is not there, and logs why', async () => {
    await setUp();
    await broker.close();
    const c = client();
    await c.send(requestFrame(PRODUCE, 1, 'nobody home'));
    await c.waitClosed();
    expect(proxy.eventsOf('upstream-error')).toEqual([expect.objectContaining({ connectionId: 1, detail: expect.stringMatching(/ECONNREFUSED/) })]);
  });

  it('treats an impossible frame length as a protocol error: nothing is buffered for it or forwarded, both sides close', async () => {
    await setUp();
    const c = client();
    const bogus = Buffer.alloc(12);
    bogus.writeInt32BE(0x7fffffff, 0);
    await c.send(bogus);
    await c.waitClosed();
    expect(broker.seen).toEqual([]);
    expect(proxy.eventsOf('protocol-error')).toEqual([expect.objectContaining({ direction: 'request', detail: expect.stringMatching(/2147483647/) })]);
  });

  it('forwards a response whose correlation id matches no request, and logs it', async () => {
    await setUp({ correlationOffset: 1000 });
    const c = client();
    await c.send(requestFrame(PRODUCE, 5, 'x'));
    await c.waitFor(1);
    expect(c.responses[0].correlationId).toBe(1005);
    expect(proxy.eventsOf('unmatched-response')).toEqual([expect.objectContaining({ correlationId: 1005 })]);
  });

  it('rejects rules that could never apply', async () => {
    await setUp();
    expect(() => proxy.dropResponse({ apiKey: PRODUCE, nth: 0 })).toThrow(/nth >= 1/);
    expect(() => proxy.dropResponse({ apiKey: PRODUCE, count: 1.5 })).toThrow(/count >= 1/);
    expect(() => proxy.delay(-1)).toThrow(/ms >= 0/);
  });
});
