import { parseRecordDump } from './verifier';

const b64 = (b: Buffer | string): string => (typeof b === 'string' ? Buffer.from(b) : b).toString('base64');

/** A line as kafkatesting.RecordDump prints it. */
function line(fields: Record<string, unknown>): string {
  return JSON.stringify({ type: 'record', topic: 't', partition: 0, offset: '0', timestamp: 1, timestampType: 'CreateTime', leaderEpoch: 0, key: null, value: null, headers: [], ...fields });
}

const end = (count: number, endOffsets: Record<string, string> = { 0: String(count) }, reason = 'end-offsets'): string => JSON.stringify({ type: 'end', reason, count, endOffsets });

describe('parseRecordDump (Java verifier output)', () => {
  it('decodes every byte field exactly, including bytes that break text formats', () => {
    const nasty = Buffer.from([0x00, 0xff, 0x0a, 0x0d, 0x09, 0x2c, 0x3a, 0x22, 0x5c, 0x80]);
    const out = [
      line({ key: b64(nasty), value: b64(Buffer.concat([nasty, nasty])), headers: [['h', b64(nasty)]] }),
      end(1),
    ].join('\n');
    const { records } = parseRecordDump(out);
    expect(records[0].key).toEqual(nasty);
    expect(records[0].value).toEqual(Buffer.concat([nasty, nasty]));
    expect(records[0].headers).toEqual([['h', nasty]]);
  });

  it('keeps null distinct from empty and from the text "null"', () => {
    const out = [
      line({ offset: '0', key: null, value: b64('null') }),
      line({ offset: '1', key: b64('null'), value: null }),
      line({ offset: '2', key: '', value: '' }),
      end(3),
    ].join('\n');
    const { records } = parseRecordDump(out);
    expect(records.map((r) => [r.key, r.value])).toEqual([
      [null, Buffer.from('null')],
      [Buffer.from('null'), null],
      [Buffer.alloc(0), Buffer.alloc(0)],
    ]);
  });

  it('keeps header order, repeated keys, null values and non-ASCII keys (JSON-escaped by the Java side)', () => {
    const raw = `{"type":"record","topic":"t","partition":2,"offset":"9007199254740993","timestamp":1600000000123,"timestampType":"LogAppendTime","leaderEpoch":null,"key":null,"value":"${b64('v')}","headers":[["dup","${b64('a:b,c')}"],["dup",null],["\\u00fc\\t:,",""]]}`;
    const { records } = parseRecordDump(`${raw}\n${end(1, { 2: '9007199254740994' })}\n`);
    const r = records[0];
    expect(r.partition).toBe(2);
    expect(r.offset).toBe(9007199254740993n); // beyond 2^53: offsets stay exact as bigint
    expect(r.timestamp).toBe(1_600_000_000_123);
    expect(r.timestampType).toBe('LogAppendTime');
    expect(r.leaderEpoch).toBeNull();
    expect(r.headers).toEqual([
      ['dup', Buffer.from('a:b,c')],
      ['dup', null],
      ['ü\t:,', Buffer.alloc(0)],
    ]);
  });

  it('reports why the consumer stopped and the end offsets it saw', () => {
    const parsed = parseRecordDump(`${end(0, { 0: '5', 1: '0' }, 'timeout')}\n`);
    expect(parsed.reason).toBe('timeout');
    expect(parsed.endOffsets).toEqual({ 0: 5n, 1: 0n });
    expect(parsed.records).toEqual([]);
  });

  it('rejects truncated output (no end line) and a count mismatch', () => {
    expect(() => parseRecordDump(line({}))).toThrow(/no end line/);
    expect(() => parseRecordDump(`${line({})}\n${end(2)}`)).toThrow(/printed 1 records but counted 2/);
    expect(() => parseRecordDump('SLF4J: something\n')).toThrow(/unexpected verifier output/);
  });
});
