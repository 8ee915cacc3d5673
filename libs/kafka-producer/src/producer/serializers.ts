/**
 * Turns a key or value into bytes. `null` always passes through as null (a tombstone value or a
 * keyless record), so serializers never see it.
 */
export interface Serializer<T> {
  serialize(topic: string, data: T): Buffer;
}

/** Buffer as is, string as UTF-8: what the producer accepts when no serializer is configured. */
export const bytesOrStringSerializer: Serializer<Buffer | string | Uint8Array> = {
  serialize(_topic, data) {
    if (Buffer.isBuffer(data)) return data;
    if (typeof data === 'string') return Buffer.from(data, 'utf8');
    if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    throw new TypeError(`expected a Buffer, Uint8Array or string, got ${describe(data)}`);
  },
};

export const stringSerializer: Serializer<string> = {
  serialize(_topic, data) {
    if (typeof data !== 'string') throw new TypeError(`expected a string, got ${describe(data)}`);
    return Buffer.from(data, 'utf8');
  },
};

export const bufferSerializer: Serializer<Buffer> = {
  serialize(_topic, data) {
    if (!Buffer.isBuffer(data)) throw new TypeError(`expected a Buffer, got ${describe(data)}`);
    return data;
  },
};

export const jsonSerializer: Serializer<unknown> = {
  serialize(_topic, data) {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError(`${describe(data)} has no JSON form`);
    return Buffer.from(text, 'utf8');
  },
};

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? `an object (${(value as object).constructor?.name ?? 'Object'})` : `a ${typeof value}`;
}
