import type * as net from 'node:net';
import { ProtocolEncodeError } from '../errors';
import { writeRequestHeader } from '../protocol/messages/headers';
import { Writer } from '../protocol/primitives/writer';

/**
 * Attached buffers at least this large are handed to the socket as their own chunk (one more iovec in
 * a writev); smaller ones are cheaper to copy into the request Writer than to queue as a chunk.
 */
export const ATTACH_COPY_THRESHOLD = 8 * 1024;

const INT32_MAX = 0x7fffffff;

/**
 * Handed to a body encoder next to its Writer, so it can splice pre-built byte ranges (record batches)
 * into the request at the current position without copying them into the Writer. The request's size
 * prefix covers them; they are referenced, not copied, until the request settles, so the caller must
 * not reuse them before that. `attach` may be passed around unbound.
 */
export interface RequestFrame {
  attach(bytes: Buffer): void;
}

export type BodyEncoder = (w: Writer, frame: RequestFrame) => void;

export interface RequestHeaderFields {
  readonly headerVersion: 1 | 2;
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
}

/** One request ready for the socket: the Writer's bytes with the attached buffers that go between them. */
export interface EncodedRequest {
  /** Size prefix, header, and every body byte the encoder wrote (or copied) into the Writer. */
  readonly bytes: Buffer;
  /** Attached buffers in order; empty when everything was copied into `bytes`. */
  readonly attachments: readonly Buffer[];
  /** For each attachment, the offset in `bytes` it goes before. */
  readonly attachOffsets: readonly number[];
  /** Bytes on the wire, size prefix included. */
  readonly totalBytes: number;
}

/**
 * Encodes size prefix, request header and body. Throws whatever the body encoder throws, or a
 * ProtocolEncodeError when the request would not fit the int32 size prefix; nothing is written then.
 */
export function encodeRequest(header: RequestHeaderFields, encodeBody: BodyEncoder): EncodedRequest {
  const w = new Writer(512);
  const attachments: Buffer[] = [];
  const attachOffsets: number[] = [];
  let attachedBytes = 0;
  let open = true;
  const frame: RequestFrame = {
    attach: (bytes) => {
      // A frame kept past encodeBody would splice bytes into a request that is already on its way.
      if (!open) throw new ProtocolEncodeError('RequestFrame.attach called outside of encodeBody');
      if (bytes.length < ATTACH_COPY_THRESHOLD) {
        w.raw(bytes);
        return;
      }
      attachOffsets.push(w.offset);
      attachments.push(bytes);
      attachedBytes += bytes.length;
    },
  };
  try {
    w.int32(0);
    writeRequestHeader(w, header.headerVersion, header.apiKey, header.apiVersion, header.correlationId, header.clientId);
    encodeBody(w, frame);
  } finally {
    open = false;
  }
  const size = w.offset - 4 + attachedBytes;
  if (size > INT32_MAX) throw new ProtocolEncodeError(`request of ${size} bytes exceeds the int32 size prefix`);
  w.patchInt32(0, size);
  const bytes = w.toBuffer();
  return { bytes, attachments, attachOffsets, totalBytes: bytes.length + attachedBytes };
}

export type RequestSocket = Pick<net.Socket, 'write' | 'cork' | 'uncork'>;

/**
 * Writes a request to the socket. With attachments, the Writer's slices and the attached buffers are
 * queued corked, so uncork hands them to the kernel as one writev. `flushed` runs once the last byte
 * is flushed (or the write fails).
 */
export function writeRequest(socket: RequestSocket, request: EncodedRequest, flushed?: (err?: Error | null) => void): void {
  const { bytes, attachments, attachOffsets } = request;
  if (attachments.length === 0) {
    socket.write(bytes, flushed);
    return;
  }
  socket.cork();
  let start = 0;
  for (let i = 0; i < attachments.length; i++) {
    const at = attachOffsets[i];
    if (at > start) socket.write(bytes.subarray(start, at));
    start = at;
    const last = i === attachments.length - 1 && start === bytes.length;
    socket.write(attachments[i], last ? flushed : undefined);
  }
  if (start < bytes.length) socket.write(bytes.subarray(start), flushed);
  socket.uncork();
}
