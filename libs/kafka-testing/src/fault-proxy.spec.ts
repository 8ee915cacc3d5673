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
  /** Every byte received, as it came (a cut frame never shows up in `responses`). */
  raw = Buffer.alloc(0);
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
      this.raw = Buffer.concat([this.raw, chunk]);
      this.buffered = Buffer.concat([this.buffered, chunk]);
      // A negative length (an oversized-frame fault) is never a frame: leave it in `raw`.
      while (this.buffered.length >= 4 && this.buffered.readInt32BE(0) >= 0 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
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
    expect(() => proxy.truncateResponse({ every: 0 })).toThrow(/every >= 1/);
    expect(() => proxy.delay(-1)).toThrow(/ms >= 0/);
    expect(() => proxy.truncateResponse({ fraction: 1 })).toThrow(/fraction < 1/);
    expect(() => proxy.corrupt({ xor: 0 })).toThrow(/xor in \[1, 255\]/);
    expect(() => proxy.wrongCorrelationId({ to: 2 ** 31 })).toThrow(/int32/);
    expect(() => proxy.oversizedFrame({ length: 2 ** 32 })).toThrow(/uint32/);
    expect(() => proxy.throttle(0)).toThrow(/bytesPerSecond > 0/);
    expect(() => proxy.churn({ minMs: 200, maxMs: 100 })).toThrow(/minMs <= maxMs/);
    expect(proxy.activeRules()).toEqual([]);
  });

  describe('truncateResponse', () => {
    it('forwards only the first bytes of the response, then closes the connection with a FIN after them', async () => {
      await setUp();
      const rule = proxy.truncateResponse({ apiKey: PRODUCE, bytes: 10 });
      const c = client();
      await c.send(requestFrame(PRODUCE, 1, 'a long enough payload'));
      await c.waitClosed();
      expect(c.raw).toEqual(responseFrame(1, 're:a long enough payload').subarray(0, 10));
      expect(c.responses).toEqual([]);
      expect(c.error).toBeNull();
      expect(broker.seen.map((s) => s.correlationId)).toEqual([1]);
      expect(proxy.eventsOf('truncate')).toEqual([expect.objectContaining({ apiKey: PRODUCE, correlationId: 1, connectionId: 1, detail: 'forwarded 10 of 32 bytes, then closed' })]);
      expect(proxy.eventsOf('close')).toEqual([expect.objectContaining({ detail: 'response truncated' })]);
      expect(rule).toMatchObject({ matched: 1, applied: 1, done: true });
    });

    it('cuts a share of the frame, and nothing that the broker answers after the cut reaches the client', async () => {
      await setUp({ holdUntil: 2 });
      proxy.truncateResponse({ fraction: 0.5 });
      const c = client();
      const first = responseFrame(1, 're:p1');
      await c.send(requestFrame(PRODUCE, 1, 'p1'), requestFrame(PRODUCE, 2, 'p2'));
      await c.waitClosed();
      expect(c.raw).toEqual(first.subarray(0, Math.floor(first.length / 2)));
    });

    it('with every and count, takes 1 in N matching responses across connections', async () => {
      await setUp();
      const rule = proxy.truncateResponse({ apiKey: PRODUCE, nth: 2, every: 3, count: Infinity });
      const cut: number[] = [];
      for (let i = 1; i <= 8; i++) {
        const c = client();
        await c.send(requestFrame(METADATA, i, 'not counted'), requestFrame(PRODUCE, i, `p${i}`));
        await until(() => c.ended || c.responses.length === 2, 2000, `answer ${i}`);
        if (c.ended) cut.push(i);
        c.close();
      }
      expect(cut).toEqual([2, 5, 8]);
      expect(rule).toMatchObject({ matched: 8, applied: 3, done: false });
    });
  });

  describe('corrupt', () => {
    it('flips the byte at the given payload offset of the next matching response; the connection stays open', async () => {
      await setUp();
      const rule = proxy.corrupt({ apiKey: PRODUCE, offset: 4 });
      const c = client();
      await c.send(requestFrame(PRODUCE, 1, 'x'));
      await c.waitFor(1);
      await c.send(requestFrame(PRODUCE, 2, 'y'));
      await c.waitFor(2);
      expect(c.responses.map((r) => [r.correlationId, r.payload])).toEqual([
        [1, Buffer.from([0x72 ^ 0xff, 0x65, 0x3a, 0x78]).toString()],
        [2, 're:y'],
      ]);
      expect(proxy.eventsOf('corrupt')).toEqual([expect.objectContaining({ direction: 'response', correlationId: 1, apiKey: PRODUCE, detail: 'payload byte 4 of 8: 0x72 -> 0x8d' })]);
      expect(rule).toMatchObject({ applied: 1, done: true });
    });

    it('without an offset, changes exactly one byte past the correlation id', async () => {
      await setUp();
      proxy.corrupt({ count: 20, xor: 0x01 });
      const c = client();
      for (let i = 1; i <= 20; i++) await c.send(requestFrame(PRODUCE, i, 'abcdefgh'));
      await c.waitFor(20);
      const want = Buffer.concat(Array.from({ length: 20 }, (_, i) => responseFrame(i + 1, 're:abcdefgh')));
      const differing = [...c.raw].flatMap((b, j) => (b !== want[j] ? [j] : []));
      // one byte per frame (19 bytes each), never in the length prefix or the correlation id
      expect(differing.map((j) => Math.floor(j / 19))).toEqual(Array.from({ length: 20 }, (_, i) => i));
      for (const j of differing) expect(j % 19).toBeGreaterThanOrEqual(8);
      const positions = proxy.eventsOf('corrupt').map((e) => Number(/payload byte (\d+)/.exec(e.detail ?? '')?.[1]));
      expect(positions).toHaveLength(20);
      for (const p of positions) expect(p).toBeGreaterThanOrEqual(4);
    });

    it('corrupts a request instead: the broker receives the flipped byte, the response still matches its request', async () => {
      await setUp();
      proxy.corrupt({ direction: 'request', apiKey: PRODUCE, offset: -1 });
      const c = client();
      await c.send(requestFrame(METADATA, 1, 'untouched'), requestFrame(PRODUCE, 2, 'abc'));
      await c.waitFor(2);
      expect(broker.seen.map((s) => s.payload)).toEqual(['untouched', Buffer.from([0x61, 0x62, 0x63 ^ 0xff]).toString()]);
      expect(proxy.eventsOf('corrupt')).toEqual([expect.objectContaining({ direction: 'request', apiKey: PRODUCE, correlationId: 2, detail: 'payload byte 10 of 11: 0x63 -> 0x9c' })]);
      expect(proxy.eventsOf('unmatched-response')).toEqual([]);
    });
  });

  describe('wrongCorrelationId', () => {
    it("gives the response the correlation id of another request in flight ('in-flight', the default)", async () => {
      await setUp({ holdUntil: 2 });
      const rule = proxy.wrongCorrelationId({ apiKey: PRODUCE });
      const c = client();
      await c.send(requestFrame(PRODUCE, 7, 'p7'), requestFrame(PRODUCE, 8, 'p8'));
      await c.waitFor(2);
      expect(c.responses.map((r) => [r.correlationId, r.payload])).toEqual([
        [8, 're:p7'],
        [8, 're:p8'],
      ]);
      expect(proxy.eventsOf('wrong-correlation-id')).toEqual([expect.objectContaining({ correlationId: 7, inFlight: 1, detail: 'rewritten to 8 (of another request in flight)' })]);
      expect(rule).toMatchObject({ applied: 1, done: true });
    });

    it("falls back to an unknown id when nothing else is in flight, and takes 'unknown' or a given id", async () => {
      await setUp();
      proxy.wrongCorrelationId({ count: 1 });
      const c = client();
      await c.send(requestFrame(PRODUCE, 3, 'alone'));
      await c.waitFor(1);
      expect(c.responses[0].correlationId).toBe(3 ^ 0x40000000);
      proxy.wrongCorrelationId({ to: 'unknown' });
      await c.send(requestFrame(PRODUCE, 4, 'x'));
      await c.waitFor(2);
      proxy.wrongCorrelationId({ to: 99 });
      await c.send(requestFrame(PRODUCE, 5, 'y'));
      await c.waitFor(3);
      expect(c.responses.map((r) => r.correlationId)).toEqual([3 ^ 0x40000000, 4 ^ 0x40000000, 99]);
      expect(proxy.eventsOf('wrong-correlation-id').map((e) => e.detail)).toEqual([
        `rewritten to ${3 ^ 0x40000000} (unknown: no other request in flight)`,
        `rewritten to ${4 ^ 0x40000000} (unknown)`,
        'rewritten to 99 (given)',
      ]);
    });
  });

  describe('swapResponses', () => {
    it('delivers the matching response right after the next one on its connection', async () => {
      await setUp({ holdUntil: 3 });
      const rule = proxy.swapResponses({ apiKey: PRODUCE });
      const c = client();
      await c.send(requestFrame(PRODUCE, 1, 'p1'), requestFrame(METADATA, 2, 'm2'), requestFrame(PRODUCE, 3, 'p3'));
      await c.waitFor(3);
      expect(c.responses.map((r) => [r.correlationId, r.payload])).toEqual([
        [2, 're:m2'],
        [1, 're:p1'],
        [3, 're:p3'],
      ]);
      expect(proxy.eventsOf('swap')).toEqual([expect.objectContaining({ correlationId: 1, apiKey: PRODUCE, detail: 'delivered after the response to correlation id 2' })]);
      expect(rule).toMatchObject({ matched: 1, applied: 1, done: true });
    });

    it('lets a held response go alone after holdMs when no other comes, and stays due for the next one', async () => {
      await setUp();
      const rule = proxy.swapResponses({ holdMs: 150 });
      const c = client();
      const sentAt = Date.now();
      await c.send(requestFrame(PRODUCE, 1, 'lonely'));
      await c.waitFor(1);
      expect(c.responses[0].at - sentAt).toBeGreaterThanOrEqual(140);
      expect(proxy.eventsOf('swap-timeout')).toEqual([expect.objectContaining({ correlationId: 1 })]);
      expect(rule).toMatchObject({ applied: 0, done: false });
      rule.remove();
    });
  });

  describe('oversizedFrame', () => {
    it.each([
      [0x7fffffff, 2147483647],
      [0x80000000, -2147483648],
    ])('sends the length prefix %i (%i as int32) instead of the response and keeps the connection open, swallowing later answers', async (length, asInt32) => {
      await setUp();
      const rule = proxy.oversizedFrame({ apiKey: PRODUCE, length, trailerBytes: 8, holdMs: 1500 });
      const c = client();
      await c.send(requestFrame(PRODUCE, 1, 'p1'));
      await until(() => c.raw.length >= 12, 2000, 'the garbage');
      await c.send(requestFrame(PRODUCE, 2, 'p2'));
      await until(() => broker.seen.length === 2, 2000, 'the second request at the broker');
      await sleep(100);
      expect(c.raw.length).toBe(12);
      expect(c.raw.readInt32BE(0)).toBe(asInt32);
      expect(c.ended).toBe(false);
      expect(proxy.eventsOf('oversized-frame')).toEqual([expect.objectContaining({ correlationId: 1, detail: expect.stringContaining(`(${asInt32} as int32) and 8 bytes`) })]);
      await c.waitClosed(5000);
      expect(proxy.eventsOf('close')).toEqual([expect.objectContaining({ detail: 'oversized-frame hold over' })]);
      expect(rule).toMatchObject({ applied: 1, done: true });
    });

    it("records the client's own close when it drops the connection before the hold is over", async () => {
      await setUp();
      proxy.oversizedFrame({ holdMs: 5000 });
      const c = client();
      await c.send(requestFrame(PRODUCE, 1, 'p1'));
      await until(() => c.raw.length >= 4, 2000, 'the length prefix');
      c.close();
      await until(() => proxy.openConnections === 0, 2000, 'the proxy to notice');
      expect(proxy.eventsOf('close')).toEqual([expect.objectContaining({ detail: 'client closed' })]);
    });
  });

  it('throttle paces the bytes of a direction to the given rate, in order, and removing it restores the speed', async () => {
    await setUp();
    const rule = proxy.throttle(4000, { direction: 'response' });
    const c = client();
    const sentAt = Date.now();
    await c.send(requestFrame(PRODUCE, 1, 'a'.repeat(2000)), requestFrame(PRODUCE, 2, 'b'));
    await c.waitFor(2, 5000);
    // 2011 + 9 bytes at 4000 B/s, the first 20 ms piece going at once: about 480 ms
    expect(c.responses[1].at - sentAt).toBeGreaterThanOrEqual(400);
    expect(c.responses.map((r) => [r.correlationId, r.payload.length])).toEqual([
      [1, 2003],
      [2, 4],
    ]);
    expect(broker.seen).toHaveLength(2);
    expect(proxy.eventsOf('throttle')).toEqual([expect.objectContaining({ detail: '4000 B/s, response' })]);
    expect(rule.applied).toBe(2);
    rule.remove();
    const fastAt = Date.now();
    await c.send(requestFrame(PRODUCE, 3, 'a'.repeat(2000)));
    await c.waitFor(3);
    expect(c.responses[2].at - fastAt).toBeLessThan(200);
  });

  it('churn resets every connection, open or new, after a random lifetime in range, until removed', async () => {
    await setUp();
    const open = client();
    await open.send(requestFrame(PRODUCE, 1, 'x'));
    await open.waitFor(1);
    const rule = proxy.churn({ minMs: 100, maxMs: 200 });
    const startedAt = Date.now();
    const later = client();
    await later.send(requestFrame(PRODUCE, 1, 'y'));
    await open.waitClosed();
    await later.waitClosed();
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(95);
    expect(open.error?.code).toBe('ECONNRESET');
    const resets = proxy.eventsOf('churn-reset');
    expect(resets.map((e) => e.connectionId).sort()).toEqual([1, 2]);
    for (const e of resets) expect(Number(/after (\d+) ms/.exec(e.detail ?? '')?.[1])).toBeGreaterThanOrEqual(100);
    expect(rule).toMatchObject({ matched: 2, applied: 2, done: false });
    rule.remove();
    const calm = client();
    await calm.send(requestFrame(PRODUCE, 1, 'z'));
    await calm.waitFor(1);
    await sleep(300);
    expect(calm.ended).toBe(false);
    expect(proxy.eventsOf('churn-reset')).toHaveLength(2);
  });
});
