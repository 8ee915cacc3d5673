import { checkDelivery, checkTransactions, deliveryAnomalies, type SendOutcome } from './delivery-checker';
import type { ConsumedRecord } from './verifier';

function record(partition: number, offset: number, key: string | null, value: string): ConsumedRecord {
  return {
    topic: 't',
    partition,
    offset: BigInt(offset),
    timestamp: 0,
    timestampType: 'CreateTime',
    leaderEpoch: 0,
    key: key === null ? null : Buffer.from(key),
    value: Buffer.from(value),
    headers: [],
  };
}

function acked(index: number, key: string, partition: number, offset: number): SendOutcome {
  return { index, key, value: `${key}:${index}`, state: 'acked', partition, offset: BigInt(offset) };
}

describe('checkDelivery', () => {
  it('finds nothing wrong when every acknowledged record is read once, in send order, at its offset', () => {
    const sent = [acked(0, 'a', 0, 0), acked(1, 'b', 0, 1), acked(2, 'a', 1, 0)];
    const check = checkDelivery(sent, [record(1, 0, 'a', 'a:2'), record(0, 1, 'b', 'b:1'), record(0, 0, 'a', 'a:0')]);
    expect(check).toMatchObject({ sent: 3, acked: 3, lost: 0, duplicates: 0, orderViolations: 0, sendOrderViolations: 0, offsetMismatches: 0, foreign: 0 });
    expect(Object.values(deliveryAnomalies(check, { idempotent: true })).every((n) => n === 0)).toBe(true);
  });

  it('counts an acknowledged record missing from the log as lost, and names its partition', () => {
    const check = checkDelivery([acked(0, 'a', 2, 5)], []);
    expect(check.lost).toBe(1);
    expect(check.suspectPartitions).toEqual([2]);
    expect(check.examples[0]).toContain('lost: a:0');
  });

  it('counts each extra copy as a duplicate, without also calling the copy an order violation', () => {
    const sent = [acked(0, 'a', 0, 0), acked(1, 'a', 0, 1)];
    const check = checkDelivery(sent, [record(0, 0, 'a', 'a:0'), record(0, 1, 'a', 'a:1'), record(0, 2, 'a', 'a:0'), record(0, 3, 'a', 'a:0')]);
    expect(check.duplicates).toBe(2);
    expect(check.orderViolations).toBe(0);
    expect(check.sendOrderViolations).toBe(0);
  });

  it('counts a later send of a key written before an earlier one as an order violation', () => {
    const sent = [acked(0, 'a', 0, 1), acked(1, 'a', 0, 0)];
    const check = checkDelivery(sent, [record(0, 0, 'a', 'a:1'), record(0, 1, 'a', 'a:0')]);
    expect(check.orderViolations).toBe(1);
    expect(check.sendOrderViolations).toBe(1);
  });

  it('tells a per-key order violation from a partition-wide one (different keys reordered)', () => {
    const sent = [acked(0, 'a', 0, 1), acked(1, 'b', 0, 0)];
    const check = checkDelivery(sent, [record(0, 0, 'b', 'b:1'), record(0, 1, 'a', 'a:0')]);
    expect(check.orderViolations).toBe(0);
    expect(check.sendOrderViolations).toBe(1);
  });

  it('reports an acknowledged offset the log does not hold the record at', () => {
    const check = checkDelivery([acked(0, 'a', 0, 7)], [record(0, 3, 'a', 'a:0')]);
    expect(check.offsetMismatches).toBe(1);
    expect(check.lost).toBe(0);
  });

  it('counts failed sends found in the log, untyped failures and sends that never settled', () => {
    const sent: SendOutcome[] = [
      { index: 0, key: 'a', value: 'a:0', state: 'failed', typedError: true, errorCode: 'DELIVERY_TIMEOUT' },
      { index: 1, key: 'a', value: 'a:1', state: 'failed', typedError: false },
      { index: 2, key: 'a', value: 'a:2', state: 'pending' },
    ];
    const check = checkDelivery(sent, [record(0, 0, 'a', 'a:0')]);
    expect(check).toMatchObject({ failed: 2, failedButWritten: 1, untypedFailures: 1, unsettled: 1, lost: 0 });
    expect(deliveryAnomalies(check, { idempotent: true })).toMatchObject({ unsettled: 1, untypedFailures: 1 });
  });

  it('counts records no send produced, and a known value under a different key, as foreign', () => {
    const check = checkDelivery([acked(0, 'a', 0, 0)], [record(0, 0, 'b', 'a:0'), record(0, 1, null, 'other')]);
    expect(check.foreign).toBe(2);
    // The copy under another key is not the record that was sent, so the send counts as lost.
    expect(check.lost).toBe(1);
  });

  it('does not hold duplicates or order against a producer that is not idempotent', () => {
    const sent = [acked(0, 'a', 0, 0)];
    const check = checkDelivery(sent, [record(0, 0, 'a', 'a:0'), record(0, 1, 'a', 'a:0')]);
    expect(deliveryAnomalies(check, { idempotent: false })).not.toHaveProperty('duplicates');
    expect(deliveryAnomalies(check, { idempotent: true }).duplicates).toBe(1);
  });

  it('refuses outcomes whose values are not unique, since it could not tell the sends apart', () => {
    expect(() => checkDelivery([acked(0, 'a', 0, 0), { ...acked(1, 'a', 0, 1), value: 'a:0' }], [])).toThrow(/unique values/);
  });
});

describe('checkTransactions', () => {
  const values = (id: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${id}-${i}`);

  it('passes committed transactions read whole and aborted ones seen only under read_uncommitted', () => {
    const txns = [
      { id: 't1', values: values('t1', 3), outcome: 'committed' as const },
      { id: 't2', values: values('t2', 2), outcome: 'aborted' as const },
    ];
    const committed = values('t1', 3).map((v, i) => record(i, 0, null, v));
    const uncommitted = [...committed, ...values('t2', 2).map((v, i) => record(i, 1, null, v))];
    const check = checkTransactions(txns, committed, uncommitted);
    expect(check).toMatchObject({ committed: 1, aborted: 1, abortedVisible: 0, committedMissing: 0, partiallyVisible: 0, duplicates: 0, abortedWrittenUncommitted: 2, foreign: 0 });
  });

  it('counts an aborted value visible under read_committed (G1a)', () => {
    const check = checkTransactions([{ id: 't', values: ['x'], outcome: 'aborted' }], [record(0, 0, null, 'x')]);
    expect(check.abortedVisible).toBe(1);
  });

  it('counts a transaction read_committed shows only in part, and its missing values', () => {
    const check = checkTransactions([{ id: 't', values: ['x', 'y', 'z'], outcome: 'committed' }], [record(0, 0, null, 'x')]);
    expect(check.partiallyVisible).toBe(1);
    expect(check.committedMissing).toBe(2);
  });

  it('holds an unknown outcome to atomicity only: all or nothing, either is fine', () => {
    const none = checkTransactions([{ id: 't', values: ['x', 'y'], outcome: 'unknown' }], []);
    const all = checkTransactions([{ id: 't', values: ['x', 'y'], outcome: 'unknown' }], [record(0, 0, null, 'x'), record(0, 1, null, 'y')]);
    const part = checkTransactions([{ id: 't', values: ['x', 'y'], outcome: 'unknown' }], [record(0, 0, null, 'y')]);
    expect([none.partiallyVisible, all.partiallyVisible, part.partiallyVisible]).toEqual([0, 0, 1]);
    expect(none.committedMissing + all.committedMissing).toBe(0);
  });
});
