/**
 * The delivery checker of the reliability suite: given what a client under test reported for every
 * send and what an independent reader (the Java verifier) found in the log, it counts the anomaly
 * classes of Kafka's `validate_delivery` and Jepsen's Kafka checker. It knows nothing of the producer
 * (a send is a value string with its outcome), so a producer bug cannot hide in shared code.
 */

import type { ConsumedRecord } from './verifier';

/** One send and how it ended. The value identifies it in the log, so values must be unique. */
export interface SendOutcome {
  /** Position in send() call order (order checks compare these). */
  index: number;
  value: string;
  key?: string;
  state: 'pending' | 'acked' | 'failed';
  /** Where the client said it was written (acked sends). */
  partition?: number;
  offset?: bigint;
  /** For failed sends: the error's class or code, for the report. */
  errorCode?: string;
  /** For failed sends: whether the error was one of the client's typed errors. */
  typedError?: boolean;
}

export interface DeliveryCheck {
  sent: number;
  acked: number;
  failed: number;
  /** Still pending when checked: a send that never settled is a defect of its own. */
  unsettled: number;
  /** Failed sends whose error was not typed. */
  untypedFailures: number;
  /**
   * Failed sends that are in the log all the same ("phantom" in Jepsen's terms). A failure that says
   * the record may have been written makes this legitimate; it is counted, never hidden.
   */
  failedButWritten: number;
  /** Acknowledged and not in the log. */
  lost: number;
  /** Extra copies: a value read n times adds n - 1. */
  duplicates: number;
  /** Two sends with the same key read in the reverse of their send order (same partition). */
  orderViolations: number;
  /** Stricter: any two sends to one partition read in the reverse of their send order. */
  sendOrderViolations: number;
  /** Acknowledged at a partition/offset where the log does not have it. */
  offsetMismatches: number;
  /** Values in the log that no send produced. */
  foreign: number;
  /** Partitions where any anomaly but a failure was seen, for an evidence dump. */
  suspectPartitions: number[];
  /** Up to 20 described anomalies. */
  examples: string[];
}

function compareOffsets(a: ConsumedRecord, b: ConsumedRecord): number {
  return a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0);
}

export function checkDelivery(outcomes: readonly SendOutcome[], read: readonly ConsumedRecord[]): DeliveryCheck {
  const byValue = new Map<string, SendOutcome>();
  for (const o of outcomes) {
    if (byValue.has(o.value)) throw new Error(`kafka-testing: checkDelivery needs unique values, ${JSON.stringify(o.value)} was sent twice`);
    byValue.set(o.value, o);
  }
  const copies = new Map<SendOutcome, Array<{ partition: number; offset: bigint }>>();
  const suspect = new Set<number>();
  const examples: string[] = [];
  const note = (partition: number | undefined, what: string): void => {
    if (partition !== undefined) suspect.add(partition);
    if (examples.length < 20) examples.push(what);
  };
  let foreign = 0;
  let orderViolations = 0;
  let sendOrderViolations = 0;
  const lastIndexOfPartition = new Map<number, number>();
  const lastIndexOfKey = new Map<string, number>();
  for (const r of [...read].sort(compareOffsets)) {
    const value = r.value?.toString() ?? '';
    const o = byValue.get(value);
    if (o === undefined || (o.key !== undefined && r.key?.toString() !== o.key)) {
      foreign++;
      note(r.partition, `foreign record ${JSON.stringify(value.slice(0, 60))} at ${r.partition}@${r.offset}`);
      continue;
    }
    const list = copies.get(o) ?? [];
    list.push({ partition: r.partition, offset: r.offset });
    copies.set(o, list);
    if (list.length > 1) continue; // a copy is a duplicate, not a second order observation
    if (o.key !== undefined) {
      const slot = `${r.partition}/${o.key}`;
      const before = lastIndexOfKey.get(slot);
      if (before !== undefined && o.index < before) {
        orderViolations++;
        note(r.partition, `order: ${value} (send #${o.index}) at ${r.partition}@${r.offset} after send #${before} of its key`);
      }
      lastIndexOfKey.set(slot, Math.max(before ?? -1, o.index));
    }
    const previous = lastIndexOfPartition.get(r.partition);
    if (previous !== undefined && o.index < previous) sendOrderViolations++;
    lastIndexOfPartition.set(r.partition, Math.max(previous ?? -1, o.index));
  }
  const check: DeliveryCheck = {
    sent: outcomes.length,
    acked: 0,
    failed: 0,
    unsettled: 0,
    untypedFailures: 0,
    failedButWritten: 0,
    lost: 0,
    duplicates: 0,
    orderViolations,
    sendOrderViolations,
    offsetMismatches: 0,
    foreign,
    suspectPartitions: [],
    examples,
  };
  const at = (found: Array<{ partition: number; offset: bigint }>): string => found.map((f) => `${f.partition}@${f.offset}`).join(', ');
  for (const o of outcomes) {
    const found = copies.get(o) ?? [];
    if (found.length > 1) {
      check.duplicates += found.length - 1;
      note(found[0].partition, `duplicate: ${o.value} at ${at(found)}`);
    }
    if (o.state === 'acked') {
      check.acked++;
      if (found.length === 0) {
        check.lost++;
        note(o.partition, `lost: ${o.value} acked at ${o.partition}@${o.offset}`);
      } else if (!found.some((f) => f.partition === o.partition && f.offset === o.offset)) {
        check.offsetMismatches++;
        note(found[0].partition, `offset: ${o.value} acked at ${o.partition}@${o.offset}, read at ${at(found)}`);
      }
    } else if (o.state === 'failed') {
      check.failed++;
      if (found.length > 0) check.failedButWritten++;
      if (o.typedError === false) check.untypedFailures++;
    } else {
      check.unsettled++;
    }
  }
  check.suspectPartitions = [...suspect].sort((a, b) => a - b);
  return check;
}

/** The counts that must be zero for a run to pass (duplicates only when idempotence is on). */
export function deliveryAnomalies(check: DeliveryCheck, options: { idempotent: boolean }): Record<string, number> {
  return {
    lost: check.lost,
    ...(options.idempotent ? { duplicates: check.duplicates, sendOrderViolations: check.sendOrderViolations } : {}),
    orderViolations: options.idempotent ? check.orderViolations : 0,
    offsetMismatches: check.offsetMismatches,
    foreign: check.foreign,
    unsettled: check.unsettled,
    untypedFailures: check.untypedFailures,
  };
}

/** One transaction as the client saw it end. */
export interface TransactionOutcome {
  id: string;
  /** The values sent inside it. */
  values: readonly string[];
  /** 'unknown': the client could not tell (e.g. the process died before the commit returned). */
  outcome: 'committed' | 'aborted' | 'unknown';
}

export interface TransactionCheck {
  transactions: number;
  committed: number;
  aborted: number;
  unknown: number;
  /** A value of an aborted transaction visible under read_committed (Jepsen's G1a). */
  abortedVisible: number;
  /** A committed value missing under read_committed. */
  committedMissing: number;
  /** Transactions read_committed shows partly: some values, not all (atomicity). */
  partiallyVisible: number;
  /** Committed values read more than once under read_committed. */
  duplicates: number;
  /** Values of aborted transactions found under read_uncommitted (evidence that they were written). */
  abortedWrittenUncommitted: number;
  /** Values under read_committed that belong to no transaction. */
  foreign: number;
  examples: string[];
}

export function checkTransactions(transactions: readonly TransactionOutcome[], readCommitted: readonly ConsumedRecord[], readUncommitted: readonly ConsumedRecord[] = []): TransactionCheck {
  const owner = new Map<string, TransactionOutcome>();
  for (const t of transactions) for (const v of t.values) owner.set(v, t);
  const count = (records: readonly ConsumedRecord[]): Map<string, number> => {
    const seen = new Map<string, number>();
    for (const r of records) {
      const v = r.value?.toString() ?? '';
      seen.set(v, (seen.get(v) ?? 0) + 1);
    }
    return seen;
  };
  const committedSeen = count(readCommitted);
  const uncommittedSeen = count(readUncommitted);
  const examples: string[] = [];
  const note = (what: string): void => {
    if (examples.length < 20) examples.push(what);
  };
  const check: TransactionCheck = {
    transactions: transactions.length,
    committed: 0,
    aborted: 0,
    unknown: 0,
    abortedVisible: 0,
    committedMissing: 0,
    partiallyVisible: 0,
    duplicates: 0,
    abortedWrittenUncommitted: 0,
    foreign: 0,
    examples,
  };
  for (const [v, n] of committedSeen) {
    if (!owner.has(v)) {
      check.foreign += n;
      note(`foreign value ${JSON.stringify(v.slice(0, 60))} under read_committed`);
    }
  }
  for (const t of transactions) {
    check[t.outcome]++;
    let visible = 0;
    for (const v of t.values) {
      const n = committedSeen.get(v) ?? 0;
      if (n > 0) visible++;
      if (n > 1) {
        check.duplicates += n - 1;
        note(`duplicate: ${v} read ${n} times (transaction ${t.id})`);
      }
      if (t.outcome === 'aborted') {
        if (n > 0) {
          check.abortedVisible++;
          note(`aborted visible: ${v} (transaction ${t.id})`);
        }
        if ((uncommittedSeen.get(v) ?? 0) > 0) check.abortedWrittenUncommitted++;
      }
      if (t.outcome === 'committed' && n === 0) {
        check.committedMissing++;
        note(`committed missing: ${v} (transaction ${t.id})`);
      }
    }
    if (visible > 0 && visible < t.values.length) {
      check.partiallyVisible++;
      note(`partially visible: transaction ${t.id}, ${visible} of ${t.values.length} values`);
    }
  }
  return check;
}
