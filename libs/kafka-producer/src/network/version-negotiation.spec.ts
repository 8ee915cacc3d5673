import * as net from 'node:net';
import { ApiVersionsApi, type ApiVersion } from '../protocol/messages/api-versions.generated';
import { readRequestHeader, writeResponseHeader, type RequestHeader } from '../protocol/messages/headers';
import { MetadataApi } from '../protocol/messages/metadata.generated';
import { Reader } from '../protocol/primitives/reader';
import { Writer } from '../protocol/primitives/writer';
import { BrokerConnection } from './broker-connection';
import { Connection } from './connection';
import { ApiVersionsError, UnsupportedVersionError } from './errors';
import { ApiVersionTable, CLIENT_SOFTWARE_NAME, CLIENT_SOFTWARE_VERSION, negotiateApiVersions } from './version-negotiation';

// ---- a fake broker that speaks ApiVersions (and answers Metadata with an empty cluster) -----------

interface Seen {
  header: RequestHeader;
  body: Record<string, unknown>;
}

interface BrokerBehaviour {
  /** Highest ApiVersions version this broker understands; higher ones get UNSUPPORTED_VERSION in v0. */
  apiVersionsMax: number;
  apiKeys: ApiVersion[];
  /** Overrides the error code of a supported-version answer. */
  errorCode?: number;
  /** Leaves ApiVersions out of the apiKeys of an UNSUPPORTED_VERSION answer. */
  omitOwnRange?: boolean;
}

const brokerApis = (apiVersionsMax: number): ApiVersion[] => [
  { apiKey: 0, minVersion: 3, maxVersion: 12 },
  { apiKey: 3, minVersion: 0, maxVersion: 12 },
  { apiKey: 18, minVersion: 0, maxVersion: apiVersionsMax },
];

class ApiVersionsBroker {
  readonly seen: Seen[] = [];
  private readonly sockets = new Set<net.Socket>();
  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    public behaviour: BrokerBehaviour,
  ) {}

  static async start(behaviour: BrokerBehaviour): Promise<ApiVersionsBroker> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const broker = new ApiVersionsBroker(server, (server.address() as net.AddressInfo).port, behaviour);
    server.on('connection', (s) => broker.accept(s));
    return broker;
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const frame = buffered.subarray(4, 4 + buffered.readInt32BE(0));
        buffered = buffered.subarray(4 + frame.length);
        socket.write(this.answer(frame));
      }
    });
  }

  private answer(frame: Buffer): Buffer {
    const apiKey = frame.readInt16BE(0);
    const version = frame.readInt16BE(2);
    const api = apiKey === 18 ? ApiVersionsApi : MetadataApi;
    const b = this.behaviour;
    // An unknown ApiVersions version: the broker cannot parse the header's flexibility either; it
    // replies in v0 with header v0, as Kafka does.
    if (apiKey === 18 && version > b.apiVersionsMax) {
      const r = new Reader(frame);
      this.seen.push({ header: readRequestHeader(r, 1), body: {} });
      return frameOf(r.buf.readInt32BE(4), 0, (w) =>
        ApiVersionsApi.encodeResponse(
          w,
          { errorCode: 35, apiKeys: b.omitOwnRange ? [] : [{ apiKey: 18, minVersion: 0, maxVersion: b.apiVersionsMax }] },
          0,
        ),
      );
    }
    const r = new Reader(frame);
    const header = readRequestHeader(r, api.requestHeaderVersion(version));
    const body = api.decodeRequest(r, version) as unknown as Record<string, unknown>;
    this.seen.push({ header, body });
    if (apiKey === 18) {
      return frameOf(header.correlationId, 0, (w) =>
        ApiVersionsApi.encodeResponse(w, { errorCode: b.errorCode ?? 0, apiKeys: b.apiKeys, throttleTimeMs: 0 }, version),
      );
    }
    return frameOf(header.correlationId, MetadataApi.responseHeaderVersion(version), (w) =>
      MetadataApi.encodeResponse(w, { brokers: [{ nodeId: 1, host: 'h', port: 1 }], topics: [] }, version),
    );
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function frameOf(correlationId: number, headerVersion: 0 | 1, body: (w: Writer) => void): Buffer {
  const w = new Writer(128);
  w.int32(0);
  writeResponseHeader(w, headerVersion, correlationId);
  body(w);
  w.patchInt32(0, w.offset - 4);
  return Buffer.from(w.toBuffer());
}

let broker: ApiVersionsBroker;
const toClose: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  await Promise.all(toClose.splice(0).map((c) => c.close()));
  await broker?.stop();
});

async function connected(): Promise<Connection> {
  const c = new Connection({ host: '127.0.0.1', port: broker.port, clientId: 'negotiation-test' });
  toClose.push(c);
  await c.connect();
  return c;
}

// ---- tests ------------------------------------------------------------------------------------

describe('negotiateApiVersions', () => {
  it('asks at v4 with the client software name and version, and keeps the broker ranges', async () => {
    broker = await ApiVersionsBroker.start({ apiVersionsMax: 4, apiKeys: brokerApis(4) });
    const table = await negotiateApiVersions(await connected());
    expect(broker.seen).toHaveLength(1);
    expect(broker.seen[0].header.requestApiVersion).toBe(4);
    expect(broker.seen[0].body).toEqual({ clientSoftwareName: CLIENT_SOFTWARE_NAME, clientSoftwareVersion: CLIENT_SOFTWARE_VERSION });
    expect(table.apiVersionsVersion).toBe(4);
    expect(table.range(0)).toEqual({ minVersion: 3, maxVersion: 12 });
    expect(table.range(22)).toBeUndefined();
  });

  it('retries at the broker max after UNSUPPORTED_VERSION', async () => {
    broker = await ApiVersionsBroker.start({ apiVersionsMax: 2, apiKeys: brokerApis(2) });
    const table = await negotiateApiVersions(await connected());
    expect(broker.seen.map((s) => s.header.requestApiVersion)).toEqual([4, 2]);
    expect(table.apiVersionsVersion).toBe(2);
    expect(table.range(3)).toEqual({ minVersion: 0, maxVersion: 12 });
  });

  it('retries at v0 when the UNSUPPORTED_VERSION answer does not list ApiVersions', async () => {
    broker = await ApiVersionsBroker.start({ apiVersionsMax: 0, apiKeys: brokerApis(0), omitOwnRange: true });
    const table = await negotiateApiVersions(await connected());
    expect(broker.seen.map((s) => s.header.requestApiVersion)).toEqual([4, 0]);
    expect(table.apiVersionsVersion).toBe(0);
  });

  it('gives up with ApiVersionsError when the retry is rejected too', async () => {
    broker = await ApiVersionsBroker.start({ apiVersionsMax: 2, apiKeys: brokerApis(2), errorCode: 35 });
    const err = await negotiateApiVersions(await connected()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiVersionsError);
    expect(err).toMatchObject({ code: 'API_VERSIONS_FAILED', errorCode: 35, retriable: false });
    expect(broker.seen.map((s) => s.header.requestApiVersion)).toEqual([4, 2]);
  });

  it('fails with ApiVersionsError on any other error code', async () => {
    broker = await ApiVersionsBroker.start({ apiVersionsMax: 4, apiKeys: brokerApis(4), errorCode: 42 });
    await expect(negotiateApiVersions(await connected())).rejects.toMatchObject({ errorCode: 42, message: expect.stringContaining('127.0.0.1') });
  });

  it('rejects a client software name the broker would refuse, before sending anything', async () => {
    broker = await ApiVersionsBroker.start({ apiVersionsMax: 4, apiKeys: brokerApis(4) });
    await expect(negotiateApiVersions(await connected(), { clientSoftwareName: 'bad name!' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(broker.seen).toHaveLength(0);
  });
});

describe('ApiVersionTable.versionFor', () => {
  const table = new ApiVersionTable('b:9092', [
    { apiKey: 0, minVersion: 3, maxVersion: 12 },
    { apiKey: 3, minVersion: 0, maxVersion: 13 },
    { apiKey: 10, minVersion: 4, maxVersion: 6 },
  ], 4);
  const api = (apiKey: number, minVersion: number, maxVersion: number) => ({ apiKey, name: `Api${apiKey}`, minVersion, maxVersion });

  it('picks min(our max, broker max)', () => {
    expect(table.versionFor(api(0, 3, 13))).toBe(12);
    expect(table.versionFor(api(3, 0, 12))).toBe(12);
    expect(table.versionFor(api(10, 0, 6))).toBe(6);
  });

  it('honours a cap below our max', () => {
    expect(table.versionFor(api(0, 3, 13), 11)).toBe(11);
  });

  it('throws UnsupportedVersionError naming both ranges when they do not overlap', () => {
    let err: unknown;
    try {
      table.versionFor(api(10, 0, 3));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsupportedVersionError);
    expect(err).toMatchObject({ code: 'UNSUPPORTED_VERSION', retriable: false, apiKey: 10, clientRange: { minVersion: 0, maxVersion: 3 }, brokerRange: { minVersion: 4, maxVersion: 6 } });
    expect((err as Error).message).toMatch(/Api10.*v0-3.*b:9092 v4-6/);
    expect(table.supports(api(10, 0, 3))).toBe(false);
  });

  it('throws when the broker does not offer the API, or a cap falls below both minimums', () => {
    expect(() => table.versionFor(api(22, 0, 5))).toThrow(/does not support Api22/);
    expect(() => table.versionFor(api(0, 3, 13), 2)).toThrow(UnsupportedVersionError);
    expect(table.supports(api(0, 3, 13))).toBe(true);
  });
});

describe('BrokerConnection', () => {
  it('connects, negotiates and sends at the negotiated version', async () => {
    broker = await ApiVersionsBroker.start({ apiVersionsMax: 4, apiKeys: brokerApis(4) });
    const bc = await BrokerConnection.open({ host: '127.0.0.1', port: broker.port, nodeId: 7 });
    toClose.push(bc);
    expect(bc.nodeId).toBe(7);
    expect(bc.isConnected).toBe(true);
    expect(bc.versionFor(MetadataApi)).toBe(12);
    const metadata = await bc.send(MetadataApi, { topics: [] });
    expect(metadata.brokers).toEqual([expect.objectContaining({ nodeId: 1, host: 'h', port: 1 })]);
    expect(broker.seen[1].header).toMatchObject({ requestApiKey: 3, requestApiVersion: 12 });
  });

  it('rejects send() for an API the broker lacks, without closing the connection', async () => {
    broker = await ApiVersionsBroker.start({ apiVersionsMax: 4, apiKeys: brokerApis(4).filter((k) => k.apiKey !== 3) });
    const bc = await BrokerConnection.open({ host: '127.0.0.1', port: broker.port });
    toClose.push(bc);
    await expect(bc.send(MetadataApi, { topics: [] })).rejects.toBeInstanceOf(UnsupportedVersionError);
    expect(bc.isConnected).toBe(true);
  });

  it('closes the socket when negotiation fails', async () => {
    broker = await ApiVersionsBroker.start({ apiVersionsMax: 4, apiKeys: brokerApis(4), errorCode: 42 });
    const closed = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if ((broker as unknown as { sockets: Set<net.Socket> }).sockets.size === 0 && broker.seen.length > 0) {
          clearInterval(check);
          resolve();
        }
      }, 5);
    });
    await expect(BrokerConnection.open({ host: '127.0.0.1', port: broker.port })).rejects.toBeInstanceOf(ApiVersionsError);
    await closed;
  });
});
