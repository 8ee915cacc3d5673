import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import * as net from 'node:net';
import { ApiVersionsApi } from '../../src/protocol/messages/api-versions.generated';
import { readRequestHeader, writeResponseHeader } from '../../src/protocol/messages/headers';
import type { KafkaApi } from '../../src/protocol/messages/kafka-api';
import { MetadataApi } from '../../src/protocol/messages/metadata.generated';
import { SaslAuthenticateApi } from '../../src/protocol/messages/sasl-authenticate.generated';
import { SaslHandshakeApi } from '../../src/protocol/messages/sasl-handshake.generated';
import { Reader } from '../../src/protocol/primitives/reader';
import { Writer } from '../../src/protocol/primitives/writer';

/**
 * How the fake's SCRAM server misbehaves. A real broker never does any of this; an impostor (or
 * something rewriting the exchange) would, and the client must refuse it before anything else goes out.
 */
export type ScramFault = 'none' | 'bad-server-signature' | 'foreign-nonce' | 'nonce-not-extended' | 'low-iterations' | 'too-many-iterations' | 'server-final-error';

export interface FakeSaslBrokerOptions {
  /** What SaslHandshake offers. */
  mechanisms?: string[];
  users?: Record<string, string>;
  iterations?: number;
  scramFault?: ScramFault;
  /** SaslAuthenticate's session_lifetime_ms (KIP-368); 0: none. */
  sessionLifetimeMs?: number;
  /** Accepted OAUTHBEARER tokens (the compact value). */
  tokens?: string[];
}

/** One request the fake received: api key, and for SaslAuthenticate the bytes the client sent. */
export interface ReceivedRequest {
  readonly apiKey: number;
  readonly authBytes?: Buffer;
}

const API_KEYS = [
  { apiKey: 3, minVersion: 0, maxVersion: 12 },
  { apiKey: 17, minVersion: 0, maxVersion: 1 },
  { apiKey: 18, minVersion: 0, maxVersion: 4 },
  { apiKey: 36, minVersion: 0, maxVersion: 2 },
];

interface ScramState {
  readonly hash: 'sha256' | 'sha512';
  clientFirstBare: string;
  serverFirst: string;
  nonce: string;
  salted: Buffer;
  step: 1 | 2;
}

/**
 * A listener that speaks ApiVersions, SaslHandshake, SaslAuthenticate (PLAIN, SCRAM-SHA-256/512 with
 * an RFC 5802 server, OAUTHBEARER) and an empty Metadata, and records every request it receives in
 * order, so tests can prove what went out before authentication completed.
 */
export class FakeSaslBroker {
  readonly received: ReceivedRequest[] = [];
  readonly sockets = new Set<net.Socket>();
  authentications = 0;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly options: Required<FakeSaslBrokerOptions>,
  ) {}

  static async start(options: FakeSaslBrokerOptions = {}): Promise<FakeSaslBroker> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const broker = new FakeSaslBroker(server, (server.address() as net.AddressInfo).port, {
      mechanisms: options.mechanisms ?? ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'],
      users: options.users ?? { alice: 'alice-secret' },
      iterations: options.iterations ?? 4096,
      scramFault: options.scramFault ?? 'none',
      sessionLifetimeMs: options.sessionLifetimeMs ?? 0,
      tokens: options.tokens ?? [],
    });
    server.on('connection', (socket) => broker.accept(socket));
    return broker;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get apiKeys(): number[] {
    return this.received.map((r) => r.apiKey);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => this.sockets.delete(socket));
    let mechanism: string | null = null;
    let scram: ScramState | null = null;
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const frame = buffered.subarray(4, 4 + buffered.readInt32BE(0));
        buffered = buffered.subarray(4 + frame.length);
        const apiKey = frame.readInt16BE(0);
        const version = frame.readInt16BE(2);
        const api = ({ 3: MetadataApi, 17: SaslHandshakeApi, 18: ApiVersionsApi, 36: SaslAuthenticateApi } as Record<number, KafkaApi<unknown, unknown>>)[apiKey];
        if (api === undefined) {
          this.received.push({ apiKey });
          socket.destroy();
          return;
        }
        const r = new Reader(frame, 0, frame.length);
        const header = readRequestHeader(r, api.requestHeaderVersion(version) as 1 | 2);
        const body = api.decodeRequest(r, version) as Record<string, unknown>;
        let response: unknown;
        if (apiKey === 18) {
          this.received.push({ apiKey });
          response = { errorCode: 0, apiKeys: API_KEYS };
        } else if (apiKey === 17) {
          this.received.push({ apiKey });
          const asked = body.mechanism as string;
          const offered = this.options.mechanisms.includes(asked);
          mechanism = offered ? asked : null;
          scram = null;
          response = { errorCode: offered ? 0 : 33, mechanisms: this.options.mechanisms };
        } else if (apiKey === 36) {
          const authBytes = Buffer.from(body.authBytes as Buffer);
          this.received.push({ apiKey, authBytes });
          const step = this.authenticateStep(mechanism, authBytes, scram);
          scram = step.scram;
          if (step.done && step.errorCode === 0) this.authentications++;
          response = {
            errorCode: step.errorCode,
            errorMessage: step.errorCode === 0 ? null : step.message,
            authBytes: step.reply,
            sessionLifetimeMs: BigInt(step.done && step.errorCode === 0 ? this.options.sessionLifetimeMs : 0),
          };
        } else {
          this.received.push({ apiKey });
          response = { throttleTimeMs: 0, brokers: [], clusterId: 'fake', controllerId: -1, topics: [], errorCode: 0 };
        }
        const w = new Writer(256);
        w.int32(0);
        writeResponseHeader(w, api.responseHeaderVersion(version), header.correlationId);
        api.encodeResponse(w, response, version);
        w.patchInt32(0, w.offset - 4);
        socket.write(Buffer.from(w.toBuffer()));
      }
    });
  }

  private authenticateStep(
    mechanism: string | null,
    bytes: Buffer,
    scram: ScramState | null,
  ): { errorCode: number; message: string; reply: Buffer; scram: ScramState | null; done: boolean } {
    const refuse = (message: string) => ({ errorCode: 58, message, reply: Buffer.alloc(0), scram: null, done: true });
    const ok = (reply: Buffer, next: ScramState | null, done: boolean) => ({ errorCode: 0, message: '', reply, scram: next, done });
    if (mechanism === null) return { errorCode: 34, message: 'no SaslHandshake before SaslAuthenticate', reply: Buffer.alloc(0), scram: null, done: true };
    if (mechanism === 'PLAIN') {
      const [, user, pass] = bytes.toString('utf8').split('\0');
      return this.options.users[user] === pass ? ok(Buffer.alloc(0), null, true) : refuse('Authentication failed: Invalid username or password');
    }
    if (mechanism === 'OAUTHBEARER') {
      const token = bytes.toString('utf8').split('\x01').find((kv) => kv.startsWith('auth=Bearer '))?.slice('auth=Bearer '.length);
      if (bytes.toString('utf8') === '\x01') return refuse('{"status":"invalid_token"}');
      return token !== undefined && this.options.tokens.includes(token) ? ok(Buffer.alloc(0), null, true) : ok(Buffer.from('{"status":"invalid_token"}'), null, false);
    }
    const hash = mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
    const hmac = (key: Buffer, data: string | Buffer): Buffer => createHmac(hash, key).update(data).digest();
    const fault = this.options.scramFault;
    if (scram === null) {
      const text = bytes.toString('utf8');
      const clientFirstBare = text.slice(3);
      const user = /n=([^,]*)/.exec(clientFirstBare)?.[1] ?? '';
      const clientNonce = /r=([^,]*)/.exec(clientFirstBare)?.[1] ?? '';
      const password = this.options.users[user];
      if (password === undefined) return refuse('Authentication failed during authentication due to invalid credentials with SASL mechanism ' + mechanism);
      const iterations = fault === 'low-iterations' ? 1024 : fault === 'too-many-iterations' ? 1_000_000 : this.options.iterations;
      const salt = randomBytes(16);
      const serverNonce = randomBytes(12).toString('base64');
      const nonce = fault === 'foreign-nonce' ? randomBytes(18).toString('base64') + serverNonce : fault === 'nonce-not-extended' ? clientNonce : clientNonce + serverNonce;
      const serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${iterations}`;
      const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, Math.min(iterations, 16384), hash === 'sha256' ? 32 : 64, hash);
      return ok(Buffer.from(serverFirst), { hash, clientFirstBare, serverFirst, nonce, salted, step: 2 }, false);
    }
    const clientFinal = bytes.toString('utf8');
    const withoutProof = clientFinal.slice(0, clientFinal.lastIndexOf(',p='));
    const proof = Buffer.from(clientFinal.slice(clientFinal.lastIndexOf(',p=') + 3), 'base64');
    const authMessage = `${scram.clientFirstBare},${scram.serverFirst},${withoutProof}`;
    const storedKey = createHash(hash).update(hmac(scram.salted, 'Client Key')).digest();
    const signature = hmac(storedKey, authMessage);
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i] ^ signature[i];
    const valid = proof.length === storedKey.length && timingSafeEqual(createHash(hash).update(clientKey).digest(), storedKey);
    if (!valid) return refuse('Authentication failed during authentication due to invalid credentials with SASL mechanism ' + mechanism);
    if (fault === 'server-final-error') return ok(Buffer.from('e=other-error'), null, true);
    const serverSignature = fault === 'bad-server-signature' ? randomBytes(signature.length) : hmac(hmac(scram.salted, 'Server Key'), authMessage);
    return ok(Buffer.from(`v=${serverSignature.toString('base64')}`), null, true);
  }
}
