/**
 * Deterministic sample messages for golden-byte tests: for a schema and a version, every field the
 * version carries gets a non-default value (nullable fields alternate between null and a value, arrays
 * get two elements), so each encoder branch of the generated codecs is exercised.
 */
import { FieldSpec, MessageSpec, PRIMITIVES, camel, parseRange } from './schema';

function inRange(text: string | undefined, v: number): boolean {
  const r = parseRange(text);
  return r !== null && v >= r.min && v <= r.max;
}

export function buildSample(msg: MessageSpec, version: number): Record<string, unknown> {
  let counter = 1;
  const structs = new Map<string, FieldSpec[]>();
  for (const s of msg.commonStructs ?? []) structs.set(s.name, s.fields);

  const primitive = (type: string): unknown => {
    const n = counter++;
    switch (type) {
      case 'int8':
        return n % 100;
      case 'int16':
        return 1000 + n;
      case 'uint16':
        return 60000 + n;
      case 'int32':
        return 100000 + n;
      case 'int64':
        return 10000000000n + BigInt(n);
      case 'float64':
        return n + 0.5;
      case 'bool':
        return true;
      case 'string':
        return `s${n}-é`;
      case 'bytes':
      case 'records':
        return Buffer.from([n & 0xff, 0, 0xff, 0x7f]);
      case 'uuid':
        return Buffer.alloc(16, n & 0xff);
      default:
        throw new Error(`no sample for ${type}`);
    }
  };

  const value = (f: FieldSpec): unknown => {
    const nullable = inRange(f.nullableVersions, version);
    if (nullable && counter++ % 3 === 0) return null;
    if (f.type.startsWith('[]')) {
      const inner = f.type.slice(2);
      if (PRIMITIVES.has(inner)) return [primitive(inner), primitive(inner)];
      const fields = f.fields ?? structs.get(inner)!;
      return [struct(fields), struct(fields)];
    }
    if (PRIMITIVES.has(f.type)) return primitive(f.type);
    return struct(f.fields ?? structs.get(f.type)!);
  };

  const struct = (fields: FieldSpec[]): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const f of fields) {
      if (inRange(f.versions, version)) out[camel(f.name)] = value(f);
    }
    return out;
  };

  return struct(msg.fields);
}
