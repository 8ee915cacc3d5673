import type { KafkaApi } from '../protocol/messages/kafka-api';
import type { Reader } from '../protocol/primitives/reader';
import type { NoResponseOptions, RequestApi, RequestOptions } from './connection';
import type { BodyEncoder } from './request-encoder';
import type { ApiDescriptor } from './version-negotiation';

/**
 * A broker connection that finished its setup (connected, versions negotiated, authenticated). The
 * socket stays inside: callers name the API and version, and the connection picks the header
 * versions and frames the request.
 */
export interface NodeConnection {
  /** The broker's node id; -1 for a bootstrap connection. */
  readonly nodeId: number;
  /** `host:port`, as in error messages. */
  readonly address: string;
  readonly isConnected: boolean;
  /** True while the socket is behind: stop writing until `waitForDrain()` resolves. */
  readonly needsDrain: boolean;
  /** Resolves once the socket drained, or the connection closed; never rejects. */
  waitForDrain(): Promise<void>;
  /** Highest version both sides support (at most `cap`); throws an UnsupportedVersionError if there is none. */
  versionFor(api: ApiDescriptor, cap?: number): number;
  /** The cluster's finalized level of a feature as this broker reported it (0: none), e.g. transaction.version. */
  featureLevel(name: string): number;
  /** Sends at the negotiated version. */
  send<Req, Res>(api: KafkaApi<Req, Res>, body: Req, options: NoResponseOptions): Promise<undefined>;
  send<Req, Res>(api: KafkaApi<Req, Res>, body: Req, options?: RequestOptions): Promise<Res>;
  request<Req, Res>(api: KafkaApi<Req, Res>, version: number, body: Req, options: NoResponseOptions): Promise<undefined>;
  request<Req, Res>(api: KafkaApi<Req, Res>, version: number, body: Req, options?: RequestOptions): Promise<Res>;
  /**
   * For bodies the caller encodes itself (Produce splices record batches in with `frame.attach`).
   * Header versions come from `api.requestHeaderVersion(version)` / `api.responseHeaderVersion(version)`.
   */
  requestRaw<T>(api: RequestApi, version: number, encodeBody: BodyEncoder, decodeBody: (r: Reader) => T, options: NoResponseOptions): Promise<undefined>;
  requestRaw<T>(api: RequestApi, version: number, encodeBody: BodyEncoder, decodeBody: (r: Reader) => T, options?: RequestOptions): Promise<T>;
}
