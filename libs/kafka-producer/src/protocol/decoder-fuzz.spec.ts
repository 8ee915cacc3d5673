import * as fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { buildSample } from '../../codegen/samples';
import { APIS, readSchema } from '../../codegen/schema';
import { GOLDEN_COMPRESSED_BATCHES } from '../../test/fixtures/compression/golden-compressed-batches';
import { GOLDEN_BATCHES } from '../../test/fixtures/records/golden-batches';
import {
  AllocationWatch,
  checkDecode,
  DecodeCheck,
  hostileLengths,
  newStats,
  Site,
  splice,
  TracingReader,
  encodeUnsignedVarint,
  recordBatchSites,
  siteWidth,
  uniqueSites,
  writeSite,
} from '../../test/support/decoder-fuzz';
import { ProtocolDecodeError } from '../errors';
import { FrameDecoder } from '../network/frame-decoder';
import { readResponseHeader } from './messages/headers';
import * as messages from './messages/index.generated';
import type { KafkaApi } from './messages/kafka-api';
import { nativeCrc32cLoaded } from './primitives/crc32c';
import { Reader } from './primitives/reader';
import { Writer } from './primitives/writer';
import { compressBatch, CompressionName, decompressRecords } from './records/compression';
import { CompressionCodec, updateRecordBatchCrc } from './records/record-batch';
import { RecordBatchBuilder } from './records/record-batch-builder';
import { decodeRecordBatches } from './records/record-batch-decoder';

/**
 * Fuzzing of everything that reads bytes from a broker: every response decoder at every version the
 * library speaks (response header included, as the connection reads it), and the RecordBatch decoder
 * (plain and compressed). Seeds are valid encodings; mutations flip bits, truncate, write hostile values
 * where lengths are, stretch varints past their limit, add tagged fields, splice in random bytes.
 *
 * Property of every case (checkDecode): the decode returns, or throws a ProtocolDecodeError (a RangeError,
 * TypeError or plain Error is a failure); it takes under HANG_MS; it allocates no Buffer larger than the
 * input (decompression: see COMPRESSED_ALLOCATION); and nothing it returns is longer than the input.
 *
 * FUZZ_MULTIPLIER scales the case counts (`npm run test:fuzz` runs 20x); FUZZ_SEED replays a run.
 */

const MULTIPLIER = Number(process.env.FUZZ_MULTIPLIER ?? '1');
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const runs = (n: number): number => Math.max(1, Math.round(n * MULTIPLIER));
// The per-test budget grows with the case count; the normal run needs a few seconds per test.
const TIMEOUT = 60_000 * Math.max(1, MULTIPLIER);

const watch = new AllocationWatch();
const stats = newStats();
const started = performance.now();

function assertProperty<T>(arb: fc.Arbitrary<T>, numRuns: number, predicate: (value: T) => void): void {
  fc.assert(fc.property(arb, predicate), { numRuns, seed: SEED });
}

/** Generated decoders and the record decoder hand out views: nothing they allocate may exceed the input. */
const plain: DecodeCheck = { watch, stats, maxAllocation: (n) => n };

beforeAll(() => {
  // the optional native CRC-32C is required on the first large checksum, and loading a module reads files
  // into Buffers: load it before the watch, so the first decode is not charged with it
  nativeCrc32cLoaded();
  watch.install();
});
afterAll(() => {
  watch.uninstall();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `decoder fuzz: ${stats.cases} cases in ${seconds} s (${stats.decoded} decoded, ${stats.rejected} rejected with ProtocolDecodeError; ` +
      `at most ${stats.maxValuesPerByte.toFixed(2)} decoded values per input byte); FUZZ_MULTIPLIER=${MULTIPLIER}`,
  );
  // The reliability report (test/reliability/run.ts) quotes these figures.
  if (process.env.FUZZ_STATS_FILE !== undefined) {
    writeFileSync(process.env.FUZZ_STATS_FILE, JSON.stringify({ ...stats, seconds: Number(seconds), multiplier: MULTIPLIER, seed: SEED ?? null }));
  }
});

// ---- seeds -------------------------------------------------------------------------------------------

interface ResponseSeed {
  readonly name: string;
  readonly api: KafkaApi<unknown, unknown>;
  readonly version: number;
  readonly headerVersion: 0 | 1;
  /** Response header (correlation id, tagged fields from header v1) and body, as a frame body arrives. */
  readonly frame: Buffer;
  readonly body: Buffer;
  readonly sites: readonly Site[];
}

const CORRELATION_ID = 0x01020304;

/** What the connection does with a frame body: the response header, then the API's body decoder. */
function decodeFrame(seed: ResponseSeed, bytes: Buffer, reader: Reader = new Reader(bytes)): unknown {
  readResponseHeader(reader, seed.headerVersion);
  return seed.api.decodeResponse(reader, seed.version);
}

function responseSeeds(): ResponseSeed[] {
  const seeds: ResponseSeed[] = [];
  for (const name of APIS) {
    const api = (messages as unknown as Record<string, KafkaApi<unknown, unknown>>)[`${name}Api`];
    const schema = readSchema(`${name}Response.json`);
    for (let version = api.minVersion; version <= api.maxVersion; version++) {
      const body = new Writer();
      api.encodeResponse(body, buildSample(schema, version), version);
      const headerVersion = api.responseHeaderVersion(version);
      const frame = new Writer();
      frame.int32(CORRELATION_ID);
      if (headerVersion === 1) frame.unsignedVarint(0);
      const bodyBytes = Buffer.from(body.toBuffer());
      const frameBytes = Buffer.concat([frame.toBuffer(), bodyBytes]);
      const traced: Site[] = [];
      const seed = { name: `${name} v${version}`, api, version, headerVersion, frame: frameBytes, body: bodyBytes, sites: [] };
      const reader = new TracingReader(frameBytes, 0, frameBytes.length, traced);
      decodeFrame(seed, frameBytes, reader);
      if (reader.remaining !== 0) throw new Error(`${seed.name}: the seed decodes with ${reader.remaining} bytes left`);
      seeds.push({ ...seed, sites: uniqueSites(traced) });
    }
  }
  return seeds;
}

interface BatchSeed {
  readonly name: string;
  readonly bytes: Buffer;
  /** Length sites; empty for a compressed batch (its records are not readable in place). */
  readonly sites: readonly Site[];
  readonly compressed: boolean;
  /** Where a batch ends inside the seed: a prefix that long is itself valid. */
  readonly boundaries?: readonly number[];
}

const T0 = 1_700_000_000_000;

function built(records: Array<[Buffer | null, Buffer | null, Array<{ key: string; value: Buffer | null }>]>, size = 4096): RecordBatchBuilder {
  const builder = new RecordBatchBuilder(Buffer.alloc(size));
  records.forEach(([key, value, headers], i) => builder.append(T0 + i * 7 - (i % 3) * 11, key, value, headers));
  return builder;
}

function sampleBuilders(): Array<[string, () => RecordBatchBuilder]> {
  const b = (s: string): Buffer => Buffer.from(s);
  return [
    ['one record', () => built([[b('key'), b('value'), []]])],
    ['null key and value', () => built([[null, null, []], [b(''), b(''), []]])],
    ['headers', () => built([[b('k'), b('v'), [{ key: 'h1', value: b('x') }, { key: 'ключ✓', value: null }, { key: '', value: b('') }]]])],
    ['two-byte varints', () => built([[b('k'.repeat(70)), Buffer.alloc(300, 7), [{ key: 'h'.repeat(65), value: Buffer.alloc(200, 1) }]]])],
    ['many records', () => built(Array.from({ length: 12 }, (_, i) => [i % 4 === 0 ? null : b(`key-${i}`), b(`value-${i}`.repeat(i % 3)), i % 2 ? [{ key: `h${i}`, value: b('v') }] : []]))],
  ];
}

function batchSeeds(): { plain: BatchSeed[]; compressed: BatchSeed[] } {
  const plainSeeds: BatchSeed[] = [];
  const add = (name: string, bytes: Buffer): void => {
    plainSeeds.push({ name, bytes, sites: recordBatchSites(bytes), compressed: false });
  };
  for (const [name, make] of sampleBuilders()) {
    add(name, Buffer.from(make().close()));
    add(`${name} (transactional)`, Buffer.from(make().close({ producerId: 4711n, producerEpoch: 3, baseSequence: 40, isTransactional: true })));
  }
  for (const golden of GOLDEN_BATCHES) if (golden.compression === 'none') add(`Java ${golden.name}`, Buffer.from(golden.batch, 'hex'));
  // Two batches back to back: decodeRecordBatches must find the second by the first's batchLength.
  const first = plainSeeds[0].bytes;
  const second = plainSeeds[2].bytes;
  plainSeeds.push({
    name: 'two batches',
    bytes: Buffer.concat([first, second]),
    sites: [...recordBatchSites(first), ...recordBatchSites(second).map((s) => ({ ...s, at: s.at + first.length }))],
    compressed: false,
    boundaries: [first.length],
  });

  const compressed: BatchSeed[] = [];
  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as CompressionName[]) {
    for (const [name, make] of sampleBuilders()) {
      compressed.push({ name: `${name} (${codec})`, bytes: Buffer.from(compressBatch(make(), codec)), sites: [], compressed: true });
    }
  }
  for (const golden of GOLDEN_COMPRESSED_BATCHES) {
    const bytes = Buffer.from(golden.batch, 'hex');
    if (bytes.length <= 4096) compressed.push({ name: `Java ${golden.name}`, bytes, sites: [], compressed: true });
  }
  return { plain: plainSeeds, compressed };
}

const RESPONSES = responseSeeds();
const BATCHES = batchSeeds();
const FLEXIBLE = RESPONSES.filter((s) => s.version >= s.api.flexibleVersionsFrom);

// ---- mutations -----------------------------------------------------------------------------------------

/** A tagged field to insert; `lie` makes the size claim more bytes than follow. */
interface TaggedField {
  tag: number;
  payload: Uint8Array;
  lie: number;
}

type Mutation =
  | { kind: 'flip'; flips: Array<[number, number]> }
  | { kind: 'truncate'; at: number }
  | { kind: 'length'; site: number; choice: number }
  | { kind: 'overlong'; site: number; extra: number; terminated: boolean; fill: number }
  | { kind: 'tags'; site: number; fields: TaggedField[] }
  | { kind: 'splice'; at: number; removed: number; inserted: Uint8Array };

const flip = fc.record({ kind: fc.constant('flip' as const), flips: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 7 })), { minLength: 1, maxLength: 4 }) });
const truncate = fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() });
const hostileLength = fc.record({ kind: fc.constant('length' as const), site: fc.nat(), choice: fc.nat() });
const overlong = fc.record({
  kind: fc.constant('overlong' as const),
  site: fc.nat(),
  // beyond 5 bytes for a 32-bit varint, beyond 10 for a varlong, or up to a few bytes over that
  extra: fc.integer({ min: 1, max: 12 }),
  terminated: fc.boolean(),
  fill: fc.constantFrom(0x80, 0xff, 0x8f, 0xf0),
});
const taggedField = fc.record({
  tag: fc.oneof(fc.nat({ max: 4 }), fc.integer({ min: 5, max: 0xffffffff })),
  payload: fc.uint8Array({ maxLength: 24 }),
  lie: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 0x7fffffff }) }),
});
const tags = fc.record({ kind: fc.constant('tags' as const), site: fc.nat(), fields: fc.array(taggedField, { minLength: 1, maxLength: 4 }) });
const spliced = fc.record({
  kind: fc.constant('splice' as const),
  at: fc.nat(),
  removed: fc.nat({ max: 8 }),
  inserted: fc.uint8Array({ maxLength: 16 }),
});
const anyMutation: fc.Arbitrary<Mutation> = fc.oneof(flip, truncate, hostileLength, overlong, tags, spliced);

function taggedSection(fields: readonly TaggedField[]): Buffer {
  const parts: Buffer[] = [encodeUnsignedVarint(fields.length)];
  for (const f of fields) {
    parts.push(encodeUnsignedVarint(f.tag), encodeUnsignedVarint(f.payload.length + f.lie), Buffer.from(f.payload));
  }
  return Buffer.concat(parts);
}

function mutate(input: Buffer, sites: readonly Site[], m: Mutation): Buffer {
  const site = (n: number): Site | undefined => {
    const s = sites.length === 0 ? { at: n % Math.max(1, input.length), kind: 'uvarint' as const } : sites[n % sites.length];
    return s.at < input.length ? s : undefined;
  };
  switch (m.kind) {
    case 'flip': {
      if (input.length === 0) return input;
      const out = Buffer.from(input);
      for (const [at, bit] of m.flips) out[at % out.length] ^= 1 << bit;
      return out;
    }
    case 'truncate':
      return input.subarray(0, m.at % Math.max(1, input.length));
    case 'length': {
      const s = site(m.site);
      if (s === undefined) return input;
      const values = hostileLengths(input, s);
      return writeSite(input, s, values[m.choice % values.length]);
    }
    case 'overlong': {
      const s = site(m.site);
      if (s === undefined) return input;
      const limit = s.kind === 'varlong' ? 10 : s.kind === 'int16' ? 2 : s.kind === 'int32' ? 4 : 5;
      const bytes = Buffer.alloc(limit + m.extra, m.fill | 0x80);
      if (m.terminated) bytes[bytes.length - 1] = 0x01;
      return splice(input, s.at, siteWidth(input, s), bytes);
    }
    case 'tags': {
      const tagged = sites.filter((s) => s.tagged);
      if (tagged.length === 0) return input;
      const s = tagged[m.site % tagged.length];
      if (s.at >= input.length) return input;
      // Replaces the section's count only: a non-empty section keeps its fields after the new ones,
      // which is then one more way to be malformed.
      return splice(input, s.at, siteWidth(input, s), taggedSection(m.fields));
    }
    case 'splice':
      return splice(input, m.at % (input.length + 1), m.removed, Buffer.from(m.inserted));
  }
}

function mutateAll(input: Buffer, sites: readonly Site[], ms: readonly Mutation[]): Buffer {
  return ms.reduce((bytes, m) => mutate(bytes, sites, m), input);
}

// ---- response decoders ----------------------------------------------------------------------------

const responseSeed = fc.nat({ max: RESPONSES.length - 1 }).map((i) => RESPONSES[i]);

function fuzzResponses(mutation: fc.Arbitrary<Mutation | Mutation[]>, numRuns: number): void {
  assertProperty(fc.tuple(responseSeed, mutation), numRuns, ([seed, m]) => {
    const bytes = mutateAll(seed.frame, seed.sites, Array.isArray(m) ? m : [m]);
    checkDecode(plain, bytes, (b) => decodeFrame(seed, b));
  });
}

describe('response decoders under fuzzing (every API, every version the library speaks)', () => {
  it('have a valid seed for every version of every API', () => {
    const apis = Object.values(messages as unknown as Record<string, KafkaApi<unknown, unknown>>);
    expect(new Set(RESPONSES.map((s) => s.api)).size).toBe(apis.length);
    for (const api of apis) {
      expect(RESPONSES.filter((s) => s.api === api).map((s) => s.version)).toEqual(
        Array.from({ length: api.maxVersion - api.minVersion + 1 }, (_, i) => api.minVersion + i),
      );
    }
    for (const seed of RESPONSES) expect(checkDecode(plain, seed.frame, (b) => decodeFrame(seed, b))).not.toBeInstanceOf(ProtocolDecodeError);
  });

  it('reject the truncation of every seed at every offset with a ProtocolDecodeError', () => {
    for (const seed of RESPONSES) {
      for (let cut = 0; cut < seed.frame.length; cut++) {
        const outcome = checkDecode(plain, seed.frame.subarray(0, cut), (b) => decodeFrame(seed, b));
        if (!(outcome instanceof ProtocolDecodeError)) throw new Error(`${seed.name} cut at ${cut} of ${seed.frame.length} decoded`);
      }
    }
  }, TIMEOUT);

  it('survive bit flips', () => fuzzResponses(flip, runs(15_000)), TIMEOUT);

  it('survive -1, -2, INT32_MAX and past-the-end values written where lengths and counts are', () => {
    fuzzResponses(hostileLength, runs(15_000));
  }, TIMEOUT);

  it('reject varints longer than 5 bytes where compact lengths, counts and tagged fields are', () => {
    // The decoder reaches every site of a seed (the bytes before it are unchanged), so it must reject
    // there: by the 32-bit limit, or by running out of bytes inside the varint.
    const withVarints = RESPONSES.filter((s) => s.sites.some((site) => site.kind === 'uvarint'));
    const seed = fc.nat({ max: withVarints.length - 1 }).map((i) => withVarints[i]);
    assertProperty(fc.tuple(seed, overlong), runs(5_000), ([s, m]) => {
      const sites = s.sites.filter((site) => site.kind === 'uvarint');
      const outcome = checkDecode(plain, mutate(s.frame, sites, m), (b) => decodeFrame(s, b));
      if (!(outcome instanceof ProtocolDecodeError) || !/varint/.test(outcome.message)) {
        throw new Error(`${s.name}: an overlong varint at ${sites[m.site % sites.length].at} was not rejected as one (${String(outcome)})`);
      }
    });
  }, TIMEOUT);

  it('survive unknown and malformed tagged fields in flexible versions', () => {
    const seed = fc.nat({ max: FLEXIBLE.length - 1 }).map((i) => FLEXIBLE[i]);
    assertProperty(fc.tuple(seed, tags), runs(8_000), ([s, m]) => {
      checkDecode(plain, mutate(s.frame, s.sites, m), (b) => decodeFrame(s, b));
    });
  }, TIMEOUT);

  it('skip well-formed unknown tagged fields and decode the same message', () => {
    const seed = fc.nat({ max: FLEXIBLE.length - 1 }).map((i) => FLEXIBLE[i]);
    const unknownField = fc.record({ tag: fc.integer({ min: 10_000, max: 0xffffffff }), payload: fc.uint8Array({ maxLength: 24 }), lie: fc.constant(0) });
    assertProperty(fc.tuple(seed, fc.nat(), fc.array(unknownField, { minLength: 1, maxLength: 4 })), runs(3_000), ([s, pick, fields]) => {
      const empty = s.sites.filter((site) => site.tagged === true && site.inTag !== true && s.frame[site.at] === 0);
      const at = empty[pick % empty.length];
      const bytes = splice(s.frame, at.at, 1, taggedSection(fields));
      const decoded = checkDecode(plain, bytes, (b) => decodeFrame(s, b));
      if (decoded instanceof ProtocolDecodeError) throw decoded;
      const again = new Writer();
      s.api.encodeResponse(again, decoded, s.version);
      if (!again.toBuffer().equals(s.body)) throw new Error(`${s.name}: unknown tags at ${at.at} changed the decoded message`);
    });
  }, TIMEOUT);

  it('survive random byte splices', () => fuzzResponses(spliced, runs(6_000)), TIMEOUT);

  it('survive several mutations stacked', () => fuzzResponses(fc.array(anyMutation, { minLength: 2, maxLength: 5 }), runs(12_000)), TIMEOUT);

  it('survive random bytes', () => {
    assertProperty(fc.tuple(responseSeed, fc.uint8Array({ maxLength: 128 })), runs(8_000), ([seed, bytes]) => {
      checkDecode(plain, Buffer.from(bytes), (b) => decodeFrame(seed, b));
    });
  }, TIMEOUT);
});

// ---- RecordBatch decoder ----------------------------------------------------------------------------

/** Puts batchLength and the CRC right again after a mutation, so the checks behind them are reached. */
function repair(bytes: Buffer, length: boolean, crc: boolean): Buffer {
  if (bytes.length < 61 || (!length && !crc)) return bytes;
  const out = Buffer.from(bytes);
  if (length) out.writeInt32BE(out.length - 12, 8);
  if (crc) updateRecordBatchCrc(out);
  return out;
}

const plainBatch = fc.nat({ max: BATCHES.plain.length - 1 }).map((i) => BATCHES.plain[i]);
// Mostly repaired: an unrepaired mutation is almost always caught by the length or CRC check alone.
const repairs = fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }), fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }));

function fuzzBatches(mutation: fc.Arbitrary<Mutation | Mutation[]>, numRuns: number): void {
  assertProperty(fc.tuple(plainBatch, mutation, repairs), numRuns, ([seed, m, [length, crc]]) => {
    const bytes = repair(mutateAll(seed.bytes, seed.sites, Array.isArray(m) ? m : [m]), length, crc);
    checkDecode(plain, bytes, (b) => decodeRecordBatches(b));
  });
}

/**
 * A decompressor's output is bounded by its format's expansion, not by the compressed size alone; the check
 * here is that nothing allocates more than deflate's worst case (~1032:1) of the compressed batch plus one
 * 64 KiB block, i.e. no allocation is taken from a size field in the stream without looking at the bytes.
 */
const COMPRESSED_ALLOCATION = (n: number): number => 1100 * n + 64 * 1024;
const compressedCheck: DecodeCheck = { watch, stats, maxAllocation: COMPRESSED_ALLOCATION, maxLength: COMPRESSED_ALLOCATION };

describe('RecordBatch decoder under fuzzing', () => {
  it('decodes every seed', () => {
    for (const seed of [...BATCHES.plain, ...BATCHES.compressed]) {
      const outcome = checkDecode(seed.compressed ? compressedCheck : plain, seed.bytes, (b) => decodeRecordBatches(b, decompressRecords));
      if (outcome instanceof ProtocolDecodeError) throw new Error(`${seed.name}: ${outcome.message}`);
    }
  });

  it('rejects the truncation of every seed at every offset', () => {
    for (const seed of [...BATCHES.plain, ...BATCHES.compressed]) {
      const check = seed.compressed ? compressedCheck : plain;
      for (let cut = 1; cut < seed.bytes.length; cut++) {
        const outcome = checkDecode(check, seed.bytes.subarray(0, cut), (b) => decodeRecordBatches(b, decompressRecords));
        if (!(outcome instanceof ProtocolDecodeError) && !seed.boundaries?.includes(cut)) throw new Error(`${seed.name} cut at ${cut} of ${seed.bytes.length} decoded`);
      }
    }
  }, TIMEOUT);

  it('rejects any change under the CRC when the CRC is left as it was', () => {
    const seeds = [...BATCHES.plain.filter((s) => s.name !== 'two batches'), ...BATCHES.compressed];
    const seed = fc.nat({ max: seeds.length - 1 }).map((i) => seeds[i]);
    assertProperty(fc.tuple(seed, fc.nat(), fc.nat({ max: 7 })), runs(2_000), ([s, at, bit]) => {
      const bytes = Buffer.from(s.bytes);
      // 17..20 is the CRC itself, 21.. what it covers
      bytes[17 + (at % (bytes.length - 17))] ^= 1 << bit;
      const outcome = checkDecode(s.compressed ? compressedCheck : plain, bytes, (b) => decodeRecordBatches(b, decompressRecords));
      if (!(outcome instanceof ProtocolDecodeError) || !/CRC mismatch/.test(outcome.message)) throw new Error(`${s.name}: flip at ${at} not caught by the CRC`);
    });
  }, TIMEOUT);

  it('survives bit flips', () => fuzzBatches(flip, runs(5_000)), TIMEOUT);

  it('survives -1, -2, INT32_MAX and past-the-end values where lengths and counts are', () => fuzzBatches(hostileLength, runs(6_000)), TIMEOUT);

  it('rejects varints longer than 5 bytes and varlongs longer than 10', () => {
    // batchLength and CRC repaired, so the decoder reaches the stretched field and must reject it there.
    const single = BATCHES.plain.filter((s) => s.boundaries === undefined);
    const seed = fc.nat({ max: single.length - 1 }).map((i) => single[i]);
    assertProperty(fc.tuple(seed, overlong), runs(2_000), ([s, m]) => {
      const sites = s.sites.filter((site) => site.kind === 'varint' || site.kind === 'varlong');
      const outcome = checkDecode(plain, repair(mutate(s.bytes, sites, m), true, true), (b) => decodeRecordBatches(b));
      if (!(outcome instanceof ProtocolDecodeError) || !/varint|varlong/.test(outcome.message)) {
        throw new Error(`${s.name}: an overlong varint at ${sites[m.site % sites.length].at} was not rejected as one (${String(outcome)})`);
      }
    });
  }, TIMEOUT);

  it('survives random byte splices and stacked mutations', () => {
    fuzzBatches(spliced, runs(2_000));
    fuzzBatches(fc.array(anyMutation, { minLength: 2, maxLength: 5 }), runs(4_000));
  }, TIMEOUT);

  it('survives random records behind a valid header', () => {
    const header = BATCHES.plain[0].bytes.subarray(0, 61);
    assertProperty(fc.tuple(fc.uint8Array({ maxLength: 96 }), fc.integer({ min: -2, max: 40 }), fc.constantFrom(0, 8)), runs(4_000), ([records, count, attributes]) => {
      const bytes = Buffer.concat([header, records]);
      bytes.writeInt32BE(count, 57);
      bytes.writeInt16BE(attributes, 21);
      checkDecode(plain, repair(bytes, true, true), (b) => decodeRecordBatches(b));
    });
  }, TIMEOUT);

  it('survives random bytes', () => {
    assertProperty(fc.uint8Array({ maxLength: 160 }), runs(1_000), (bytes) => {
      checkDecode(plain, Buffer.from(bytes), (b) => decodeRecordBatches(b));
    });
  }, TIMEOUT);

  it('survives mutated compressed batches (gzip, snappy, lz4, zstd) through the real decompressors', () => {
    const seed = fc.nat({ max: BATCHES.compressed.length - 1 }).map((i) => BATCHES.compressed[i]);
    const mutation = fc.oneof(flip, spliced, truncate, fc.array(fc.oneof(flip, spliced), { minLength: 2, maxLength: 4 }));
    assertProperty(fc.tuple(seed, mutation, repairs), runs(3_000), ([s, m, [length, crc]]) => {
      // Keep the 61-byte header apart so the mutations land in the compressed stream.
      const stream = mutateAll(s.bytes.subarray(61), [], Array.isArray(m) ? m : [m]);
      const bytes = repair(Buffer.concat([s.bytes.subarray(0, 61), stream]), length, crc);
      checkDecode(compressedCheck, bytes, (b) => decodeRecordBatches(b, decompressRecords));
    });
  }, TIMEOUT);

  it('rejects a compressed batch with an unknown codec id or without a decompressor', () => {
    const s = BATCHES.compressed[0];
    for (const codec of [5, 6, 7, CompressionCodec.Gzip]) {
      const bytes = Buffer.from(s.bytes);
      bytes.writeInt16BE((bytes.readInt16BE(21) & ~7) | codec, 21);
      updateRecordBatchCrc(bytes);
      expect(checkDecode(plain, bytes, (b) => decodeRecordBatches(b))).toBeInstanceOf(ProtocolDecodeError);
    }
  });
});

// ---- frame reassembly ---------------------------------------------------------------------------------

describe('response frame reassembly under fuzzing', () => {
  const MAX_FRAME = 64;

  it('hands over exactly the frames sent, however the stream is chunked, and stops at the first bad size', () => {
    const size = fc.oneof({ weight: 8, arbitrary: fc.nat({ max: MAX_FRAME }) }, { weight: 1, arbitrary: fc.constantFrom(-1, -2, MAX_FRAME + 1, 0x7fffffff, -0x80000000) });
    const frames = fc.array(fc.tuple(size, fc.nat()), { maxLength: 8 });
    assertProperty(fc.tuple(frames, fc.array(fc.nat({ max: 80 }), { maxLength: 12 })), runs(3_000), ([spec, cuts]) => {
      stats.cases++;
      const parts: Buffer[] = [];
      const expected: string[] = [];
      let invalid: number | null = null;
      for (const [n, fill] of spec) {
        const prefix = Buffer.alloc(4);
        prefix.writeInt32BE(n, 0);
        const body = Buffer.alloc(Math.max(0, Math.min(n, MAX_FRAME)), fill & 0xff);
        parts.push(prefix, body);
        if (invalid === null && (n < 0 || n > MAX_FRAME)) invalid = n;
        if (invalid === null) expected.push(body.toString('hex'));
      }
      const stream = Buffer.concat(parts);
      const received: string[] = [];
      let invalidSeen: number | null = null;
      const decoder = new FrameDecoder(
        MAX_FRAME,
        (buf, start, end) => {
          received.push(buf.subarray(start, end).toString('hex'));
          return true;
        },
        (n) => {
          invalidSeen = n;
        },
      );
      watch.reset();
      watch.active = true;
      let at = 0;
      try {
        for (const cut of [...cuts, stream.length]) {
          const next = Math.min(stream.length, at + cut);
          decoder.push(stream.subarray(at, next));
          if (decoder.bufferedBytes > MAX_FRAME + 4 + 80) throw new Error(`buffered ${decoder.bufferedBytes} bytes`);
          at = next;
        }
        if (at < stream.length) decoder.push(stream.subarray(at));
      } finally {
        watch.active = false;
      }
      if (watch.largest > MAX_FRAME) throw new Error(`allocated ${watch.largest} bytes with frames of at most ${MAX_FRAME}`);
      expect(received).toEqual(expected);
      expect(invalidSeen).toBe(invalid);
    });
  }, TIMEOUT);
});
