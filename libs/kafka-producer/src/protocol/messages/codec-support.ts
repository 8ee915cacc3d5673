import { ProtocolDecodeError } from '../../errors';
import type { Reader } from '../primitives/reader';

/** Helpers the generated codecs share; kept out of the generated files so they stay small. */

export const EMPTY: Buffer = Buffer.alloc(0);
export const ZERO_UUID: Buffer = Buffer.alloc(16);

/**
 * Whether a field holds its schema default. Used only off the hot path: for tagged fields (written
 * only when not default) and for fields a version cannot carry (an error unless default).
 */
export function isDefault(value: unknown, def: unknown): boolean {
  if (value === undefined || value === def) return true;
  if (value === null || def === null) return false;
  if (Buffer.isBuffer(value) && Buffer.isBuffer(def)) return value.equals(def);
  if (Array.isArray(value) && Array.isArray(def)) {
    return value.length === def.length && value.every((el, i) => isDefault(el, def[i]));
  }
  if (typeof value === 'object' && typeof def === 'object') {
    const a = value as Record<string, unknown>;
    const b = def as Record<string, unknown>;
    return Object.keys(b).every((k) => isDefault(a[k], b[k]));
  }
  return false;
}

export function readArray<T>(r: Reader, flex: boolean, readElement: () => T, field: string): T[] {
  const length = r.arrayLength(flex);
  if (length === null) throw new ProtocolDecodeError(`${field} is null but is not nullable`);
  const out = new Array<T>(length);
  for (let i = 0; i < length; i++) out[i] = readElement();
  return out;
}

export function readNullableArray<T>(r: Reader, flex: boolean, readElement: () => T, nullable: boolean, field: string): T[] | null {
  const length = r.arrayLength(flex);
  if (length === null) {
    if (!nullable) throw new ProtocolDecodeError(`${field} is null but not nullable in this version`);
    return null;
  }
  const out = new Array<T>(length);
  for (let i = 0; i < length; i++) out[i] = readElement();
  return out;
}
