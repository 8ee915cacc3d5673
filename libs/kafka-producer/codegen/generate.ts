/**
 * Generates one TypeScript codec module per Kafka API from Kafka's own JSON message schemas.
 *
 *   npm run codegen          writes libs/kafka-producer/src/protocol/messages/*.generated.ts
 *   npm run codegen:check    fails (exit 1) if the committed output differs from what it would write
 *
 * The schemas are read from ../shared/kafka-protocol/<KAFKA_SCHEMA_VERSION> when present and from the
 * vendored copy in codegen/spec/<version> otherwise, so a clone without shared/ still regenerates.
 * The generated code mirrors Kafka's generated Java: version checks at run time, defaults for fields
 * absent from a version, tagged fields written only when they differ from their default, and an
 * error when a non-ignorable field holds a non-default value in a version that cannot carry it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  APIS,
  FieldSpec,
  MessageSpec,
  OUT_DIR,
  PRIMITIVES,
  Range,
  SCHEMA_VERSION,
  SHARED,
  VENDORED,
  camel,
  kebab,
  parseRange,
  readSchema,
} from './schema';

/** A TS boolean expression for "v is in range", simplified against the message's valid versions. */
function rangeCheck(range: Range | null, valid: Range): string {
  if (range === null) return 'false';
  const lo = range.min > valid.min ? `v >= ${range.min}` : '';
  const hi = range.max < valid.max ? `v <= ${range.max}` : '';
  if (range.min > valid.max || range.max < valid.min) return 'false';
  if (lo && hi) return range.min === range.max ? `v === ${range.min}` : `${lo} && ${hi}`;
  return lo || hi || 'true';
}

/**
 * When a field's value may be null, as a check on `v`. Reads and writes of a field run only inside
 * its own versions, so the check is simplified against them ("true" when every such version allows null).
 */
function nullableIn(f: FieldSpec): string {
  return rangeCheck(parseRange(f.nullableVersions), parseRange(f.versions) ?? { min: 0, max: Number.POSITIVE_INFINITY });
}

class Emitter {
  private out: string[] = [];
  private emitted = new Set<string>();

  mark(): number {
    return this.out.length;
  }

  insert(at: number, lines: string[]): void {
    this.out.splice(at, 0, ...lines);
  }

  constructor(
    private readonly request: MessageSpec,
    private readonly response: MessageSpec,
  ) {}

  line(s = ''): void {
    this.out.push(s);
  }

  /** The module body; parameters a function never reads are renamed `_x` to satisfy noUnusedParameters. */
  text(): string {
    const chunks: string[] = [];
    let fn: string[] | null = null;
    const flush = (): void => {
      if (fn === null) return;
      let header = fn[0];
      const body = fn.slice(1).join('\n');
      for (const param of ['v', 'flex', 'm', 'r', 'w']) {
        if (!new RegExp(`\\b${param}\\b`).test(body)) header = header.replace(new RegExp(`\\b${param}:`), `_${param}:`);
      }
      chunks.push(header, ...fn.slice(1));
      fn = null;
    };
    for (const l of this.out) {
      if (l.startsWith('function ')) {
        flush();
        fn = [l];
      } else if (fn !== null) {
        fn.push(l);
        if (l === '}') flush();
      } else {
        chunks.push(l);
      }
    }
    flush();
    return chunks.join('\n');
  }

  /** Registers every struct type of a message; names that both sides define get a side prefix. */
  collect(msg: MessageSpec): Map<string, string> {
    const rename = new Map<string, string>();
    const visit = (fields: FieldSpec[]): void => {
      for (const f of fields) {
        const base = f.type.startsWith('[]') ? f.type.slice(2) : f.type;
        if (!PRIMITIVES.has(base) && f.fields) {
          rename.set(base, base);
          visit(f.fields);
        }
      }
    };
    visit(msg.fields);
    for (const s of msg.commonStructs ?? []) {
      rename.set(s.name, s.name);
      visit(s.fields);
    }
    return rename;
  }

  typeOf(f: FieldSpec, names: Map<string, string>): string {
    const nullable = f.nullableVersions !== undefined;
    const n = (t: string): string => (nullable ? `${t} | null` : t);
    if (f.type.startsWith('[]')) {
      const inner = f.type.slice(2);
      const el = PRIMITIVES.has(inner) ? this.primitiveType(inner, false) : (names.get(inner) ?? inner);
      return n(`${el}[]`);
    }
    if (PRIMITIVES.has(f.type)) return this.primitiveType(f.type, nullable);
    return n(names.get(f.type) ?? f.type);
  }

  primitiveType(t: string, nullable: boolean): string {
    switch (t) {
      case 'int8':
      case 'int16':
      case 'uint16':
      case 'int32':
      case 'float64':
        return 'number';
      case 'int64':
        return 'bigint';
      case 'bool':
        return 'boolean';
      case 'string':
        return nullable ? 'string | null' : 'string';
      case 'bytes':
      case 'records':
        return nullable ? 'Buffer | null' : 'Buffer';
      case 'uuid':
        return 'Buffer';
      default:
        throw new Error(`unknown primitive ${t}`);
    }
  }

  defaultValue(f: FieldSpec, names: Map<string, string>): string {
    const d = f.default;
    const isArray = f.type.startsWith('[]');
    if (isArray) return d === 'null' ? 'null' : '[]';
    switch (f.type) {
      case 'int8':
      case 'int16':
      case 'uint16':
      case 'int32':
      case 'float64':
        return d === undefined || d === '' ? '0' : String(Number(d));
      case 'int64':
        return d === undefined || d === '' ? '0n' : `${BigInt(String(d))}n`;
      case 'bool':
        return d === true || d === 'true' ? 'true' : 'false';
      case 'string':
        if (d === 'null') return 'null';
        return d === undefined ? "''" : JSON.stringify(String(d));
      case 'bytes':
      case 'records':
        return d === 'null' || f.nullableVersions !== undefined ? 'null' : 'EMPTY';
      case 'uuid':
        return 'ZERO_UUID';
      default: {
        if (d === 'null') return 'null';
        const struct = names.get(f.type) ?? f.type;
        return `default${struct}()`;
      }
    }
  }

  /** Emits interface + read/write functions for a struct and, first, every struct it contains. */
  emitStruct(name: string, fields: FieldSpec[], valid: Range, flexible: Range | null, names: Map<string, string>, about: string): void {
    if (this.emitted.has(name)) return;
    this.emitted.add(name);
    for (const f of fields) {
      const base = f.type.startsWith('[]') ? f.type.slice(2) : f.type;
      if (!PRIMITIVES.has(base)) {
        const def = f.fields ?? this.commonFields(base);
        this.emitStruct(names.get(base) ?? base, def, valid, flexible, names, f.about ?? '');
      }
    }

    if (about) this.line(`/** ${about.replace(/\*\//g, '*\\/')} */`);
    this.line(`export interface ${name} {`);
    for (const f of fields) {
      const r = parseRange(f.versions);
      const always = r !== null && r.min <= valid.min && r.max >= valid.max && f.taggedVersions === undefined;
      const doc = [f.about ?? '', r ? `Versions ${f.versions}.` : ''].filter(Boolean).join(' ');
      if (doc) this.line(`  /** ${doc.replace(/\*\//g, '*\\/')} */`);
      this.line(`  ${camel(f.name)}${always ? '' : '?'}: ${this.typeOf(f, names)};`);
    }
    this.line('}');
    this.line();

    // defaults, for struct-typed fields and for decoding versions without a field
    this.line(`function default${name}(): ${name} {`);
    this.line(`  return {`);
    for (const f of fields) this.line(`    ${camel(f.name)}: ${this.defaultValue(f, names)},`);
    this.line(`  };`);
    this.line('}');
    this.line();

    this.emitWrite(name, fields, valid, flexible, names);
    this.emitRead(name, fields, valid, flexible, names);
  }

  private commonFields(structName: string): FieldSpec[] {
    for (const msg of [this.request, this.response]) {
      const s = (msg.commonStructs ?? []).find((c) => c.name === structName);
      if (s) return s.fields;
    }
    throw new Error(`struct ${structName} has no definition`);
  }

  private writeValue(f: FieldSpec, type: string, expr: string, names: Map<string, string>, indent: string, writer = 'w'): void {
    const nullableCheck = nullableIn(f);
    if (type.startsWith('[]')) {
      const inner = type.slice(2);
      this.line(`${indent}if (${expr} === null || ${expr} === undefined) {`);
      this.nullGuard(f, nullableCheck, `${indent}  `);
      this.line(`${indent}  ${writer}.arrayLength(null, flex);`);
      this.line(`${indent}} else {`);
      this.line(`${indent}  ${writer}.arrayLength(${expr}.length, flex);`);
      this.line(`${indent}  for (const el of ${expr}) {`);
      if (PRIMITIVES.has(inner)) this.writePrimitive(inner, 'el', false, `${indent}    `, writer, f.name);
      else this.line(`${indent}    write${names.get(inner) ?? inner}(${writer}, el, v, flex);`);
      this.line(`${indent}  }`);
      this.line(`${indent}}`);
      return;
    }
    if (PRIMITIVES.has(type)) {
      const nullable = f.nullableVersions !== undefined && ['string', 'bytes', 'records'].includes(type);
      if (nullable) {
        this.line(`${indent}if (${expr} === null || ${expr} === undefined) {`);
        this.nullGuard(f, nullableCheck, `${indent}  `);
        this.writePrimitive(type, 'null', true, `${indent}  `, writer, f.name);
        this.line(`${indent}} else {`);
        this.writePrimitive(type, expr, false, `${indent}  `, writer, f.name);
        this.line(`${indent}}`);
      } else {
        this.writePrimitive(type, expr, false, indent, writer, f.name);
      }
      return;
    }
    const struct = names.get(type) ?? type;
    if (f.nullableVersions !== undefined) {
      this.line(`${indent}if (${expr} === null || ${expr} === undefined) {`);
      this.line(`${indent}  ${writer}.int8(-1);`);
      this.line(`${indent}} else {`);
      this.line(`${indent}  ${writer}.int8(1);`);
      this.line(`${indent}  write${struct}(${writer}, ${expr}, v, flex);`);
      this.line(`${indent}}`);
    } else {
      this.line(`${indent}write${struct}(${writer}, ${expr} ?? default${struct}(), v, flex);`);
    }
  }

  /** Rejects a null where the version does not allow one; nothing to emit when every version does. */
  private nullGuard(f: FieldSpec, nullableCheck: string, indent: string): void {
    if (nullableCheck === 'true') return;
    const msg = `throw new ProtocolEncodeError(\`${f.name} is null but is not nullable in version \${v}\`);`;
    if (nullableCheck === 'false') this.line(`${indent}${msg}`);
    else this.line(`${indent}if (!(${nullableCheck})) ${msg}`);
  }

  private writePrimitive(type: string, expr: string, isNull: boolean, indent: string, writer: string, fieldName: string): void {
    const w = writer;
    switch (type) {
      case 'int8':
      case 'int16':
      case 'uint16':
      case 'int32':
      case 'int64':
      case 'float64':
      case 'uuid':
        this.line(`${indent}${w}.${type}(${expr});`);
        return;
      case 'bool':
        this.line(`${indent}${w}.bool(${expr});`);
        return;
      case 'string':
        if (isNull) this.line(`${indent}if (flex) ${w}.compactNullableString(null); else ${w}.nullableString(null);`);
        else this.line(`${indent}if (flex) ${w}.compactString(${expr}); else ${w}.string(${expr});`);
        return;
      case 'bytes':
      case 'records':
        if (isNull) this.line(`${indent}if (flex) ${w}.compactNullableBytes(null); else ${w}.nullableBytes(null);`);
        else this.line(`${indent}if (flex) ${w}.compactBytes(${expr}); else ${w}.bytes(${expr});`);
        return;
      default:
        throw new Error(`cannot write ${type} for ${fieldName}`);
    }
  }

  private readValue(f: FieldSpec, type: string, names: Map<string, string>, reader = 'r'): string {
    const nullableCheck = nullableIn(f);
    if (type.startsWith('[]')) {
      const inner = type.slice(2);
      const el = PRIMITIVES.has(inner) ? this.readPrimitive(inner, false, reader) : `read${names.get(inner) ?? inner}(${reader}, v, flex)`;
      if (f.nullableVersions === undefined) return `readArray(${reader}, flex, () => ${el}, '${f.name}')`;
      return `readNullableArray(${reader}, flex, () => ${el}, ${nullableCheck}, '${f.name}')`;
    }
    if (PRIMITIVES.has(type)) {
      const nullable = f.nullableVersions !== undefined && ['string', 'bytes', 'records'].includes(type);
      if (!nullable) return this.readPrimitive(type, false, reader);
      if (nullableCheck === 'true') return this.readPrimitive(type, true, reader);
      return `(${nullableCheck}) ? ${this.readPrimitive(type, true, reader)} : ${this.readPrimitive(type, false, reader)}`;
    }
    const struct = names.get(type) ?? type;
    if (f.nullableVersions !== undefined) return `(${reader}.int8() < 0 ? null : read${struct}(${reader}, v, flex))`;
    return `read${struct}(${reader}, v, flex)`;
  }

  private readPrimitive(type: string, nullable: boolean, r: string): string {
    switch (type) {
      case 'int8':
      case 'int16':
      case 'uint16':
      case 'int32':
      case 'int64':
      case 'float64':
      case 'uuid':
      case 'bool':
        return `${r}.${type}()`;
      case 'string':
        return nullable ? `(flex ? ${r}.compactNullableString() : ${r}.nullableString())` : `(flex ? ${r}.compactString() : ${r}.string())`;
      case 'bytes':
      case 'records':
        return nullable ? `(flex ? ${r}.compactNullableBytes() : ${r}.nullableBytes())` : `(flex ? ${r}.compactBytes() : ${r}.bytes())`;
      default:
        throw new Error(`cannot read ${type}`);
    }
  }

  private emitWrite(name: string, fields: FieldSpec[], valid: Range, flexible: Range | null, names: Map<string, string>): void {
    this.line(`function write${name}(w: Writer, m: ${name}, v: number, flex: boolean): void {`);
    const tagged = fields.filter((f) => f.taggedVersions !== undefined).sort((a, b) => (a.tag ?? 0) - (b.tag ?? 0));
    for (const f of fields) {
      const r = parseRange(f.versions);
      const always = r !== null && r.min <= valid.min && r.max >= valid.max && f.taggedVersions === undefined;
      const def = this.defaultValue(f, names);
      const key = always ? `m.${camel(f.name)}` : `(m.${camel(f.name)} ?? ${def})`;
      const inVersion = rangeCheck(parseRange(f.versions), valid);
      const taggedIn = rangeCheck(parseRange(f.taggedVersions), valid);
      const regularCond = f.taggedVersions === undefined ? inVersion : `(${inVersion}) && !(${taggedIn})`;
      if (regularCond === 'false') continue;
      const local = `$${camel(f.name)}`;
      if (regularCond === 'true') {
        this.line(`  const ${local} = ${key};`);
        this.writeValue(f, f.type, local, names, '  ');
      } else {
        this.line(`  if (${regularCond}) {`);
        this.line(`    const ${local} = ${key};`);
        this.writeValue(f, f.type, local, names, '    ');
        if (!f.ignorable && f.taggedVersions === undefined) {
          this.line(`  } else if (!isDefault(m.${camel(f.name)}, ${def})) {`);
          this.line(`    throw new ProtocolEncodeError(\`${name}.${f.name} cannot be sent in version \${v} (versions ${f.versions})\`);`);
        }
        this.line('  }');
      }
    }
    if (flexible !== null) {
      this.line('  if (flex) {');
      if (tagged.length === 0) {
        this.line('    w.unsignedVarint(0);');
      } else {
        this.line('    const tags: Array<readonly [number, Buffer]> = [];');
        for (const f of tagged) {
          const key = `m.${camel(f.name)}`;
          const def = this.defaultValue(f, names);
          const cond = rangeCheck(parseRange(f.taggedVersions), valid);
          this.line(`    if ((${cond}) && ${key} !== undefined && !isDefault(${key}, ${def})) {`);
          this.line(`      const value = ${key};`);
          this.line('      const tw = new Writer(32);');
          this.writeValue(f, f.type, 'value', names, '      ', 'tw');
          this.line(`      tags.push([${f.tag}, tw.toBuffer()]);`);
          this.line('    }');
        }
        this.line('    w.taggedFields(tags);');
      }
      this.line('  }');
    }
    this.line('}');
    this.line();
  }

  private emitRead(name: string, fields: FieldSpec[], valid: Range, flexible: Range | null, names: Map<string, string>): void {
    this.line(`function read${name}(r: Reader, v: number, flex: boolean): ${name} {`);
    this.line(`  const m = default${name}();`);
    const tagged = fields.filter((f) => f.taggedVersions !== undefined).sort((a, b) => (a.tag ?? 0) - (b.tag ?? 0));
    for (const f of fields) {
      const key = `m.${camel(f.name)}`;
      const inVersion = rangeCheck(parseRange(f.versions), valid);
      const taggedIn = rangeCheck(parseRange(f.taggedVersions), valid);
      const regularCond = f.taggedVersions === undefined ? inVersion : `(${inVersion}) && !(${taggedIn})`;
      if (regularCond === 'false') continue;
      if (regularCond === 'true') this.line(`  ${key} = ${this.readValue(f, f.type, names)};`);
      else this.line(`  if (${regularCond}) ${key} = ${this.readValue(f, f.type, names)};`);
    }
    if (flexible !== null) {
      if (tagged.length === 0) {
        this.line('  if (flex) r.taggedFields();');
      } else {
        this.line('  if (flex) {');
        this.line('    r.taggedFields((tag, fr) => {');
        this.line('      switch (tag) {');
        for (const f of tagged) {
          const cond = rangeCheck(parseRange(f.taggedVersions), valid);
          this.line(`        case ${f.tag}:`);
          this.line(`          if (!(${cond})) return false;`);
          this.line(`          m.${camel(f.name)} = ${this.readValue(f, f.type, names, 'fr')};`);
          this.line('          return true;');
        }
        this.line('        default:');
        this.line('          return false;');
        this.line('      }');
        this.line('    });');
        this.line('  }');
      }
    }
    this.line('  return m;');
    this.line('}');
    this.line();
  }
}

function generate(api: string): { file: string; content: string } {
  const request = readSchema(`${api}Request.json`);
  const response = readSchema(`${api}Response.json`);
  if (request.apiKey !== response.apiKey) throw new Error(`${api}: request and response api keys differ`);
  const valid = parseRange(request.validVersions)!;
  const validResponse = parseRange(response.validVersions)!;
  if (valid.min !== validResponse.min || valid.max !== validResponse.max) {
    throw new Error(`${api}: request versions ${request.validVersions} differ from response versions ${response.validVersions}`);
  }
  const flexible = parseRange(request.flexibleVersions);
  const e = new Emitter(request, response);

  // Struct names that both sides define (rare) get a side prefix so one module can hold both.
  const reqNames = e.collect(request);
  const resNames = e.collect(response);
  for (const n of reqNames.keys()) {
    if (resNames.has(n)) {
      reqNames.set(n, `Request${n}`);
      resNames.set(n, `Response${n}`);
    }
  }

  const files = `${api}Request.json, ${api}Response.json`;
  e.line(`// Generated by libs/kafka-producer/codegen/generate.ts from Kafka ${SCHEMA_VERSION} schemas (${files}).`);
  e.line('// Do not edit: change the generator and run `npm run codegen`.');
  e.line('/* eslint-disable */');
  const importsAt = e.mark();

  e.emitStruct(request.name, request.fields, valid, flexible, reqNames, `${api} request (API key ${request.apiKey}), versions ${request.validVersions}.`);
  e.emitStruct(response.name, response.fields, valid, flexible, resNames, `${api} response (API key ${response.apiKey}), versions ${response.validVersions}.`);

  const flexFrom = flexible === null ? 'Number.POSITIVE_INFINITY' : String(flexible.min);
  // ApiVersions responses always use header v0 so that a client can read the error of an unsupported version.
  const responseHeader = api === 'ApiVersions' ? '0' : '(v >= FLEX ? 1 : 0)';
  e.line(`const FLEX = ${flexFrom};`);
  e.line();
  e.line(`export const ${api}Api: KafkaApi<${request.name}, ${response.name}> = {`);
  e.line(`  apiKey: ${request.apiKey},`);
  e.line(`  name: '${api}',`);
  e.line(`  minVersion: ${valid.min},`);
  e.line(`  maxVersion: ${valid.max},`);
  e.line(`  flexibleVersionsFrom: FLEX,`);
  e.line(`  requestHeaderVersion: (v) => (v >= FLEX ? 2 : 1),`);
  e.line(`  responseHeaderVersion: (${api === 'ApiVersions' ? '_v' : 'v'}) => ${responseHeader},`);
  e.line(`  encodeRequest: (w, m, v) => write${request.name}(w, m, v, v >= FLEX),`);
  e.line(`  decodeRequest: (r, v) => read${request.name}(r, v, v >= FLEX),`);
  e.line(`  encodeResponse: (w, m, v) => write${response.name}(w, m, v, v >= FLEX),`);
  e.line(`  decodeResponse: (r, v) => read${response.name}(r, v, v >= FLEX),`);
  e.line('};');
  e.line();
  const body = e.text();
  const uses = (id: string): boolean => new RegExp(`\\b${id}\\b`).test(body);
  const support = ['EMPTY', 'ZERO_UUID', 'isDefault', 'readArray', 'readNullableArray'].filter(uses);
  const imports = [
    uses('ProtocolEncodeError') ? "import { ProtocolEncodeError } from '../../errors';" : '',
    "import type { Reader } from '../primitives/reader';",
    `import ${uses('new Writer') ? '' : 'type '}{ Writer } from '../primitives/writer';`,
    support.length > 0 ? `import { ${support.join(', ')} } from './codec-support';` : '',
    "import type { KafkaApi } from './kafka-api';",
    '',
  ].filter((l, i, all) => l !== '' || i === all.length - 1);
  e.insert(importsAt, imports);
  return { file: `${kebab(api)}.generated.ts`, content: e.text() };
}

/** The protocol error table (errors.tsv) as a frozen lookup by code, emitted into src/errors. */
function generateErrorTable(): { file: string; content: string } {
  const shared = path.join(SHARED, '..', 'errors.tsv');
  const tsv = fs.readFileSync(fs.existsSync(shared) ? shared : path.join(VENDORED, '..', 'errors.tsv'), 'utf8');
  const rows = tsv
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split('\t'));
  const lines = [
    '// Generated by libs/kafka-producer/codegen/generate.ts from errors.tsv (Kafka ' + SCHEMA_VERSION + '). Do not edit.',
    '/* eslint-disable */',
    '',
    'export interface ProtocolErrorInfo {',
    '  readonly code: number;',
    '  /** The wire name, e.g. NOT_LEADER_OR_FOLLOWER. */',
    '  readonly name: string;',
    "  /** The Java client's exception class for it. */",
    '  readonly exception: string;',
    '  readonly retriable: boolean;',
    '  /** Whether the Java client refreshes metadata when it sees this error. */',
    '  readonly invalidatesMetadata: boolean;',
    '}',
    '',
    'export const PROTOCOL_ERRORS: ReadonlyMap<number, ProtocolErrorInfo> = new Map<number, ProtocolErrorInfo>([',
    ...rows.map(
      ([code, name, exception, retriable, invalidates]) =>
        `  [${code}, { code: ${code}, name: '${name}', exception: '${exception ?? ''}', retriable: ${retriable === 'true'}, invalidatesMetadata: ${invalidates === 'true'} }],`,
    ),
    ']);',
    '',
  ];
  return { file: '../../errors/error-codes.generated.ts', content: lines.join('\n') };
}

function main(): void {
  const check = process.argv.includes('--check');
  const outputs = APIS.map(generate);
  const index = [
    `// Generated by libs/kafka-producer/codegen/generate.ts. Do not edit.`,
    ...outputs.map((o) => `export * from './${o.file.replace(/\.ts$/, '')}';`),
    '',
  ].join('\n');
  outputs.push({ file: 'index.generated.ts', content: index });

  outputs.push(generateErrorTable());

  // Keep a vendored copy of the schemas next to the generator so a clone without shared/ regenerates.
  if (!check && fs.existsSync(SHARED)) {
    fs.mkdirSync(VENDORED, { recursive: true });
    for (const api of APIS) {
      for (const side of ['Request', 'Response']) {
        fs.copyFileSync(path.join(SHARED, `${api}${side}.json`), path.join(VENDORED, `${api}${side}.json`));
      }
    }
    fs.copyFileSync(path.join(SHARED, '..', 'errors.tsv'), path.join(VENDORED, '..', 'errors.tsv'));
  }

  let stale = 0;
  for (const o of outputs) {
    const target = path.join(o.file.startsWith('../') ? path.resolve(OUT_DIR, o.file) : path.join(OUT_DIR, o.file));
    const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : null;
    if (current === o.content) continue;
    if (check) {
      console.error(`codegen: ${path.relative(process.cwd(), target)} is out of date`);
      stale++;
    } else {
      fs.writeFileSync(target, o.content);
      console.log(`codegen: wrote ${path.relative(process.cwd(), target)}`);
    }
  }
  if (check && stale > 0) {
    console.error('codegen: run `npm run codegen` and commit the result');
    process.exit(1);
  }
  if (check) console.log(`codegen: ${outputs.length} generated files are up to date`);
}

main();
