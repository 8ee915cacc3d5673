import type { ProducerHealthSnapshot, ProducerMetricsSnapshot, ProducerState, TransactionState } from '@app/kafka-producer';

/** Worst first: the pool is as healthy as its least healthy member. */
const STATE_SEVERITY: readonly ProducerState[] = ['fatal', 'closed', 'closing', 'degraded', 'connecting', 'ready'];
const TRANSACTION_SEVERITY: readonly TransactionState[] = ['FATAL_ERROR', 'ABORTABLE_ERROR', 'UNINITIALIZED', 'INITIALIZING', 'ABORTING_TRANSACTION', 'COMMITTING_TRANSACTION', 'IN_TRANSACTION', 'READY'];

function worst(members: readonly ProducerHealthSnapshot[], rank: (m: ProducerHealthSnapshot) => number): ProducerHealthSnapshot {
  return members.reduce((a, b) => (rank(b) < rank(a) ? b : a));
}

/**
 * One snapshot for a pool of producers, so the health indicator and /health read a pool like one
 * producer: the state, error and transaction of its worst member (a fenced member makes the pool fatal,
 * which is what an operator must see: another instance uses the same ids), brokers as a union, metadata
 * age of the stalest member, queue and buffer figures summed.
 */
export function poolHealth(members: readonly ProducerHealthSnapshot[]): ProducerHealthSnapshot {
  if (members.length === 1) return members[0];
  const byState = worst(members, (m) => STATE_SEVERITY.indexOf(m.state));
  const byTransaction = worst(members, (m) => (m.transaction === null ? TRANSACTION_SEVERITY.length : TRANSACTION_SEVERITY.indexOf(m.transaction.state)));
  const sum = (pick: (m: ProducerHealthSnapshot) => number): number => members.reduce((total, m) => total + pick(m), 0);
  return {
    state: byState.state,
    connectedBrokers: [...new Set(members.flatMap((m) => m.connectedBrokers))].sort((a, b) => a - b),
    knownBrokers: Math.max(...members.map((m) => m.knownBrokers)),
    metadataAgeMs: Math.max(...members.map((m) => m.metadataAgeMs)),
    queuedRecords: sum((m) => m.queuedRecords),
    queuedBytes: sum((m) => m.queuedBytes),
    waitingRecords: sum((m) => m.waitingRecords),
    bufferAvailableBytes: sum((m) => m.bufferAvailableBytes),
    bufferTotalBytes: sum((m) => m.bufferTotalBytes),
    inFlightRequests: sum((m) => m.inFlightRequests),
    lastError: byState.lastError ?? byTransaction.lastError ?? members.find((m) => m.lastError !== null)?.lastError ?? null,
    producerId: byTransaction.producerId,
    transaction: byTransaction.transaction,
  };
}

/** A pool's metrics in Java's names: totals and rates summed, maxima as the largest, averages as the mean of the members. */
export function poolMetrics(members: readonly ProducerMetricsSnapshot[]): ProducerMetricsSnapshot {
  if (members.length === 1) return members[0];
  const out = { ...members[0] };
  for (const key of Object.keys(out) as Array<keyof ProducerMetricsSnapshot>) {
    const values = members.map((m) => m[key]);
    if (key.endsWith('-max') || key === 'metadata-age') out[key] = Math.max(...values);
    else if (key.endsWith('-avg') || key.endsWith('-ratio')) out[key] = values.reduce((a, b) => a + b, 0) / values.length;
    else out[key] = values.reduce((a, b) => a + b, 0);
  }
  return out;
}

/**
 * The member a new transaction goes to: the usable one (not fenced) with the fewest transactions
 * running or queued, the lowest index on a tie; member 0 when none is usable (its transaction then
 * fails with the member's fatal error, as a single producer's would).
 */
export function pickMember(load: readonly number[], usable: (index: number) => boolean): number {
  let best = -1;
  for (let i = 0; i < load.length; i++) {
    if (!usable(i)) continue;
    if (best === -1 || load[i] < load[best]) best = i;
  }
  return best === -1 ? 0 : best;
}
