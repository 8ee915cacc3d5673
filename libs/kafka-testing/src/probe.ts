import * as net from 'node:net';
import { Reader } from '../../kafka-producer/src/protocol/primitives/reader';
import { Writer } from '../../kafka-producer/src/protocol/primitives/writer';

/**
 * A deliberately tiny Kafka client for the harness's own readiness checks: one connection per request,
 * request header v1 and two non-flexible APIs encoded by hand. It only has to tell "up and serving"
 * from "not yet", so it shares nothing with the producer beyond the byte Reader/Writer.
 */

const API_METADATA = 3;
const API_VERSIONS = 18;
const CLIENT_ID = 'kafka-testing-probe';
/** No legitimate answer to these two requests comes near this; anything larger is not Kafka. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export interface ApiVersionRange {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

export interface ApiVersionsResult {
  errorCode: number;
  apiKeys: ApiVersionRange[];
}

export interface MetadataBroker {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

/** Field names follow Kafka's MetadataResponse schema. */
export interface MetadataPartition {
  errorCode: number;
  partitionIndex: number;
  leaderId: number;
  replicaNodes: number[];
  isrNodes: number[];
}

export interface MetadataTopic {
  errorCode: number;
  name: string;
  isInternal: boolean;
  partitions: MetadataPartition[];
}

export interface MetadataResult {
  brokers: MetadataBroker[];
  clusterId: string | null;
  controllerId: number;
  topics: MetadataTopic[];
}

export interface Endpoint {
  host: string;
  port: number;
}

export function parseEndpoint(hostPort: string): Endpoint {
  const i = hostPort.lastIndexOf(':');
  const port = Number(hostPort.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`kafka-testing: not host:port: ${hostPort}`);
  return { host: hostPort.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port };
}

let nextCorrelationId = 1;

export function encodeRequest(apiKey: number, apiVersion: number, correlationId: number, body: (w: Writer) => void): Buffer {
  const w = new Writer(128);
  w.int32(0); // size, patched below
  w.int16(apiKey).int16(apiVersion).int32(correlationId).nullableString(CLIENT_ID);
  body(w);
  w.patchInt32(0, w.offset - 4);
  return w.toBuffer();
}

/** Sends one request on a fresh connection and returns a Reader over the response body (after the correlation id). */
export function roundTrip(endpoint: Endpoint, frame: Buffer, correlationId: number, timeoutMs: number): Promise<Reader> {
  return new Promise<Reader>((resolve, reject) => {
    const socket = net.connect({ host: endpoint.host, port: endpoint.port });
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const finish = (err: Error | null, reader?: Reader): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err !== null) reject(err);
      else resolve(reader as Reader);
    };
    const timer = setTimeout(() => finish(new Error(`no response from ${endpoint.host}:${endpoint.port} within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.write(frame));
    socket.on('error', (e) => finish(e));
    socket.on('close', () => finish(new Error(`${endpoint.host}:${endpoint.port} closed the connection`)));
    socket.on('data', (data: Buffer) => {
      chunks.push(data);
      received += data.length;
      if (received < 4) return;
      const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      const size = all.readInt32BE(0);
      if (size < 4 || size > MAX_RESPONSE_BYTES) return finish(new Error(`bad response size ${size} from ${endpoint.host}:${endpoint.port}`));
      if (all.length < 4 + size) return;
      try {
        const r = new Reader(all, 4, 4 + size);
        const got = r.int32();
        if (got !== correlationId) return finish(new Error(`correlation id ${got}, expected ${correlationId}`));
        finish(null, r);
      } catch (e) {
        finish(e as Error);
      }
    });
  });
}

export async function probeApiVersions(endpoint: Endpoint, timeoutMs = 2000): Promise<ApiVersionsResult> {
  const correlationId = nextCorrelationId++;
  // v0 has an empty body, and every broker accepts it (the Java client falls back to it too).
  const r = await roundTrip(endpoint, encodeRequest(API_VERSIONS, 0, correlationId, () => undefined), correlationId, timeoutMs);
  return decodeApiVersionsV0(r);
}

export function decodeApiVersionsV0(r: Reader): ApiVersionsResult {
  const errorCode = r.int16();
  const n = r.arrayLength(false) ?? 0;
  const apiKeys: ApiVersionRange[] = [];
  for (let i = 0; i < n; i++) apiKeys.push({ apiKey: r.int16(), minVersion: r.int16(), maxVersion: r.int16() });
  return { errorCode, apiKeys };
}

/**
 * Metadata v4, not v1: below v4 a request naming a topic auto-creates it on a broker with
 * auto.create.topics.enable=true, which would resurrect a topic the harness just deleted. `topics`
 * null asks for every topic; [] for none (brokers and controller only).
 */
export async function probeMetadata(endpoint: Endpoint, topics: readonly string[] | null, timeoutMs = 3000): Promise<MetadataResult> {
  const correlationId = nextCorrelationId++;
  const frame = encodeRequest(API_METADATA, 4, correlationId, (w) => {
    if (topics === null) w.int32(-1);
    else {
      w.int32(topics.length);
      for (const t of topics) w.string(t);
    }
    w.bool(false); // allow_auto_topic_creation
  });
  return decodeMetadataV4(await roundTrip(endpoint, frame, correlationId, timeoutMs));
}

export function decodeMetadataV4(r: Reader): MetadataResult {
  r.int32(); // throttle_time_ms
  const brokers: MetadataBroker[] = [];
  const nb = r.arrayLength(false) ?? 0;
  for (let i = 0; i < nb; i++) brokers.push({ nodeId: r.int32(), host: r.string(), port: r.int32(), rack: r.nullableString() });
  const clusterId = r.nullableString();
  const controllerId = r.int32();
  const topics: MetadataTopic[] = [];
  const nt = r.arrayLength(false) ?? 0;
  for (let i = 0; i < nt; i++) {
    const errorCode = r.int16();
    const name = r.string();
    const isInternal = r.bool();
    const partitions: MetadataPartition[] = [];
    const np = r.arrayLength(false) ?? 0;
    for (let j = 0; j < np; j++) {
      partitions.push({ errorCode: r.int16(), partitionIndex: r.int32(), leaderId: r.int32(), replicaNodes: int32Array(r), isrNodes: int32Array(r) });
    }
    partitions.sort((a, b) => a.partitionIndex - b.partitionIndex);
    topics.push({ errorCode, name, isInternal, partitions });
  }
  return { brokers, clusterId, controllerId, topics };
}

function int32Array(r: Reader): number[] {
  const n = r.arrayLength(false) ?? 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(r.int32());
  return out;
}

/** Polls `check` until it returns a value, or throws the last failure at the deadline. */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; abort?: () => string | undefined },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let last = 'not attempted';
  for (;;) {
    const aborted = options.abort?.();
    if (aborted !== undefined) throw new Error(`${what}: ${aborted}`);
    try {
      const v = await check();
      if (v !== undefined) return v;
      last = 'condition not met yet';
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() >= deadline) throw new Error(`${what}: not ready after ${options.timeoutMs} ms (last: ${last})`);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 200));
  }
}
