import * as net from 'node:net';
import { Reader } from '../../kafka-producer/src/protocol/primitives/reader';
import { Writer } from '../../kafka-producer/src/protocol/primitives/writer';
import { decodeMetadataV4, encodeRequest, parseEndpoint, pollUntil, probeApiVersions, probeMetadata } from './probe';

/** A one-shot fake broker: reads one request frame, answers with `respond(apiKey, version, correlationId)`. */
async function fakeBroker(respond: (apiKey: number, version: number, correlationId: number, body: Reader) => Buffer): Promise<{ port: number; requests: Buffer[]; close(): Promise<void> }> {
  const requests: Buffer[] = [];
  const server = net.createServer((socket) => {
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4 || buf.length < 4 + buf.readInt32BE(0)) return;
      const frame = buf.subarray(0, 4 + buf.readInt32BE(0));
      requests.push(frame);
      const r = new Reader(frame, 4);
      const apiKey = r.int16();
      const version = r.int16();
      const correlationId = r.int32();
      r.nullableString();
      socket.end(respond(apiKey, version, correlationId, r));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function frame(correlationId: number, body: (w: Writer) => void): Buffer {
  const w = new Writer();
  w.int32(0).int32(correlationId);
  body(w);
  w.patchInt32(0, w.offset - 4);
  return Buffer.from(w.toBuffer());
}

describe('probe', () => {
  it('encodes request header v1 with a size prefix', () => {
    const bytes = encodeRequest(18, 0, 7, () => undefined);
    const clientId = 'kafka-testing-probe';
    expect(bytes.readInt32BE(0)).toBe(bytes.length - 4);
    expect(bytes.readInt16BE(4)).toBe(18);
    expect(bytes.readInt16BE(6)).toBe(0);
    expect(bytes.readInt32BE(8)).toBe(7);
    expect(bytes.readInt16BE(12)).toBe(clientId.length);
    expect(bytes.subarray(14).toString()).toBe(clientId);
  });

  it('sends ApiVersions v0 and decodes the answer', async () => {
    const broker = await fakeBroker((apiKey, version, cid) => {
      expect([apiKey, version]).toEqual([18, 0]);
      return frame(cid, (w) => w.int16(0).int32(2).int16(0).int16(3).int16(13).int16(18).int16(0).int16(4));
    });
    try {
      const av = await probeApiVersions({ host: '127.0.0.1', port: broker.port });
      expect(av).toEqual({ errorCode: 0, apiKeys: [{ apiKey: 0, minVersion: 3, maxVersion: 13 }, { apiKey: 18, minVersion: 0, maxVersion: 4 }] });
    } finally {
      await broker.close();
    }
  });

  it('asks Metadata v4 without auto-creation and decodes brokers, controller and partitions', async () => {
    const broker = await fakeBroker((apiKey, version, cid, body) => {
      expect([apiKey, version]).toEqual([3, 4]);
      expect(body.int32()).toBe(1);
      expect(body.string()).toBe('t');
      expect(body.bool()).toBe(false); // allow_auto_topic_creation
      return frame(cid, (w) => {
        w.int32(0); // throttle
        w.int32(1).int32(1).string('127.0.0.1').int32(9092).nullableString(null);
        w.nullableString('cluster').int32(1);
        w.int32(1).int16(0).string('t').bool(false);
        w.int32(2);
        w.int16(0).int32(1).int32(1).int32(1).int32(1).int32(1).int32(1);
        w.int16(0).int32(0).int32(-1).int32(1).int32(1).int32(0);
      });
    });
    try {
      const md = await probeMetadata({ host: '127.0.0.1', port: broker.port }, ['t']);
      expect(md.brokers).toEqual([{ nodeId: 1, host: '127.0.0.1', port: 9092, rack: null }]);
      expect(md.clusterId).toBe('cluster');
      expect(md.controllerId).toBe(1);
      // sorted by partition index
      expect(md.topics[0].partitions).toEqual([
        { errorCode: 0, partitionIndex: 0, leaderId: -1, replicaNodes: [1], isrNodes: [] },
        { errorCode: 0, partitionIndex: 1, leaderId: 1, replicaNodes: [1], isrNodes: [1] },
      ]);
    } finally {
      await broker.close();
    }
  });

  it('rejects a response with the wrong correlation id, a refused connection and a silent peer', async () => {
    const wrong = await fakeBroker((_k, _v, cid) => frame(cid + 1, (w) => w.int16(0).int32(0)));
    try {
      await expect(probeApiVersions({ host: '127.0.0.1', port: wrong.port })).rejects.toThrow(/correlation id/);
    } finally {
      await wrong.close();
    }
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      await expect(probeApiVersions({ host: '127.0.0.1', port: (silent.address() as net.AddressInfo).port }, 200)).rejects.toThrow(/no response/);
    } finally {
      silent.close();
    }
    await expect(probeApiVersions({ host: '127.0.0.1', port: 1 }, 1000)).rejects.toThrow();
  });

  it('rejects truncated metadata', () => {
    const w = new Writer();
    w.int32(0).int32(5);
    expect(() => decodeMetadataV4(new Reader(Buffer.from(w.toBuffer())))).toThrow();
  });

  it('parses endpoints', () => {
    expect(parseEndpoint('127.0.0.1:9092')).toEqual({ host: '127.0.0.1', port: 9092 });
    expect(parseEndpoint('[::1]:9092')).toEqual({ host: '::1', port: 9092 });
    expect(() => parseEndpoint('nohost')).toThrow();
    expect(() => parseEndpoint('h:70000')).toThrow();
  });

  it('pollUntil returns the first value, aborts early, and reports the last failure at the deadline', async () => {
    let n = 0;
    await expect(pollUntil('x', async () => (++n >= 3 ? n : undefined), { timeoutMs: 2000, intervalMs: 1 })).resolves.toBe(3);
    await expect(pollUntil('x', async () => undefined, { timeoutMs: 2000, abort: () => 'node exited' })).rejects.toThrow('x: node exited');
    await expect(
      pollUntil(
        'y',
        async () => {
          throw new Error('boom');
        },
        { timeoutMs: 20, intervalMs: 5 },
      ),
    ).rejects.toThrow(/y: not ready after 20 ms \(last: boom\)/);
  });
});
