import { Reader } from '../primitives/reader';
import { Writer } from '../primitives/writer';

/**
 * Request header v1 (non-flexible versions) and v2 (flexible: v1 plus a tagged-field section).
 * client_id stays an int16-length nullable string even in v2. Header v0 is gone since Kafka 4.0.
 */
export function writeRequestHeader(
  w: Writer,
  headerVersion: 1 | 2,
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  clientId: string | null,
): void {
  w.int16(apiKey).int16(apiVersion).int32(correlationId).nullableString(clientId);
  if (headerVersion === 2) w.unsignedVarint(0);
}

export interface RequestHeader {
  requestApiKey: number;
  requestApiVersion: number;
  correlationId: number;
  clientId: string | null;
}

export function readRequestHeader(r: Reader, headerVersion: 1 | 2): RequestHeader {
  const requestApiKey = r.int16();
  const requestApiVersion = r.int16();
  const correlationId = r.int32();
  const clientId = r.nullableString();
  if (headerVersion === 2) r.taggedFields();
  return { requestApiKey, requestApiVersion, correlationId, clientId };
}

/** Response header v0 is the correlation id alone; v1 adds a tagged-field section. */
export function writeResponseHeader(w: Writer, headerVersion: 0 | 1, correlationId: number): void {
  w.int32(correlationId);
  if (headerVersion === 1) w.unsignedVarint(0);
}

export function readResponseHeader(r: Reader, headerVersion: 0 | 1): number {
  const correlationId = r.int32();
  if (headerVersion === 1) r.taggedFields();
  return correlationId;
}
