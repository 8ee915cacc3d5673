import * as net from 'node:net';
import * as tls from 'node:tls';
import * as vm from 'node:vm';
import { closedPort } from '../../test/support/fake-broker';
import { opensslAvailable, selfSignedCertificate } from '../../test/support/test-certificates';
import { ProtocolEncodeError } from '../errors';
import { readRequestHeader, writeResponseHeader, type RequestHeader } from '../protocol/messages/headers';
import type { KafkaApi } from '../protocol/messages/kafka-api';
import { Reader } from '../protocol/primitives/reader';
import { Writer } from '../protocol/primitives/writer';
import { Connection, type ConnectionOptions, type SocketFactoryOptions } from './connection';
import { ATTACH_COPY_THRESHOLD } from './request-encoder';
import { ConnectionError, ConnectionSetupTimeoutError, FrameTooLargeError, NotAuthenticatedError, RequestTimeoutError } from './errors';

// ---- a tiny API and a fake broker -------------------------------------------------------------

interface AddRequest {
  a: number;
  b: number;
}
interface AddResponse {
  sum: number;
  b: number;
}

/** Versions 0-2 use request header v1 / response header v0, versions 3+ the flexible headers. */
const FakeApi: KafkaApi<AddRequest, AddResponse> = {
  apiKey: 18,
  name: 'FakeAdd',
  minVersion: 0,
  maxVersion: 4,
  flexibleVersionsFrom: 3,
  requestHeaderVersion: (v) => (v >= 3 ? 2 : 1),
  responseHeaderVersion: (v) => (v >= 3 ? 1 : 0),
  encodeRequest: (w, m) => void w.int32(m.a).int32(m.b),
  decodeRequest: (r) => ({ a: r.int32(), b: r.int32() }),
  encodeResponse: (w, m) => void w.int32(m.sum).int32(m.b),
  decodeResponse: (r) => ({ sum: r.int32(), b: r.int32() }),
};

interface ReceivedRequest {
  header: RequestHeader;
  headerVersion: 1 | 2;
  /** The body bytes (after the request header). */
  body: Buffer;
  /** The size prefix as sent. */
  size: number;
}

type Handler = (req: ReceivedRequest, socket: net.Socket, broker: FakeBroker) => void;

/** Answers each request with `a + b` unless a test installs another handler. */
const addHandler: Handler = (req, socket) => {
  const r = new Reader(req.body);
  const a = r.int32();
  const b = r.int32();
  socket.write(response(req, (w) => w.int32(a + b).int32(b)));
};

function response(req: ReceivedRequest, body: (w: Writer) => void, correlationId = req.header.correlationId): Buffer {
  const w = new Writer(64);
  w.int32(0);
  writeResponseHeader(w, req.headerVersion === 2 ? 1 : 0, correlationId);
  body(w);
  w.patchInt32(0, w.offset - 4);
  return Buffer.from(w.toBuffer());
}

class FakeBroker {
  readonly requests: ReceivedRequest[] = [];
  readonly sockets: net.Socket[] = [];
  handler: Handler = addHandler;
  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  /** With `tlsOptions`, a TLS listener that speaks the same protocol inside TLS. */
  static async start(tlsOptions?: tls.TlsOptions): Promise<FakeBroker> {
    const server = tlsOptions === undefined ? net.createServer() : tls.createServer(tlsOptions);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const broker = new FakeBroker(server, (server.address() as net.AddressInfo).port);
    server.on(tlsOptions === undefined ? 'connection' : 'secureConnection', (socket: net.Socket) => broker.accept(socket));
    // a client that rejects our certificate makes the server side fail its handshake; expected here
    server.on('tlsClientError', () => {});
    return broker;
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    this.sockets.push(socket);
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const size = buffered.readInt32BE(0);
        const frame = buffered.subarray(4, 4 + size);
        buffered = buffered.subarray(4 + size);
        const headerVersion = frame.readInt16BE(2) >= 3 ? 2 : 1;
        const r = new Reader(frame);
        const header = readRequestHeader(r, headerVersion);
        const req = { header, headerVersion, body: frame.subarray(r.offset), size } as const;
        this.requests.push(req);
        this.handler(req, socket, this);
      }
    });
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

// ---- harness ----------------------------------------------------------------------------------

let broker: FakeBroker;
let connections: Connection[] = [];
const unhandled = jest.fn();
// Jest hands tests a copy of `process` that never sees 'unhandledRejection'; the real one lives in the
// outer context.
const realProcess = vm.runInThisContext('process') as NodeJS.Process;

beforeAll(() => realProcess.on('unhandledRejection', unhandled));
afterAll(() => realProcess.off('unhandledRejection', unhandled));

beforeEach(async () => {
  broker = await FakeBroker.start();
  unhandled.mockClear();
});

afterEach(async () => {
  await Promise.all(connections.map((c) => c.close()));
  connections = [];
  await broker.stop();
  // Give rejected-but-unawaited promises a chance to be reported before checking.
  await tick(5);
  expect(unhandled).not.toHaveBeenCalled();
});

async function open(options: Partial<ConnectionOptions> = {}): Promise<Connection> {
  const c = new Connection({ host: '127.0.0.1', port: broker.port, clientId: 'test-client', ...options });
  connections.push(c);
  await c.connect();
  return c;
}

// ---- tests ------------------------------------------------------------------------------------

describe('Connection', () => {
  it('sends a request header and body in one frame and decodes the response', async () => {
    const c = await open();
    await expect(c.request(FakeApi, 1, { a: 2, b: 3 })).resolves.toEqual({ sum: 5, b: 3 });
    const [req] = broker.requests;
    expect(req.header).toEqual({ requestApiKey: 18, requestApiVersion: 1, correlationId: 0, clientId: 'test-client' });
    expect(req.size).toBe(2 + 2 + 4 + 2 + 'test-client'.length + 8);
    expect(c.requestsSent).toBe(1);
    expect(c.responsesReceived).toBe(1);
    expect(c.bytesSent).toBe(4 + req.size);
    expect(c.bytesReceived).toBe(4 + 4 + 8);
    expect(c.inFlightCount).toBe(0);
  });

  it('uses the flexible request and response headers when the API version asks for them', async () => {
    const c = await open({ clientId: null });
    await expect(c.request(FakeApi, 3, { a: 1, b: 1 })).resolves.toEqual({ sum: 2, b: 1 });
    expect(broker.requests[0].headerVersion).toBe(2);
    expect(broker.requests[0].header.clientId).toBeNull();
    expect(broker.requests[0].body).toEqual(Buffer.from([0, 0, 0, 1, 0, 0, 0, 1]));
  });

  it('pipelines many requests and matches the in-order responses', async () => {
    const c = await open();
    // Answer in bursts of 10 responses written at once, so several frames share one chunk.
    let batch: Buffer[] = [];
    broker.handler = (req, socket) => {
      const r = new Reader(req.body);
      const a = r.int32();
      const b = r.int32();
      batch.push(response(req, (w) => w.int32(a + b).int32(b)));
      if (batch.length === 10) {
        socket.write(Buffer.concat(batch));
        batch = [];
      }
    };
    const results = Array.from({ length: 200 }, (_, i) => c.request(FakeApi, i % 5, { a: i, b: 1000 }));
    expect(c.inFlightCount).toBe(200);
    const values = await Promise.all(results);
    values.forEach((v, i) => expect(v).toEqual({ sum: i + 1000, b: 1000 }));
    expect(broker.requests.map((r) => r.header.correlationId)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(c.inFlightCount).toBe(0);
  });

  it('reassembles a response delivered one byte at a time', async () => {
    const c = await open();
    broker.handler = (req, socket) => {
      const bytes = response(req, (w) => w.int32(42).int32(7));
      void (async () => {
        for (const byte of bytes) {
          socket.write(Buffer.from([byte]));
          await tick(1);
        }
      })();
    };
    await expect(c.request(FakeApi, 3, { a: 0, b: 0 })).resolves.toEqual({ sum: 42, b: 7 });
  });

  it('handles two responses in one chunk, and frames straddling chunks', async () => {
    const c = await open();
    const pending: Buffer[] = [];
    broker.handler = (req, socket) => {
      pending.push(response(req, (w) => w.int32(req.header.correlationId).int32(0)));
      if (pending.length === 2) socket.write(Buffer.concat(pending.splice(0)));
      if (pending.length === 1 && req.header.correlationId === 2) {
        // third response: write it in two pieces, the first carrying only the size and half the header
        const bytes = pending.splice(0)[0];
        socket.write(bytes.subarray(0, 6));
        setTimeout(() => socket.write(bytes.subarray(6)), 5);
      }
    };
    const results = await Promise.all([0, 1, 2].map((i) => c.request(FakeApi, 0, { a: i, b: 0 })));
    expect(results.map((r) => r.sum)).toEqual([0, 1, 2]);
  });

  it('reassembles a large response spread over many chunks, with the next frame in the same chunk', async () => {
    const c = await open();
    const big = Buffer.alloc(3 * 1024 * 1024, 0xab);
    const decodeBig = (r: Reader): Buffer => Buffer.from(r.rawBytes(r.remaining));
    let held: Buffer | null = null;
    broker.handler = (req, socket) => {
      if (req.header.correlationId === 0) {
        held = response(req, (w) => w.raw(big));
        return;
      }
      const second = response(req, (w) => w.int32(9));
      const first = held as unknown as Buffer;
      // the first frame in two writes; the second write also carries the whole next frame
      socket.write(first.subarray(0, 1000));
      setTimeout(() => socket.write(Buffer.concat([first.subarray(1000), second])), 5);
    };
    const a = c.requestRaw(FakeApi, 0, (w) => w.int32(0), decodeBig);
    const b = c.requestRaw(FakeApi, 0, (w) => w.int32(0), (r) => r.int32());
    // Buffer.equals: jest's deep equality walks a 3 MiB buffer byte by byte, very slowly
    expect((await a).equals(big)).toBe(true);
    await expect(b).resolves.toBe(9);
  });

  it('rejects a response frame larger than maxResponseSize and closes the connection', async () => {
    const c = await open({ maxResponseSize: 1024 });
    const closed = jest.fn();
    c.onClose(closed);
    broker.handler = (_req, socket) => {
      const header = Buffer.alloc(8);
      header.writeInt32BE(2048, 0);
      socket.write(header);
    };
    const first = c.request(FakeApi, 0, { a: 1, b: 1 });
    const second = c.request(FakeApi, 0, { a: 1, b: 1 });
    const err = await rejectionOf(first);
    expect(err).toBeInstanceOf(FrameTooLargeError);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({ code: 'FRAME_TOO_LARGE', retriable: true, size: 2048, maxSize: 1024 });
    expect((err as Error).message).toContain(`127.0.0.1:${broker.port}`);
    await expect(second).rejects.toBe(err);
    expect(c.state).toBe('closed');
    expect(closed).toHaveBeenCalledTimes(1);
    expect(closed).toHaveBeenCalledWith(err);
  });

  it('rejects a negative frame size', async () => {
    const c = await open();
    broker.handler = (_req, socket) => socket.write(Buffer.from([0xff, 0xff, 0xff, 0xfe]));
    await expect(c.request(FakeApi, 0, { a: 1, b: 1 })).rejects.toMatchObject({ code: 'FRAME_TOO_LARGE', size: -2 });
  });

  it('fails every pending request promptly when the broker closes the connection', async () => {
    const c = await open();
    broker.handler = (req, socket) => {
      if (req.header.correlationId === 2) socket.end();
    };
    const results = [0, 1, 2].map((i) => c.request(FakeApi, 0, { a: i, b: 0 }));
    const started = Date.now();
    const errors = await Promise.all(results.map(rejectionOf));
    expect(Date.now() - started).toBeLessThan(1000);
    for (const err of errors) {
      expect(err).toBeInstanceOf(ConnectionError);
      expect(err).toMatchObject({ code: 'CONNECTION_CLOSED', retriable: true, broker: `127.0.0.1:${broker.port}` });
    }
    // later requests fail at once with the same reason
    await expect(c.request(FakeApi, 0, { a: 1, b: 1 })).rejects.toBe(errors[0]);
    expect(c.closeReason).toBe(errors[0]);
  });

  it('reports a connection reset as NETWORK_EXCEPTION', async () => {
    const c = await open();
    broker.handler = (_req, socket) => socket.resetAndDestroy();
    const err = await rejectionOf(c.request(FakeApi, 0, { a: 1, b: 1 }));
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({ code: 'NETWORK_EXCEPTION', retriable: true });
    expect((err as Error).cause).toMatchObject({ code: 'ECONNRESET' });
  });

  it('times out a request, closes the connection and fails the rest with a ConnectionError', async () => {
    const c = await open({ requestTimeoutMs: 100 });
    broker.handler = () => {};
    const closed = jest.fn();
    c.onClose(closed);
    const first = c.request(FakeApi, 0, { a: 1, b: 1 });
    await tick(30);
    const second = c.request(FakeApi, 0, { a: 1, b: 1 }, { timeoutMs: 5000 });
    const started = Date.now();
    const err = await rejectionOf(first);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(err).toBeInstanceOf(RequestTimeoutError);
    expect(err).toMatchObject({ code: 'REQUEST_TIMED_OUT', retriable: true, apiKey: 18, correlationId: 0, timeoutMs: 100 });
    const err2 = await rejectionOf(second);
    expect(err2).toBeInstanceOf(ConnectionError);
    expect((err2 as ConnectionError).cause).toBeInstanceOf(RequestTimeoutError);
    expect(c.state).toBe('closed');
    expect(closed).toHaveBeenCalledTimes(1);
    // the broker sees the connection go away
    await tick(20);
    expect(broker.sockets[0].destroyed || broker.sockets[0].readableEnded).toBe(true);
  });

  it('honours a per-request timeout shorter than the earliest one already armed', async () => {
    const c = await open({ requestTimeoutMs: 10_000 });
    broker.handler = () => {};
    const long = c.request(FakeApi, 0, { a: 1, b: 1 });
    const short = c.request(FakeApi, 0, { a: 1, b: 1 }, { timeoutMs: 50 });
    const started = Date.now();
    await expect(short).rejects.toBeInstanceOf(RequestTimeoutError);
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(long).rejects.toMatchObject({ code: 'NETWORK_EXCEPTION' });
  });

  it('does not time out requests that are answered in time', async () => {
    const c = await open({ requestTimeoutMs: 50 });
    for (let i = 0; i < 5; i++) {
      await c.request(FakeApi, 0, { a: i, b: 0 });
      await tick(20);
    }
    await tick(60);
    expect(c.state).toBe('ready');
  });

  it('treats a correlation id mismatch as fatal for the connection', async () => {
    const c = await open();
    broker.handler = (req, socket) => socket.write(response(req, (w) => w.int32(0).int32(0), req.header.correlationId + 7));
    const first = c.request(FakeApi, 0, { a: 1, b: 1 });
    const second = c.request(FakeApi, 0, { a: 1, b: 1 });
    const err = await rejectionOf(first);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({ code: 'CORRELATION_ID_MISMATCH' });
    expect((err as Error).message).toMatch(/correlation id 7 .*\(0, api key 18\)/);
    await expect(second).rejects.toBe(err);
    expect(c.state).toBe('closed');
  });

  it('treats a response with nothing in flight as fatal', async () => {
    const c = await open();
    const closed = new Promise((resolve) => c.onClose(resolve));
    broker.sockets[0].write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 1]));
    await expect(closed).resolves.toMatchObject({ code: 'UNEXPECTED_RESPONSE' });
  });

  it('closes the connection when a response cannot be decoded', async () => {
    const c = await open();
    broker.handler = (req, socket) => socket.write(response(req, (w) => w.int16(1)));
    const err = await rejectionOf(c.request(FakeApi, 0, { a: 1, b: 1 }));
    expect(err).toMatchObject({ code: 'RESPONSE_DECODE', retriable: true });
    expect((err as Error).cause).toMatchObject({ code: 'PROTOCOL_DECODE' });
    expect(c.state).toBe('closed');
  });

  it('resolves a response-less request once flushed, without keeping a correlation slot', async () => {
    const c = await open();
    broker.handler = (req, socket) => {
      if (req.header.correlationId === 1) addHandler(req, socket, broker);
    };
    const noResponse = c.request(FakeApi, 0, { a: 1, b: 1 }, { expectResponse: false });
    expect(c.inFlightCount).toBe(1);
    await expect(noResponse).resolves.toBeUndefined();
    expect(c.inFlightCount).toBe(0);
    // the next request gets the next correlation id and its own response
    await expect(c.request(FakeApi, 0, { a: 2, b: 2 })).resolves.toEqual({ sum: 4, b: 2 });
    await tick(10);
    expect(broker.requests.map((r) => r.header.correlationId)).toEqual([0, 1]);
  });

  it('splices attached buffers into the request without copying the large ones', async () => {
    const c = await open();
    const large = Buffer.alloc(ATTACH_COPY_THRESHOLD * 4, 0x5a);
    const small = Buffer.from('small');
    broker.handler = (req, socket) => socket.write(response(req, (w) => w.int32(req.body.length)));
    const writeSpy = jest.spyOn(net.Socket.prototype, 'write');
    const bodyLen = await c.requestRaw(
      FakeApi,
      0,
      (w, frame) => {
        w.int32(large.length);
        frame.attach(large);
        w.int32(small.length);
        frame.attach(small);
        w.int32(large.length);
        frame.attach(large);
      },
      (r) => r.int32(),
      { timeoutMs: 5000 },
    );
    const chunks = writeSpy.mock.calls.map((call) => call[0] as Buffer);
    writeSpy.mockRestore();
    expect(chunks.filter((chunk) => chunk === large)).toHaveLength(2);
    expect(chunks.some((chunk) => chunk === small)).toBe(false);
    const expected = Buffer.concat([
      Buffer.from([0, 0, 0x80, 0]),
      large,
      Buffer.from([0, 0, 0, 5]),
      small,
      Buffer.from([0, 0, 0x80, 0]),
      large,
    ]);
    const req = broker.requests[0];
    expect(req.body.equals(expected)).toBe(true);
    expect(req.size).toBe(2 + 2 + 4 + 2 + 'test-client'.length + expected.length);
    expect(c.bytesSent).toBe(4 + req.size);
    expect(bodyLen).toBe(expected.length);
  });

  it('flush-resolves a response-less request whose body ends with an attached buffer', async () => {
    const c = await open();
    broker.handler = () => {};
    const large = Buffer.alloc(ATTACH_COPY_THRESHOLD, 1);
    await expect(
      c.requestRaw(FakeApi, 0, (_w, frame) => frame.attach(large), () => 0, { expectResponse: false }),
    ).resolves.toBeUndefined();
    await tick(20);
    expect(broker.requests[0].body.equals(large)).toBe(true);
    expect(c.inFlightCount).toBe(0);
  });

  it('rejects a request whose body cannot be encoded and keeps the connection', async () => {
    const c = await open();
    const err = await rejectionOf(
      c.requestRaw(FakeApi, 0, () => {
        throw new ProtocolEncodeError('bad field');
      }, () => 0),
    );
    expect(err).toBeInstanceOf(ProtocolEncodeError);
    expect(c.state).toBe('ready');
    await expect(c.request(FakeApi, 0, { a: 1, b: 2 })).resolves.toEqual({ sum: 3, b: 2 });
  });

  it('wraps correlation ids around before the reserved top of the int32 range', async () => {
    const c = await open({ initialCorrelationId: 0x7fffffff - 10 });
    for (let i = 0; i < 5; i++) await c.request(FakeApi, 0, { a: i, b: 0 });
    expect(broker.requests.map((r) => r.header.correlationId)).toEqual([0x7ffffff5, 0x7ffffff6, 0x7ffffff7, 0, 1]);
  });

  it('signals backpressure and resolves waitForDrain once the socket drains', async () => {
    const c = await open({ socketWriteHighWaterMark: 64 * 1024 });
    broker.handler = () => {};
    broker.sockets[0].pause();
    const payload = Buffer.alloc(1024 * 1024);
    const sends: Promise<unknown>[] = [];
    // Until the kernel's buffers are full, writes complete synchronously and nothing stays queued.
    for (let i = 0; i < 256 && c.bufferedBytes === 0; i++) {
      sends.push(c.requestRaw(FakeApi, 0, (_w, frame) => frame.attach(payload), () => 0, { expectResponse: false }));
    }
    expect(c.needsDrain).toBe(true);
    expect(c.bufferedBytes).toBeGreaterThan(64 * 1024);
    let drained = false;
    const wait = c.waitForDrain().then(() => (drained = true));
    expect(c.waitForDrain()).toBe(c.waitForDrain());
    await tick(20);
    expect(drained).toBe(false);
    broker.sockets[0].resume();
    await wait;
    expect(c.needsDrain).toBe(false);
    await Promise.all(sends);
  });

  it('does not report backpressure for a single request below the default 1 MiB high-water mark', async () => {
    const c = await open();
    broker.handler = () => {};
    broker.sockets[0].pause();
    const payload = Buffer.alloc(512 * 1024);
    const sent = c.requestRaw(FakeApi, 0, (_w, frame) => frame.attach(payload), () => 0, { expectResponse: false });
    expect(c.needsDrain).toBe(false);
    await expect(c.waitForDrain()).resolves.toBeUndefined();
    broker.sockets[0].resume();
    await sent;
  });

  it('resolves drain waiters when the connection closes', async () => {
    const c = await open({ socketWriteHighWaterMark: 1024 });
    broker.handler = () => {};
    broker.sockets[0].pause();
    const payload = Buffer.alloc(1024 * 1024);
    void c.requestRaw(FakeApi, 0, (_w, frame) => frame.attach(payload), () => 0, { expectResponse: false });
    expect(c.needsDrain).toBe(true);
    const wait = c.waitForDrain();
    await c.close();
    await expect(wait).resolves.toBeUndefined();
  });

  it('rejects pending requests with CONNECTION_CLOSED on close(), and close() is idempotent', async () => {
    const c = await open();
    broker.handler = () => {};
    const closed = jest.fn();
    c.onClose(closed);
    const p = c.request(FakeApi, 0, { a: 1, b: 1 });
    const flushP = c.request(FakeApi, 0, { a: 1, b: 1 }, { expectResponse: false });
    await Promise.all([c.close(), c.close()]);
    await expect(p).rejects.toMatchObject({ code: 'CONNECTION_CLOSED', message: expect.stringContaining('closed by the client') });
    // flushed before close, or rejected by it: either way it settles
    await flushP.catch(() => undefined);
    expect(closed).toHaveBeenCalledTimes(1);
    expect(c.state).toBe('closed');
  });

  it('does not surface rejections of requests nobody awaits', async () => {
    const c = await open();
    broker.handler = (req, socket) => {
      if (req.header.correlationId === 3) socket.destroy();
    };
    for (let i = 0; i < 4; i++) void c.request(FakeApi, 0, { a: i, b: 0 });
    void c.request(FakeApi, 0, { a: 1, b: 1 }, { expectResponse: false });
    await new Promise((resolve) => c.onClose(resolve));
    void c.request(FakeApi, 0, { a: 1, b: 1 });
    await tick(20);
    // afterEach asserts the unhandledRejection spy saw nothing
  });

  it('a close listener that throws does not stop the others', async () => {
    const c = await open();
    const second = jest.fn();
    c.onClose(() => {
      throw new Error('listener bug');
    });
    c.onClose(second);
    const unsubscribed = jest.fn();
    c.onClose(unsubscribed)();
    const uncaught = jest.fn();
    const queueSpy = jest.spyOn(globalThis, 'queueMicrotask').mockImplementation((fn) => {
      try {
        fn();
      } catch (err) {
        uncaught(err);
      }
    });
    await c.close();
    queueSpy.mockRestore();
    expect(second).toHaveBeenCalledTimes(1);
    expect(unsubscribed).not.toHaveBeenCalled();
    expect(uncaught).toHaveBeenCalledWith(expect.objectContaining({ message: 'listener bug' }));
  });

  it('rejects requests before connect() with NOT_CONNECTED', async () => {
    const c = new Connection({ host: '127.0.0.1', port: broker.port });
    connections.push(c);
    await expect(c.request(FakeApi, 0, { a: 1, b: 1 })).rejects.toMatchObject({ code: 'NOT_CONNECTED', retriable: true });
  });

  it('fails connect() with CONNECT_FAILED when nothing listens', async () => {
    const port = await closedPort();
    const c = new Connection({ host: '127.0.0.1', port });
    connections.push(c);
    const err = await rejectionOf(c.connect());
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({ code: 'CONNECT_FAILED', retriable: true, broker: `127.0.0.1:${port}` });
    expect((err as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect(c.state).toBe('closed');
  });

  it('fails connect() with ConnectionSetupTimeoutError when the connection is not established in time', async () => {
    // A socket that never connects stands in for an unreachable host.
    const c = new Connection({ host: '127.0.0.1', port: broker.port, socketConnectionSetupTimeoutMs: 50, socketFactory: () => new net.Socket() });
    connections.push(c);
    const err = await rejectionOf(c.connect());
    expect(err).toBeInstanceOf(ConnectionSetupTimeoutError);
    expect(err).toMatchObject({ code: 'CONNECTION_SETUP_TIMEOUT', retriable: true, timeoutMs: 50 });
  });

  it('formats IPv6 addresses in brackets', () => {
    expect(new Connection({ host: '::1', port: 9092 }).address).toBe('[::1]:9092');
  });
});

// ---- connection states and the handshake gate ---------------------------------------------------

/** Same wire format under the keys of Metadata, SaslHandshake and SaslAuthenticate. */
const MetadataLike: KafkaApi<AddRequest, AddResponse> = { ...FakeApi, apiKey: 3, name: 'FakeMetadata' };
const SaslHandshakeLike: KafkaApi<AddRequest, AddResponse> = { ...FakeApi, apiKey: 17, name: 'FakeSaslHandshake' };
const SaslAuthenticateLike: KafkaApi<AddRequest, AddResponse> = { ...FakeApi, apiKey: 36, name: 'FakeSaslAuthenticate' };

describe('Connection states', () => {
  it('goes idle, connecting, then ready for a bare transport, and closed at the end', async () => {
    const c = new Connection({ host: '127.0.0.1', port: broker.port });
    connections.push(c);
    expect(c.state).toBe('idle');
    const connecting = c.connect();
    expect(c.state).toBe('connecting');
    await connecting;
    expect(c.state).toBe('ready');
    expect(c.isConnected).toBe(true);
    await c.close();
    expect(c.state).toBe('closed');
    expect(c.isConnected).toBe(false);
  });

  it('stays authenticating after connect() when its owner runs a handshake, until markReady()', async () => {
    const c = await open({ handshake: true });
    expect(c.state).toBe('authenticating');
    expect(c.isConnected).toBe(false);
    c.markReady();
    expect(c.state).toBe('ready');
    expect(c.isConnected).toBe(true);
    await expect(c.request(MetadataLike, 0, { a: 1, b: 2 })).resolves.toEqual({ sum: 3, b: 2 });
  });

  it('while authenticating, rejects any API but ApiVersions and SASL at once, writing nothing', async () => {
    const c = await open({ handshake: true });
    const writeSpy = jest.spyOn(net.Socket.prototype, 'write');
    let err: unknown;
    try {
      err = await rejectionOf(c.request(MetadataLike, 0, { a: 1, b: 1 }));
      expect(writeSpy).not.toHaveBeenCalled();
    } finally {
      writeSpy.mockRestore();
    }
    expect(err).toBeInstanceOf(NotAuthenticatedError);
    expect(err).toMatchObject({ code: 'NOT_AUTHENTICATED', apiKey: 3, retriable: true });
    // the refusal costs the connection nothing: the handshake goes on
    expect(c.state).toBe('authenticating');
    for (const api of [FakeApi, SaslHandshakeLike, SaslAuthenticateLike]) {
      await expect(c.request(api, 0, { a: 1, b: 1 })).resolves.toEqual({ sum: 2, b: 1 });
    }
    expect(broker.requests.map((r) => r.header.requestApiKey)).toEqual([18, 17, 36]);
  });

  it('markReady() on a connection that closed meanwhile throws the close reason', async () => {
    const c = await open({ handshake: true });
    await c.close();
    let thrown: unknown;
    try {
      c.markReady();
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBe(c.closeReason);
    expect(thrown).toMatchObject({ code: 'CONNECTION_CLOSED' });
  });
});

describe('Connection socket factory', () => {
  it('opens its socket through the factory, passing host, port and socket settings', async () => {
    const asked: SocketFactoryOptions[] = [];
    const c = await open({
      socketWriteHighWaterMark: 4096,
      socketFactory: (o) => {
        asked.push(o);
        return net.createConnection({ host: o.host, port: o.port });
      },
    });
    expect(asked).toEqual([{ host: '127.0.0.1', port: broker.port, noDelay: true, keepAlive: true, writableHighWaterMark: 4096 }]);
    await expect(c.request(FakeApi, 0, { a: 4, b: 5 })).resolves.toEqual({ sum: 9, b: 5 });
  });

  it('fails connect() with CONNECT_FAILED when the factory throws', async () => {
    const c = new Connection({
      host: '127.0.0.1',
      port: broker.port,
      socketFactory: () => {
        throw new Error('no sockets today');
      },
    });
    connections.push(c);
    await expect(c.connect()).rejects.toMatchObject({ code: 'CONNECT_FAILED', message: expect.stringContaining('no sockets today') });
    expect(c.state).toBe('closed');
  });
});

// ---- TLS ------------------------------------------------------------------------------------------

// The certificate is made with openssl at test time (nothing secret is committed); without openssl
// there is no TLS server to talk to, so these cases are skipped rather than failed.
const describeWithOpenssl = opensslAvailable() ? describe : describe.skip;

describeWithOpenssl('Connection over TLS', () => {
  let certificate: { key: Buffer; cert: Buffer };
  let tlsBroker: FakeBroker;

  beforeAll(() => {
    certificate = selfSignedCertificate();
  });
  beforeEach(async () => {
    tlsBroker = await FakeBroker.start({ key: certificate.key, cert: certificate.cert });
  });
  afterEach(async () => {
    await Promise.all(connections.map((c) => c.close()));
    await tlsBroker.stop();
  });

  it('counts as established at secureConnect, not at the TCP connect, and speaks Kafka inside TLS', async () => {
    const seen: string[] = [];
    const c: Connection = new Connection({
      host: '127.0.0.1',
      port: tlsBroker.port,
      handshake: true,
      socketFactory: (o) => {
        const socket = tls.connect({ host: o.host, port: o.port, ca: certificate.cert });
        socket.once('connect', () => seen.push(`tcp connect while ${c.state}`));
        socket.once('secureConnect', () => seen.push(`secureConnect while ${c.state}`));
        return socket;
      },
    });
    connections.push(c);
    await c.connect();
    expect(seen).toEqual(['tcp connect while connecting', 'secureConnect while connecting']);
    expect(c.state).toBe('authenticating');
    c.markReady();
    await expect(c.request(FakeApi, 1, { a: 20, b: 22 })).resolves.toEqual({ sum: 42, b: 22 });
    expect(tlsBroker.requests).toHaveLength(1);
  });

  it("fails with a non-retriable TLS_HANDSHAKE_FAILED when the broker's certificate does not verify", async () => {
    // no `ca`: the self-signed certificate is not trusted
    const c = new Connection({ host: '127.0.0.1', port: tlsBroker.port, socketFactory: (o) => tls.connect({ host: o.host, port: o.port }) });
    connections.push(c);
    const err = await rejectionOf(c.connect());
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({
      code: 'TLS_HANDSHAKE_FAILED',
      retriable: false,
      message: expect.stringContaining('certificate did not verify'),
      cause: expect.objectContaining({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
    });
    expect(c.state).toBe('closed');
  });

  it('fails with a non-retriable TLS_HANDSHAKE_FAILED naming a plaintext port when the peer does not speak TLS (a setting, not a transient fault)', async () => {
    const accepted: net.Socket[] = [];
    const plain = net.createServer((socket) => {
      accepted.push(socket);
      socket.on('error', () => {});
      socket.end('this is not TLS\n');
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const port = (plain.address() as net.AddressInfo).port;
      const c = new Connection({ host: '127.0.0.1', port, socketFactory: (o) => tls.connect({ host: o.host, port: o.port }) });
      connections.push(c);
      const err = await rejectionOf(c.connect());
      expect(err).toMatchObject({ code: 'TLS_HANDSHAKE_FAILED', retriable: false, message: expect.stringContaining('probably a plaintext listener') });
    } finally {
      for (const socket of accepted) socket.destroy();
      await new Promise<void>((resolve) => plain.close(() => resolve()));
    }
  });
});

describe('TLS failures: final or retriable', () => {
  /** A TLS socket that fails at once with an OpenSSL error of `code`, as Node reports it. */
  function failingTls(code: string): () => net.Socket {
    return () => {
      const socket = new tls.TLSSocket(new net.Socket());
      setImmediate(() => socket.emit('error', Object.assign(new Error(`openssl says ${code}`), { code })));
      return socket;
    };
  }

  it.each([
    // the broker refusing our client certificate, in OpenSSL 3.0 (Node 20) and 3.5 (Node 24) naming
    ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', false],
    ['ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE', false],
    ['ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN', false],
    ['ERR_SSL_SSL/TLS_ALERT_CERTIFICATE_UNKNOWN', false],
    ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', false],
    ['ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', false],
    ['ERR_SSL_WRONG_VERSION_NUMBER', false],
    // the network or a broker going down: worth another attempt
    ['ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC', true],
    ['ERR_SSL_UNEXPECTED_EOF_WHILE_READING', true],
    ['ECONNRESET', true],
  ])('%s: retriable %s', async (code, retriable) => {
    const c = new Connection({ host: '127.0.0.1', port: 1, socketFactory: failingTls(code) });
    await expect(c.connect()).rejects.toMatchObject({ code: code === 'ECONNRESET' ? 'CONNECT_FAILED' : 'TLS_HANDSHAKE_FAILED', retriable });
    await c.close();
  });
});
