import { runJavaToolOrThrow } from './java-tools';
import { KafkaJars } from './maven-jars';

/** One batch header line of DumpLogSegments, plus the record lines under it (with --deep-iteration). */
export interface DumpedBatch {
  baseOffset: bigint;
  lastOffset: bigint;
  count: number;
  baseSequence: number;
  lastSequence: number;
  producerId: bigint;
  producerEpoch: number;
  partitionLeaderEpoch: number;
  isTransactional: boolean;
  isControl: boolean;
  position: number;
  timestampType: string;
  timestamp: number;
  size: number;
  magic: number;
  compressCodec: string;
  crc: number;
  isValid: boolean;
  /** Every `name: value` token of the line, for fields not lifted above (e.g. deleteHorizonMs). */
  fields: Record<string, string>;
  records: DumpedRecord[];
  raw: string;
}

export interface DumpedRecord {
  offset: bigint;
  timestampType: string;
  timestamp: number;
  keySize: number;
  valueSize: number;
  sequence: number | null;
  headerKeys: string[];
  /** Control records print `endTxnMarker: COMMIT|ABORT coordinatorEpoch: N` instead of a payload. */
  endTxnMarker: string | null;
  /** As printed (UTF-8 decoded by the tool): only meaningful for text payloads. */
  key: string | null;
  payload: string | null;
  fields: Record<string, string>;
  raw: string;
}

export interface DumpedSegment {
  nodeId: number | null;
  file: string;
  batches: DumpedBatch[];
  /** Lines the parser did not recognise (tool warnings, index mismatches, …). */
  otherLines: string[];
  raw: string;
}

const TIMESTAMP_TYPES = ['CreateTime', 'LogAppendTime', 'NoTimestampType'];

/** Runs DumpLogSegments on segment files (all in one JVM) and parses its output. */
export async function dumpLogSegmentFiles(jars: KafkaJars, files: readonly string[], options: { nodeId?: number; timeoutMs?: number } = {}): Promise<DumpedSegment[]> {
  if (files.length === 0) return [];
  const result = await runJavaToolOrThrow(jars, jars.profile.classes.dumpLogSegments, ['--deep-iteration', '--print-data-log', '--files', files.join(',')], {
    timeoutMs: options.timeoutMs ?? 120_000,
    heap: '512m',
  });
  return parseDumpLogSegments(result.stdout).map((s) => ({ ...s, nodeId: options.nodeId ?? null }));
}

/**
 * Parses `DumpLogSegments --deep-iteration --print-data-log` text. Format (3.9 and 4.x):
 *   Dumping <file>
 *   Log starting offset: N
 *   baseOffset: 0 lastOffset: 2 count: 3 baseSequence: 0 … CreateTime: 1700… size: 99 magic: 2 compresscodec: none crc: 123 isvalid: true
 *   | offset: 0 CreateTime: 1700… keySize: 1 valueSize: 5 sequence: 0 headerKeys: [a,b] key: k payload: hello
 * A payload is printed raw and may contain newlines: lines matching neither form continue the last record.
 */
export function parseDumpLogSegments(text: string): DumpedSegment[] {
  const segments: DumpedSegment[] = [];
  let seg: DumpedSegment | undefined;
  let batch: DumpedBatch | undefined;
  let record: DumpedRecord | undefined;
  for (const line of text.split('\n')) {
    const dumping = /^Dumping (.+)$/.exec(line);
    if (dumping !== null) {
      seg = { nodeId: null, file: dumping[1], batches: [], otherLines: [], raw: '' };
      segments.push(seg);
      batch = undefined;
      record = undefined;
    }
    if (seg === undefined) continue;
    seg.raw += `${line}\n`;
    if (dumping !== null) continue;
    if (line.startsWith('baseOffset: ')) {
      batch = parseBatch(line);
      seg.batches.push(batch);
      record = undefined;
    } else if (line.startsWith('| offset: ') && batch !== undefined) {
      record = parseRecord(line);
      batch.records.push(record);
    } else if (record !== undefined && record.payload !== null && !/^(Log starting offset|Found |Index |Time index|Mismatch|Non-consecutive)/.test(line) && line !== '') {
      record.payload += `\n${line}`;
      record.raw += `\n${line}`;
    } else if (line.trim() !== '' && !line.startsWith('Log starting offset:')) {
      seg.otherLines.push(line);
    }
  }
  return segments;
}

/** `name: value` pairs where values have no spaces (true for every batch field). */
function tokens(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /(\w+): (\S*)/g;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) out[m[1]] = m[2];
  return out;
}

function timestampOf(f: Record<string, string>): { timestampType: string; timestamp: number } {
  for (const t of TIMESTAMP_TYPES) if (f[t] !== undefined) return { timestampType: t, timestamp: Number(f[t]) };
  return { timestampType: 'unknown', timestamp: -1 };
}

function parseBatch(line: string): DumpedBatch {
  const f = tokens(line);
  const num = (k: string, d = -1): number => (f[k] === undefined ? d : Number(f[k]));
  return {
    baseOffset: BigInt(f.baseOffset ?? '-1'),
    lastOffset: BigInt(f.lastOffset ?? '-1'),
    count: num('count'),
    baseSequence: num('baseSequence'),
    lastSequence: num('lastSequence'),
    producerId: BigInt(f.producerId ?? '-1'),
    producerEpoch: num('producerEpoch'),
    partitionLeaderEpoch: num('partitionLeaderEpoch'),
    isTransactional: f.isTransactional === 'true',
    isControl: f.isControl === 'true',
    position: num('position'),
    ...timestampOf(f),
    size: num('size'),
    magic: num('magic'),
    compressCodec: f.compresscodec ?? 'unknown',
    // Printed as an unsigned 32-bit number.
    crc: num('crc'),
    isValid: f.isvalid === 'true',
    fields: f,
    records: [],
    raw: line,
  };
}

function parseRecord(line: string): DumpedRecord {
  // Cut off the free-text tail first: key and payload are printed raw and may contain anything.
  let head = line;
  let key: string | null = null;
  let payload: string | null = null;
  const p = line.indexOf(' payload: ');
  if (p >= 0) {
    payload = line.slice(p + ' payload: '.length);
    head = line.slice(0, p);
  }
  const k = head.indexOf(' key: ');
  if (k >= 0) {
    key = head.slice(k + ' key: '.length);
    head = head.slice(0, k);
  }
  let headerKeys: string[] = [];
  const hk = /headerKeys: \[(.*)\]/.exec(head);
  if (hk !== null) {
    headerKeys = hk[1] === '' ? [] : hk[1].split(',');
    head = head.replace(hk[0], '');
  }
  const f = tokens(head);
  const marker = /endTxnMarker: (\w+)/.exec(line);
  return {
    offset: BigInt(f.offset ?? '-1'),
    ...timestampOf(f),
    keySize: f.keySize === undefined ? -1 : Number(f.keySize),
    valueSize: f.valueSize === undefined ? -1 : Number(f.valueSize),
    sequence: f.sequence === undefined ? null : Number(f.sequence),
    headerKeys,
    endTxnMarker: marker === null ? null : marker[1],
    key,
    payload,
    fields: f,
    raw: line,
  };
}
