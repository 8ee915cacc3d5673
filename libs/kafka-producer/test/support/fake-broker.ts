import * as net from 'node:net';
import { ApiVersionsApi, type ApiVersion } from '../../src/protocol/messages/api-versions.generated';
import { writeResponseHeader } from '../../src/protocol/messages/headers';
import { Writer } from '../../src/protocol/primitives/writer';

/**
 * What a {@link FakeBroker} does with the first bytes of each connection:
 * - 'answer': answers every request frame with an ApiVersions response, at the version asked;
 * - 'hang-up': closes the socket, as a SASL listener does with a plaintext ApiVersions;
 * - 'tls-alert': answers with a TLS alert record and ends, as a TLS listener does;
 * - 'silent': accepts and never answers (it reads and drops what comes, so it sees the client close).
 */
export type FakeBrokerBehaviour = 'answer' | 'hang-up' | 'tls-alert' | 'silent';

export interface FakeBrokerOptions {
  /** The APIs the ApiVersions response lists; ApiVersions 0-4 alone unless given. */
  apiKeys?: ApiVersion[];
}

/** A TLS alert record (content type 21, TLS 1.2, fatal, unexpected_message): what a TLS port may send plaintext clients. */
const TLS_ALERT = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x0a]);

const API_VERSIONS_ONLY: ApiVersion[] = [{ apiKey: 18, minVersion: 0, maxVersion: 4 }];

/**
 * A listener on 127.0.0.1 that speaks just enough Kafka framing to answer ApiVersions (or to fail the
 * handshake the ways real listeners do, see {@link FakeBrokerBehaviour}). Counts the sockets it
 * accepted and saw close, can wait for those counts, and can drop every open socket.
 */
export class FakeBroker {
  accepted = 0;
  closed = 0;
  /** The sockets accepted and not closed yet. */
  readonly sockets = new Set<net.Socket>();
  private readonly waiters: Array<() => void> = [];
  private frozen = false;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly behaviour: FakeBrokerBehaviour,
    private readonly apiKeys: ApiVersion[],
  ) {}

  static async start(behaviour: FakeBrokerBehaviour = 'answer', options: FakeBrokerOptions = {}): Promise<FakeBroker> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const broker = new FakeBroker(server, (server.address() as net.AddressInfo).port, behaviour, options.apiKeys ?? API_VERSIONS_ONLY);
    server.on('connection', (socket) => broker.accept(socket));
    return broker;
  }

  /** `127.0.0.1:<port>`, as a bootstrap server. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Resolves once the broker has accepted `count` sockets in total. */
  accepts(count: number): Promise<void> {
    return this.when(() => this.accepted >= count);
  }

  /** Resolves once the broker has seen `count` sockets close in total. */
  closes(count: number): Promise<void> {
    return this.when(() => this.closed >= count);
  }

  /** From now on reads and drops every request, sockets left open: a broker that froze (SIGSTOP, a long pause). */
  freeze(): void {
    this.frozen = true;
  }

  /** Destroys every open socket; the broker goes on accepting new ones. */
  dropAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  async stop(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private when(condition: () => boolean): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (condition()) resolve();
        else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  private changed(): void {
    for (const check of this.waiters.splice(0)) check();
  }

  private accept(socket: net.Socket): void {
    this.accepted++;
    this.sockets.add(socket);
    this.changed();
    socket.on('error', () => {});
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.closed++;
      this.changed();
    });
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      if (this.behaviour === 'silent' || this.frozen) return;
      if (this.behaviour === 'hang-up') {
        socket.destroy();
        return;
      }
      if (this.behaviour === 'tls-alert') {
        socket.end(TLS_ALERT);
        return;
      }
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const frame = buffered.subarray(4, 4 + buffered.readInt32BE(0));
        buffered = buffered.subarray(4 + frame.length);
        socket.write(this.apiVersionsResponse(frame));
      }
    });
  }

  /** The response to a request frame (size prefix removed), in the ApiVersions version it asked for. */
  private apiVersionsResponse(frame: Buffer): Buffer {
    const w = new Writer(128);
    w.int32(0);
    writeResponseHeader(w, 0, frame.readInt32BE(4));
    ApiVersionsApi.encodeResponse(w, { errorCode: 0, apiKeys: this.apiKeys }, frame.readInt16BE(2));
    w.patchInt32(0, w.offset - 4);
    return Buffer.from(w.toBuffer());
  }
}

/** A port on 127.0.0.1 that nothing listens on (bound once, then released). */
export async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
