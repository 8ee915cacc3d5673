/**
 * Reading Kafka's JSON message schemas: shared by the code generator and by the golden-byte tests.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const SCHEMA_VERSION = '4.3';
export const ROOT = path.resolve(__dirname, '..');
export const OUT_DIR = path.join(ROOT, 'src/protocol/messages');
export const VENDORED = path.join(ROOT, 'codegen/spec', SCHEMA_VERSION);
export const SHARED = path.resolve(ROOT, '../../../shared/kafka-protocol', SCHEMA_VERSION);

/** The APIs this library speaks, in API-key order; file stem = kebab-case API name. */
export const APIS = [
  'Produce',
  'Metadata',
  'FindCoordinator',
  'SaslHandshake',
  'ApiVersions',
  'CreateTopics',
  'DeleteTopics',
  'InitProducerId',
  'AddPartitionsToTxn',
  'AddOffsetsToTxn',
  'EndTxn',
  'TxnOffsetCommit',
  'SaslAuthenticate',
  'DescribeCluster',
];

export interface FieldSpec {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string | number | boolean;
  ignorable?: boolean;
  about?: string;
  fields?: FieldSpec[];
}

export interface MessageSpec {
  apiKey: number;
  type: 'request' | 'response';
  name: string;
  validVersions: string;
  flexibleVersions: string;
  fields: FieldSpec[];
  commonStructs?: Array<{ name: string; versions: string; fields: FieldSpec[] }>;
}

export interface Range {
  min: number;
  max: number;
}

export function parseRange(text: string | undefined): Range | null {
  if (text === undefined || text === 'none') return null;
  const t = text.trim();
  if (t.endsWith('+')) return { min: Number(t.slice(0, -1)), max: Number.POSITIVE_INFINITY };
  const dash = t.indexOf('-');
  if (dash >= 0) return { min: Number(t.slice(0, dash)), max: Number(t.slice(dash + 1)) };
  return { min: Number(t), max: Number(t) };
}

export function readSchema(file: string): MessageSpec {
  const dir = fs.existsSync(path.join(SHARED, file)) ? SHARED : VENDORED;
  const raw = fs.readFileSync(path.join(dir, file), 'utf8');
  // The schemas are JSON with whole-line `//` comments (license header and notes).
  const json = raw
    .split('\n')
    .filter((line) => !line.trim().startsWith('//'))
    .join('\n');
  return JSON.parse(json) as MessageSpec;
}

export const camel = (name: string): string => name.charAt(0).toLowerCase() + name.slice(1);
export const kebab = (name: string): string => name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

export const PRIMITIVES = new Set(['int8', 'int16', 'uint16', 'int32', 'int64', 'float64', 'bool', 'string', 'bytes', 'records', 'uuid']);

