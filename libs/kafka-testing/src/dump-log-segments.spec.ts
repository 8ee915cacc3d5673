import { parseDumpLogSegments } from './dump-log-segments';

// Captured from `DumpLogSegments --deep-iteration --print-data-log` (Kafka 4.3.1; 3.9.1 prints the same shape).
const SAMPLE = `Dumping /tmp/x/node-1/data/t1-1/00000000000000000000.log
Log starting offset: 0
baseOffset: 0 lastOffset: 1 count: 2 baseSequence: 0 lastSequence: 1 producerId: 0 producerEpoch: 0 partitionLeaderEpoch: 0 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: 0 CreateTime: 1795466531951 size: 106 magic: 2 compresscodec: none crc: 2368246480 isvalid: true
| offset: 0 CreateTime: 1795466531932 keySize: 2 valueSize: 5 sequence: 0 headerKeys: [h1,h2] key: k1 payload: hello
| offset: 1 CreateTime: 1795466531951 keySize: 2 valueSize: 11 sequence: 1 headerKeys: [] key: k2 payload: two
lines
baseOffset: 2 lastOffset: 2 count: 1 baseSequence: -1 lastSequence: -1 producerId: 7 producerEpoch: 3 partitionLeaderEpoch: 1 isTransactional: true isControl: true deleteHorizonMs: OptionalLong.empty position: 106 CreateTime: 1795466532000 size: 78 magic: 2 compresscodec: none crc: 12 isvalid: false
| offset: 2 CreateTime: 1795466532000 keySize: 4 valueSize: 6 sequence: -1 headerKeys: [] endTxnMarker: COMMIT coordinatorEpoch: 0
Dumping /tmp/x/node-1/data/t1-1/00000000000000000003.log
Log starting offset: 3
baseOffset: 3 lastOffset: 3 count: 1 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: 1 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: 0 LogAppendTime: 1795466533000 size: 70 magic: 2 compresscodec: zstd crc: 99 isvalid: true
| offset: 3 LogAppendTime: 1795466533000 keySize: -1 valueSize: 3 sequence: -1 headerKeys: [] payload: abc
`;

describe('parseDumpLogSegments', () => {
  const segments = parseDumpLogSegments(SAMPLE);

  it('splits the output per segment file', () => {
    expect(segments.map((s) => s.file)).toEqual(['/tmp/x/node-1/data/t1-1/00000000000000000000.log', '/tmp/x/node-1/data/t1-1/00000000000000000003.log']);
    expect(segments[0].raw).toContain('Log starting offset: 0');
  });

  it('parses batch headers into typed fields', () => {
    const [b0, b1] = segments[0].batches;
    expect(b0).toMatchObject({ baseOffset: 0n, lastOffset: 1n, count: 2, baseSequence: 0, lastSequence: 1, producerId: 0n, producerEpoch: 0, isTransactional: false, isControl: false });
    expect(b0).toMatchObject({ position: 0, timestampType: 'CreateTime', timestamp: 1795466531951, size: 106, magic: 2, compressCodec: 'none', crc: 2368246480, isValid: true });
    expect(b0.fields.deleteHorizonMs).toBe('OptionalLong.empty');
    expect(b1).toMatchObject({ producerId: 7n, producerEpoch: 3, isTransactional: true, isControl: true, isValid: false });
    expect(segments[1].batches[0]).toMatchObject({ producerId: -1n, timestampType: 'LogAppendTime', compressCodec: 'zstd' });
  });

  it('parses records, keeping multi-line payloads and control markers', () => {
    const [r0, r1] = segments[0].batches[0].records;
    expect(r0).toMatchObject({ offset: 0n, keySize: 2, valueSize: 5, sequence: 0, headerKeys: ['h1', 'h2'], key: 'k1', payload: 'hello', endTxnMarker: null });
    expect(r1).toMatchObject({ offset: 1n, headerKeys: [], key: 'k2', payload: 'two\nlines' });
    expect(segments[0].batches[1].records[0]).toMatchObject({ offset: 2n, endTxnMarker: 'COMMIT', payload: null, key: null });
    expect(segments[1].batches[0].records[0]).toMatchObject({ key: null, keySize: -1, payload: 'abc' });
  });

  it('puts unrecognised lines aside instead of failing', () => {
    const [s] = parseDumpLogSegments('Dumping /a.log\nLog starting offset: 0\nIndex offset: 5, log offset: 7\n');
    expect(s.batches).toEqual([]);
    expect(s.otherLines).toEqual(['Index offset: 5, log offset: 7']);
  });
});
