import { InputRecord, prng } from '../../../test/fixtures/records/test-helpers';
import { RecordHeader } from './record-batch';
import { RecordBatchBuilder, RecordBatchCloseOptions } from './record-batch-builder';
import { decodeRecordBatches } from './record-batch-decoder';

type Rand = () => number;

// Hex rather than Buffers in comparisons: jest walks a Buffer element by element, which for thousands of
// records of up to 20 KB takes tens of seconds; strings compare at once and still print a useful diff.
const hex = (b: Buffer | null): string | null => (b === null ? null : b.toString('hex'));
const comparable = (r: { key: Buffer | null; value: Buffer | null; headers: ReadonlyArray<RecordHeader> }) => ({
  key: hex(r.key),
  value: hex(r.value),
  headers: r.headers.map((h) => ({ key: h.key, value: hex(h.value) })),
});

const int = (rand: Rand, below: number): number => Math.floor(rand() * below);

function randomBytes(rand: Rand): Buffer | null {
  const roll = rand();
  if (roll < 0.15) return null;
  // mostly small, sometimes past the one-byte varint (64) and two-byte (8192) length boundaries
  const length = roll < 0.25 ? 0 : roll < 0.85 ? int(rand, 100) : roll < 0.97 ? int(rand, 2000) : int(rand, 20_000);
  const bytes = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) bytes[i] = int(rand, 256);
  return bytes;
}

const KEY_ALPHABET = ['a', 'Z', '-', '_', '0', 'é', 'ж', '✓', '🎉', ' '];

function randomHeaderKey(rand: Rand): string {
  let key = '';
  const length = rand() < 0.05 ? 80 : int(rand, 12);
  for (let i = 0; i < length; i++) key += KEY_ALPHABET[rand() < 0.8 ? int(rand, 5) : int(rand, KEY_ALPHABET.length)];
  return key;
}

function randomRecord(rand: Rand, base: number): InputRecord {
  const headerCount = rand() < 0.5 ? 0 : int(rand, 6);
  const headers: RecordHeader[] = [];
  for (let i = 0; i < headerCount; i++) headers.push({ key: randomHeaderKey(rand), value: randomBytes(rand) });
  const roll = rand();
  // deltas of both signs, some beyond int32, and the occasional "no timestamp" (-1)
  const timestamp = roll < 0.03 ? -1 : base + Math.floor((rand() - 0.5) * 2 ** (1 + rand() * 40));
  return { timestamp, key: randomBytes(rand), value: randomBytes(rand), headers };
}

function randomCloseOptions(rand: Rand): RecordBatchCloseOptions {
  if (rand() < 0.4) return {};
  const producerId = rand() < 0.5 ? int(rand, 2 ** 40) : BigInt(int(rand, 2 ** 30)) * 2n ** 32n + BigInt(int(rand, 2 ** 32));
  return { producerId, producerEpoch: int(rand, 0x7fff), baseSequence: int(rand, 2 ** 31), isTransactional: rand() < 0.3 };
}

interface Built {
  bytes: Buffer;
  records: InputRecord[];
  options: RecordBatchCloseOptions;
}

/** Appends `inputs` the way the accumulator will: fill a batch until tryAppend says no, then start the next. */
function buildBatches(rand: Rand, inputs: InputRecord[], batchSize: number): Built[] {
  const built: Built[] = [];
  let builder: RecordBatchBuilder | null = null;
  let inBatch: InputRecord[] = [];
  const closeCurrent = () => {
    if (builder === null) return;
    const options = randomCloseOptions(rand);
    built.push({ bytes: Buffer.from(builder.close(options)), records: inBatch, options });
    builder = null;
    inBatch = [];
  };
  for (const record of inputs) {
    if (builder !== null && builder.tryAppend(record.timestamp, record.key, record.value, record.headers) >= 0) {
      inBatch.push(record);
      continue;
    }
    closeCurrent();
    const size = Math.max(batchSize, RecordBatchBuilder.estimateSize(record.key, record.value, record.headers));
    const fresh: RecordBatchBuilder = new RecordBatchBuilder(Buffer.alloc(size));
    expect(fresh.append(record.timestamp, record.key, record.value, record.headers)).toBe(0);
    builder = fresh;
    inBatch.push(record);
  }
  closeCurrent();
  return built;
}

describe('RecordBatch round trip: build -> decode gives back the same records', () => {
  it.each([1, 2, 3, 42, 1234, 0xdecaf])('random records into random batch sizes (seed %d)', (seed) => {
    const rand = prng(seed);
    const base = int(rand, 2 ** 45) + 2 ** 41;
    const inputs = Array.from({ length: 300 }, () => randomRecord(rand, base));
    const batchSize = 100 + int(rand, 16 * 1024);
    const built = buildBatches(rand, inputs, batchSize);

    const decoded = decodeRecordBatches(Buffer.concat(built.map((b) => b.bytes)));
    expect(decoded).toHaveLength(built.length);

    decoded.forEach((batch, b) => {
      const { records, options } = built[b];
      expect(batch.records).toHaveLength(records.length);
      expect(batch.lastOffsetDelta).toBe(records.length - 1);
      expect(batch.baseTimestamp).toBe(BigInt(records[0].timestamp));
      expect(batch.maxTimestamp).toBe(BigInt(Math.max(-1, ...records.map((r) => r.timestamp))));
      expect(batch.producerId).toBe(BigInt(options.producerId ?? -1));
      expect(batch.producerEpoch).toBe(options.producerEpoch ?? -1);
      expect(batch.baseSequence).toBe(options.baseSequence ?? -1);
      expect(batch.attributes.isTransactional).toBe(options.isTransactional ?? false);
      batch.records.forEach((record, i) => {
        const input = records[i];
        expect(record.offsetDelta).toBe(i);
        expect(record.timestamp).toBe(BigInt(input.timestamp));
        expect(comparable(record)).toEqual(comparable(input));
      });
    });
    expect(decoded.reduce((n, b) => n + b.records.length, 0)).toBe(inputs.length);
  });

  it('reusing one buffer with reset gives the same bytes as fresh buffers', () => {
    const rand = prng(99);
    const inputs = Array.from({ length: 50 }, () => randomRecord(rand, 2 ** 42));
    const shared = Buffer.alloc(64 * 1024, 0xaa); // dirty on purpose: stale bytes must never leak into a batch
    const reused = new RecordBatchBuilder(shared);
    for (let start = 0; start < inputs.length; start += 10) {
      const fresh = new RecordBatchBuilder(Buffer.alloc(64 * 1024));
      reused.reset();
      for (const r of inputs.slice(start, start + 10)) {
        fresh.append(r.timestamp, r.key, r.value, r.headers);
        reused.append(r.timestamp, r.key, r.value, r.headers);
      }
      expect(reused.close({ producerId: 1n }).equals(fresh.close({ producerId: 1n }))).toBe(true);
    }
  });
});
