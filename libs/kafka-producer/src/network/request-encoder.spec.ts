import { readRequestHeader } from '../protocol/messages/headers';
import { Reader } from '../protocol/primitives/reader';
import { ATTACH_COPY_THRESHOLD, encodeRequest, writeRequest, type RequestSocket } from './request-encoder';

const header = { headerVersion: 2 as const, apiKey: 0, apiVersion: 9, correlationId: 41, clientId: 'enc' };

/** Records what a socket would be asked to write, and whether it was corked at the time. */
function recordingSocket() {
  const writes: Array<{ chunk: Buffer; corked: boolean; callback: boolean }> = [];
  let corked = 0;
  const socket: RequestSocket = {
    cork: () => void corked++,
    uncork: () => void corked--,
    write: ((chunk: Buffer, cb?: unknown) => {
      writes.push({ chunk, corked: corked > 0, callback: typeof cb === 'function' });
      return true;
    }) as RequestSocket['write'],
  };
  return { socket, writes };
}

describe('encodeRequest', () => {
  it('writes the size prefix, the request header and the body', () => {
    const req = encodeRequest(header, (w) => void w.int32(7));
    expect(req.attachments).toEqual([]);
    expect(req.totalBytes).toBe(req.bytes.length);
    expect(req.bytes.readInt32BE(0)).toBe(req.bytes.length - 4);
    const r = new Reader(req.bytes, 4, req.bytes.length);
    expect(readRequestHeader(r, 2)).toEqual({ requestApiKey: 0, requestApiVersion: 9, correlationId: 41, clientId: 'enc' });
    expect(r.int32()).toBe(7);
  });

  it('copies small attached buffers, references large ones, and counts both in the size prefix', () => {
    const small = Buffer.alloc(ATTACH_COPY_THRESHOLD - 1, 1);
    const large = Buffer.alloc(ATTACH_COPY_THRESHOLD, 2);
    const req = encodeRequest(header, (w, frame) => {
      frame.attach(small);
      w.int8(9);
      frame.attach(large);
    });
    expect(req.attachments).toHaveLength(1);
    expect(req.attachments[0]).toBe(large);
    expect(req.attachOffsets).toEqual([req.bytes.length]);
    expect(req.totalBytes).toBe(req.bytes.length + large.length);
    expect(req.bytes.readInt32BE(0)).toBe(req.totalBytes - 4);
  });

  it('refuses attach() once the body encoder has returned', () => {
    let kept: ((b: Buffer) => void) | null = null;
    encodeRequest(header, (_w, frame) => (kept = frame.attach));
    expect(() => kept?.(Buffer.alloc(1))).toThrow(/outside of encodeBody/);
  });

  it('passes on what the body encoder throws', () => {
    expect(() =>
      encodeRequest(header, () => {
        throw new Error('bad body');
      }),
    ).toThrow('bad body');
  });
});

describe('writeRequest', () => {
  it('writes a request without attachments as one chunk', () => {
    const { socket, writes } = recordingSocket();
    const req = encodeRequest(header, (w) => void w.int32(1));
    writeRequest(socket, req, () => undefined);
    expect(writes).toEqual([{ chunk: req.bytes, corked: false, callback: true }]);
  });

  it('interleaves Writer slices and attached buffers while corked, the flush callback on the last chunk', () => {
    const { socket, writes } = recordingSocket();
    const a = Buffer.alloc(ATTACH_COPY_THRESHOLD, 0xaa);
    const b = Buffer.alloc(ATTACH_COPY_THRESHOLD, 0xbb);
    const req = encodeRequest(header, (w, frame) => {
      frame.attach(a);
      frame.attach(b);
      w.int32(5);
    });
    writeRequest(socket, req, () => undefined);
    expect(writes.every((w) => w.corked)).toBe(true);
    expect(writes.map((w) => w.callback)).toEqual([false, false, false, true]);
    expect(writes[1].chunk).toBe(a);
    expect(writes[2].chunk).toBe(b);
    expect(Buffer.concat(writes.map((w) => w.chunk)).equals(Buffer.concat([req.bytes.subarray(0, req.attachOffsets[0]), a, b, req.bytes.subarray(req.attachOffsets[0])]))).toBe(true);
  });

  it('puts the flush callback on an attached buffer that ends the request', () => {
    const { socket, writes } = recordingSocket();
    const tail = Buffer.alloc(ATTACH_COPY_THRESHOLD, 1);
    writeRequest(socket, encodeRequest(header, (_w, frame) => frame.attach(tail)), () => undefined);
    expect(writes.map((w) => w.callback)).toEqual([false, true]);
    expect(writes[1].chunk).toBe(tail);
  });
});
