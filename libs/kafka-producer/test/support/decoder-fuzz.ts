/**
 * Test-only helpers for decoder-fuzz.spec.ts: seed frames with the offsets of their length fields, byte
 * mutations, and the check every fuzz case must pass (success or a ProtocolDecodeError, quickly, with
 * allocations bounded by the input).
 */
import { ProtocolDecodeError } from '../../src/errors';
import { Reader } from '../../src/protocol/primitives/reader';

// ---- length-field sites ------------------------------------------------------------------------------

/**
 * Where a seed holds a length or count, found by decoding it once with a TracingReader. `int16`: a classic
 * string length; `int32`: classic bytes length or array count; `uvarint`: a compact length / count (N+1)
 * or a tagged-field count; `varint` / `varlong`: zigzag record fields.
 */
export type SiteKind = 'int16' | 'int32' | 'uvarint' | 'varint' | 'varlong';

export interface Site {
  readonly at: number;
  readonly kind: SiteKind;
  /** A tagged-field section: unknown tags may be inserted there. */
  readonly tagged?: boolean;
  /** Inside a known tagged field: inserting bytes here would also need the field's size changed. */
  readonly inTag?: boolean;
}

/** A Reader that records the offset of every length prefix the decoder reads through it. */
export class TracingReader extends Reader {
  constructor(
    buf: Buffer,
    offset: number,
    end: number,
    private readonly sites: Site[],
    private readonly inTag = false,
  ) {
    super(buf, offset, end);
  }

  private mark(kind: SiteKind, tagged = false): void {
    this.sites.push({ at: this.offset, kind, ...(tagged ? { tagged } : {}), ...(this.inTag ? { inTag: true } : {}) });
  }

  override string(): string {
    this.mark('int16');
    return super.string();
  }

  override nullableString(): string | null {
    this.mark('int16');
    return super.nullableString();
  }

  // bytes() and compactString()/compactBytes() go through these nullable forms, so each site is marked once.
  override nullableBytes(): Buffer | null {
    this.mark('int32');
    return super.nullableBytes();
  }

  override compactNullableString(): string | null {
    this.mark('uvarint');
    return super.compactNullableString();
  }

  override compactNullableBytes(): Buffer | null {
    this.mark('uvarint');
    return super.compactNullableBytes();
  }

  override arrayLength(compact: boolean): number | null {
    this.mark(compact ? 'uvarint' : 'int32');
    return super.arrayLength(compact);
  }

  override taggedFields(onTag?: (tag: number, field: Reader) => boolean): void {
    this.mark('uvarint', true);
    // Known tags are decoded from a child reader; trace inside it too.
    const traced = onTag && ((tag: number, field: Reader) => onTag(tag, new TracingReader(field.buf, field.offset, field.end, this.sites, true)));
    super.taggedFields(traced);
  }
}

/** Sites sorted by offset, without duplicates. */
export function uniqueSites(sites: readonly Site[]): Site[] {
  const byAt = new Map<number, Site>();
  for (const s of sites) if (!byAt.has(s.at) || s.tagged) byAt.set(s.at, s);
  return [...byAt.values()].sort((a, b) => a.at - b.at);
}

/**
 * The length sites of a valid uncompressed RecordBatch v2: batchLength, recordsCount and, per record, its
 * length, timestampDelta, offsetDelta, key / value lengths, header count and header key / value lengths.
 */
export function recordBatchSites(batch: Buffer): Site[] {
  const sites: Site[] = [
    { at: 8, kind: 'int32' },
    { at: 57, kind: 'int32' },
  ];
  const r = new Reader(batch, 61);
  const varint = (kind: 'varint' | 'varlong'): number => {
    sites.push({ at: r.offset, kind });
    return kind === 'varint' ? r.varint() : r.varlong();
  };
  const sized = (): void => {
    const n = varint('varint');
    if (n > 0) r.skip(n);
  };
  while (r.remaining > 0) {
    varint('varint'); // record length
    r.int8();
    varint('varlong');
    varint('varint'); // offsetDelta
    sized();
    sized();
    const headers = varint('varint');
    for (let h = 0; h < headers; h++) {
      sized();
      sized();
    }
  }
  return sites;
}

// ---- byte-level helpers -------------------------------------------------------------------------------

export function encodeUnsignedVarint(value: number): Buffer {
  const out: number[] = [];
  let v = value >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

export function encodeVarint(value: number): Buffer {
  return encodeUnsignedVarint((value << 1) ^ (value >> 31));
}

/** Bytes taken by the varint at `at` (continuation bits), capped at the end of the buffer. */
export function varintLength(buf: Buffer, at: number): number {
  let n = 0;
  while (at + n < buf.length && (buf[at + n] & 0x80) !== 0) n++;
  return Math.min(n + 1, buf.length - at);
}

export function splice(buf: Buffer, at: number, removed: number, inserted: Buffer): Buffer {
  return Buffer.concat([buf.subarray(0, at), inserted, buf.subarray(at + removed)]);
}

/** Bytes a site's field occupies in `buf`. */
export function siteWidth(buf: Buffer, site: Site): number {
  switch (site.kind) {
    case 'int16':
      return 2;
    case 'int32':
      return 4;
    default:
      return varintLength(buf, site.at);
  }
}

/** Replaces the field at `site` by `value` written the site's way (fixed width or varint). */
export function writeSite(buf: Buffer, site: Site, value: number): Buffer {
  const width = siteWidth(buf, site);
  let bytes: Buffer;
  switch (site.kind) {
    case 'int16':
      bytes = Buffer.alloc(2);
      bytes.writeInt16BE(((value << 16) >> 16), 0);
      break;
    case 'int32':
      bytes = Buffer.alloc(4);
      bytes.writeInt32BE(value | 0, 0);
      break;
    case 'uvarint':
      bytes = encodeUnsignedVarint(value);
      break;
    default:
      bytes = encodeVarint(value | 0);
  }
  return splice(buf, site.at, width, bytes);
}

/** Hostile values for a length at `site`: null / -1, -2, INT32_MAX, INT32_MIN, and just past the bytes left. */
export function hostileLengths(buf: Buffer, site: Site): number[] {
  const left = buf.length - site.at;
  switch (site.kind) {
    case 'int16':
      return [-1, -2, 0x7fff, -0x8000, left, left + 1];
    case 'uvarint':
      // compact: N+1, so 0 is null, 0xffffffff claims 4 GiB - 2 and INT32_MAX+1 is the first count past int32
      return [0, 1, 0xffffffff, 0x7fffffff, 0x80000000, left + 1, left + 2];
    default:
      return [-1, -2, 0x7fffffff, -0x80000000, left, left + 1];
  }
}

// ---- allocation watch ---------------------------------------------------------------------------------

type AllocFn = (size: number, ...rest: never[]) => Buffer;

/**
 * Records the Buffer allocations made while a decode runs. Buffer.alloc, allocUnsafe and allocUnsafeSlow are
 * the ways JavaScript code (ours, Buffer.concat, zlib) gets memory for bytes; the generated decoders and the
 * record decoder should allocate none at all (they hand out views), and a decompressor only its output. The
 * methods are replaced by hand rather than with jest.spyOn, whose call log would grow with every case.
 */
export class AllocationWatch {
  active = false;
  largest = 0;
  total = 0;
  /**
   * Array counts handed to a decoder (Reader.arrayLength, which readArray turns into `new Array(count)`)
   * that exceed the bytes left after them. `new Array(n)` cannot be watched like a Buffer, and a huge
   * sparse array costs nothing until it is filled, so the count is checked where it is taken from the wire.
   */
  oversizedArrayClaims = 0;
  private readonly originals: Array<[keyof typeof Buffer, AllocFn]> = [];
  private originalArrayLength: Reader['arrayLength'] | null = null;

  install(): void {
    const arrayLength = Reader.prototype.arrayLength;
    this.originalArrayLength = arrayLength;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const watch = this;
    Reader.prototype.arrayLength = function (this: Reader, compact: boolean): number | null {
      const n = arrayLength.call(this, compact);
      if (watch.active && n !== null && n > this.remaining) watch.oversizedArrayClaims++;
      return n;
    };
    for (const name of ['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const) {
      const original = Buffer[name] as AllocFn;
      this.originals.push([name, original]);
      const replacement = (size: number, ...rest: never[]): Buffer => {
        if (this.active) {
          this.largest = Math.max(this.largest, size);
          this.total += size;
        }
        return original.call(Buffer, size, ...rest);
      };
      (Buffer as unknown as Record<string, AllocFn>)[name] = replacement;
    }
  }

  uninstall(): void {
    if (this.originalArrayLength !== null) Reader.prototype.arrayLength = this.originalArrayLength;
    this.originalArrayLength = null;
    for (const [name, original] of this.originals) (Buffer as unknown as Record<string, AllocFn>)[name] = original;
    this.originals.length = 0;
  }

  reset(): void {
    this.largest = 0;
    this.total = 0;
    this.oversizedArrayClaims = 0;
  }
}

// ---- the property -------------------------------------------------------------------------------------

/** Generous: a decode is microseconds; one that takes a second is looping on the input. */
export const HANG_MS = 1000;

/**
 * A successful decode yields at most this many values (objects, arrays, strings, numbers...) per input
 * byte, plus a constant. Every array element costs at least one byte of input, but one element may hold
 * a dozen fields, defaults included (a flexible struct whose fields are all tagged is a single 0x00 byte),
 * so the bound is a multiple, not 1:1.
 */
export const VALUES_PER_BYTE = 32;
export const VALUES_CONSTANT = 256;

export interface FuzzStats {
  cases: number;
  decoded: number;
  rejected: number;
  /** Largest ratio of decoded values to input bytes seen in a successful decode. */
  maxValuesPerByte: number;
}

export function newStats(): FuzzStats {
  return { cases: 0, decoded: 0, rejected: 0, maxValuesPerByte: 0 };
}

export interface DecodeCheck {
  readonly watch: AllocationWatch;
  readonly stats: FuzzStats;
  /** Largest single Buffer allocation the decode may make, for an input of `n` bytes. */
  readonly maxAllocation: (n: number) => number;
  /**
   * Longest array / string / Buffer a decoded value may hold (defaults to the input length: every one
   * of them comes out of the input, or for a compressed batch out of its decompressed bytes).
   */
  readonly maxLength?: (n: number) => number;
}

/**
 * Runs `decode(input)` and throws (failing the property) unless it returned or threw a ProtocolDecodeError,
 * within HANG_MS, allocating no Buffer above `maxAllocation(input.length)`, and returning nothing longer
 * than the input could hold.
 */
export function checkDecode<T>(check: DecodeCheck, input: Buffer, decode: (bytes: Buffer) => T): T | ProtocolDecodeError {
  const { watch, stats } = check;
  stats.cases++;
  watch.reset();
  let value: T | undefined;
  let error: unknown;
  let threw = false;
  const started = performance.now();
  watch.active = true;
  try {
    value = decode(input);
  } catch (err) {
    threw = true;
    error = err;
  } finally {
    watch.active = false;
  }
  const elapsed = performance.now() - started;
  const what = () => `input ${input.toString('hex')}`;
  if (elapsed > HANG_MS) throw new Error(`decode took ${elapsed.toFixed(0)} ms (limit ${HANG_MS}); ${what()}`);
  if (watch.largest > check.maxAllocation(input.length)) {
    throw new Error(`decode allocated a ${watch.largest}-byte Buffer for ${input.length} input bytes; ${what()}`);
  }
  if (watch.oversizedArrayClaims > 0) throw new Error(`decode accepted an array count larger than the bytes left; ${what()}`);
  if (threw) {
    if (error instanceof ProtocolDecodeError) {
      stats.rejected++;
      return error;
    }
    const e = error as Error;
    throw new Error(`decode threw ${e?.constructor?.name ?? typeof error} instead of ProtocolDecodeError: ${e?.message}; ${what()}`);
  }
  stats.decoded++;
  const limit = check.maxLength ? check.maxLength(input.length) : input.length;
  const values = countValues(value, limit, what);
  stats.maxValuesPerByte = Math.max(stats.maxValuesPerByte, values / Math.max(1, input.length));
  if (values > VALUES_PER_BYTE * input.length + VALUES_CONSTANT) {
    throw new Error(`decode produced ${values} values from ${input.length} bytes; ${what()}`);
  }
  return value as T;
}

/** Counts the values in a decoded tree, failing on any array / string / Buffer longer than `limit`. */
function countValues(root: unknown, limit: number, what: () => string): number {
  let values = 0;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    values++;
    if (Buffer.isBuffer(v) || typeof v === 'string' || Array.isArray(v)) {
      if (v.length > limit) throw new Error(`decoded a ${typeof v === 'string' ? 'string' : Array.isArray(v) ? 'array' : 'Buffer'} of ${v.length} from ${limit} bytes; ${what()}`);
      if (Array.isArray(v)) for (const el of v) stack.push(el);
    } else if (v !== null && typeof v === 'object') {
      for (const el of Object.values(v)) stack.push(el);
    }
  }
  return values;
}
