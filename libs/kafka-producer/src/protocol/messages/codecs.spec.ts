import * as fs from 'node:fs';
import { encodeAll, FIXTURE } from '../../../codegen/golden';
import { ProtocolDecodeError, ProtocolEncodeError } from '../../errors';
import { Reader } from '../primitives/reader';
import { Writer } from '../primitives/writer';
import * as messages from './index.generated';
import type { KafkaApi } from './kafka-api';

const apis = messages as unknown as Record<string, KafkaApi<unknown, unknown>>;
const fixtureLines = fs.readFileSync(FIXTURE, 'utf8').trim().split('\n');
const fixtures = fixtureLines.map((line) => {
  const [api, side, version, hex] = line.split(' ');
  return { api, side: side as 'request' | 'response', version: Number(version), bytes: Buffer.from(hex ?? '', 'hex') };
});

function decode(f: (typeof fixtures)[number], bytes = f.bytes): { value: unknown; reader: Reader } {
  const codec = apis[`${f.api}Api`];
  const reader = new Reader(bytes);
  const value = f.side === 'request' ? codec.decodeRequest(reader, f.version) : codec.decodeResponse(reader, f.version);
  return { value, reader };
}

function encode(f: (typeof fixtures)[number], value: unknown): Buffer {
  const codec = apis[`${f.api}Api`];
  const w = new Writer();
  if (f.side === 'request') codec.encodeRequest(w, value, f.version);
  else codec.encodeResponse(w, value, f.version);
  return Buffer.from(w.toBuffer());
}

describe('generated codecs', () => {
  it('cover every version of every API this library speaks, both directions', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(170);
    expect(new Set(fixtures.map((f) => f.api)).size).toBe(14);
  });

  it('encode the deterministic samples to the golden bytes that the Java client parsed and re-wrote identically', () => {
    // The fixture file is written by codegen/golden.ts only after GoldenCheck.java (the Java
    // client's own generated message classes) read every line and wrote back the same bytes.
    expect(encodeAll()).toEqual(fixtureLines);
  });

  it.each(fixtures.map((f) => [`${f.api} ${f.side} v${f.version}`, f] as const))('%s: decodes the golden bytes and re-encodes them unchanged', (_name, f) => {
    const { value, reader } = decode(f);
    expect(reader.remaining).toBe(0);
    expect(encode(f, value).equals(f.bytes)).toBe(true);
  });

  it('rejects every truncation of a message with a typed error, never reading past the end', () => {
    const samples = fixtures.filter((f) => ['Metadata', 'Produce', 'ApiVersions', 'CreateTopics'].includes(f.api) && f.version >= 9);
    for (const f of samples) {
      for (let cut = 0; cut < f.bytes.length; cut++) {
        const truncated = f.bytes.subarray(0, cut);
        let outcome: unknown;
        try {
          const { reader } = decode(f, truncated);
          // a prefix can only parse if it ends exactly at a valid boundary and nothing is missing
          outcome = reader.remaining;
        } catch (e) {
          outcome = e;
        }
        expect(outcome).toBeInstanceOf(ProtocolDecodeError);
      }
    }
  });

  it('rejects an array count larger than the bytes left before allocating it', () => {
    const r = new Reader(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 0]));
    expect(() => r.arrayLength(false)).toThrow(/array length 2147483647 exceeds the 2 bytes left/);
  });

  it('skips unknown tagged fields instead of failing', () => {
    const f = fixtures.find((x) => x.api === 'ApiVersions' && x.side === 'request' && x.version === 4)!;
    // the request ends with an empty tagged-field section (0x00); replace it with two unknown tags
    const withTags = Buffer.concat([f.bytes.subarray(0, f.bytes.length - 1), Buffer.from([2, 17, 3, 1, 2, 3, 90, 0])]);
    const { value, reader } = decode(f, withTags);
    expect(reader.remaining).toBe(0);
    expect(encode(f, value).equals(f.bytes)).toBe(true);
  });

  it('reads known tagged fields (ApiVersions v3+ finalized features)', () => {
    const w = new Writer();
    messages.ApiVersionsApi.encodeResponse(
      w,
      {
        errorCode: 0,
        apiKeys: [{ apiKey: 0, minVersion: 3, maxVersion: 13 }],
        throttleTimeMs: 0,
        finalizedFeaturesEpoch: 7n,
        finalizedFeatures: [{ name: 'transaction.version', maxVersionLevel: 2, minVersionLevel: 2 }],
      },
      4,
    );
    const decoded = messages.ApiVersionsApi.decodeResponse(new Reader(w.toBuffer()), 4);
    expect(decoded.finalizedFeaturesEpoch).toBe(7n);
    expect(decoded.finalizedFeatures).toEqual([{ name: 'transaction.version', maxVersionLevel: 2, minVersionLevel: 2 }]);
    expect(decoded.supportedFeatures).toEqual([]);
  });

  it('refuses to drop a non-ignorable field that the chosen version cannot carry', () => {
    const w = new Writer();
    // Metadata v3 has no AllowAutoTopicCreation; sending false would silently mean true
    expect(() => messages.MetadataApi.encodeRequest(w, { topics: [], allowAutoTopicCreation: false }, 3)).toThrow(ProtocolEncodeError);
  });

  it('rejects a null where the version does not allow one', () => {
    const w = new Writer();
    expect(() => messages.MetadataApi.encodeRequest(w, { topics: null }, 0)).toThrow(/Topics is null but is not nullable in version 0/);
  });

  it('uses response header v0 for ApiVersions at every version, and v1 elsewhere from the first flexible version', () => {
    expect(messages.ApiVersionsApi.responseHeaderVersion(4)).toBe(0);
    expect(messages.ApiVersionsApi.requestHeaderVersion(4)).toBe(2);
    expect(messages.ProduceApi.responseHeaderVersion(8)).toBe(0);
    expect(messages.ProduceApi.responseHeaderVersion(9)).toBe(1);
    expect(messages.ProduceApi.requestHeaderVersion(9)).toBe(2);
    expect(messages.ProduceApi.minVersion).toBe(3);
    expect(messages.ProduceApi.maxVersion).toBe(13);
  });
});
