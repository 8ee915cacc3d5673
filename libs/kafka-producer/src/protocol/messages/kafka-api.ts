import type { Reader } from '../primitives/reader';
import type { Writer } from '../primitives/writer';

/**
 * One Kafka API as the generated codecs describe it: its key, the versions this library can speak, and
 * body encoders/decoders for both directions (the response encoder and request decoder serve tests
 * and fake brokers; the client itself only encodes requests and decodes responses).
 */
export interface KafkaApi<Req, Res> {
  readonly apiKey: number;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** First flexible (KIP-482) version, or Infinity if the API has none. */
  readonly flexibleVersionsFrom: number;
  requestHeaderVersion(version: number): 1 | 2;
  responseHeaderVersion(version: number): 0 | 1;
  encodeRequest(w: Writer, message: Req, version: number): void;
  decodeRequest(r: Reader, version: number): Req;
  encodeResponse(w: Writer, message: Res, version: number): void;
  decodeResponse(r: Reader, version: number): Res;
}

export type RequestOf<A> = A extends KafkaApi<infer Req, unknown> ? Req : never;
export type ResponseOf<A> = A extends KafkaApi<unknown, infer Res> ? Res : never;
