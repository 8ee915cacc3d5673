import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkDelivery, deliveryAnomalies, KafkaCluster, type DeliveryCheck, type KafkaClusterBase } from '@app/kafka-testing';
import { outDir, writeScenarioRow, type ScenarioRow } from './rows';
import type { Workload } from './workload';

export interface FinishOptions {
  id: string;
  name: string;
  setup: string;
  producer: string;
  topic: string;
  workload: Workload;
  idempotent: boolean;
  faults: string;
  faultCount: number;
  /**
   * Date.now() when the last fault ended: time to recover is then the wait for the next acknowledgement
   * (for faults that stop every partition). Null for faults that stop some partitions only: time to
   * recover is then the longest stall of one partition (the failover).
   */
  lastFaultEndedAt: number | null;
  /** Date.now() of the first and last send. */
  sendStartedAt: number;
  sendEndedAt: number;
  peakRssMiB: number;
  /** Further conditions of this scenario that must hold (name → holds). */
  require?: Record<string, boolean>;
  extra?: Record<string, number | string | boolean>;
  notes?: string;
}

/**
 * Reads the topic back with the Java consumer, checks it against the workload's outcomes, writes the
 * scenario's row (whatever the outcome, with evidence for a failing one) and returns the check for
 * the test's own assertions.
 */
export async function finishScenario(cluster: KafkaClusterBase, o: FinishOptions): Promise<{ check: DeliveryCheck; row: ScenarioRow; anomalies: Record<string, number> }> {
  const read = await cluster.consumeWithJava({ topic: o.topic, timeoutMs: 120_000 });
  const check = checkDelivery(o.workload.outcomes, read);
  const anomalies = deliveryAnomalies(check, { idempotent: o.idempotent });
  const unmet = Object.entries(o.require ?? {}).filter(([, ok]) => !ok).map(([k]) => k);
  const passed = Object.values(anomalies).every((n) => n === 0) && unmet.length === 0;
  const sendSeconds = Math.max(0.001, (o.sendEndedAt - o.sendStartedAt) / 1000);
  const row: ScenarioRow = {
    id: o.id,
    name: o.name,
    setup: o.setup,
    producer: o.producer,
    sent: check.sent,
    acked: check.acked,
    failed: check.failed,
    lost: check.lost,
    duplicates: check.duplicates,
    orderViolations: check.orderViolations + (o.idempotent ? check.sendOrderViolations : 0),
    offsetMismatches: check.offsetMismatches,
    failedButWritten: check.failedButWritten,
    faults: o.faults,
    faultCount: o.faultCount,
    timeToRecoverMs: o.lastFaultEndedAt === null ? o.workload.longestPartitionStallMs() : o.workload.firstAckAfter(o.lastFaultEndedAt),
    longestAckGapMs: o.workload.longestAckGapMs(),
    throughput: check.acked / sendSeconds,
    peakRssMiB: o.peakRssMiB,
    durationMs: o.sendEndedAt - o.sendStartedAt,
    failures: o.workload.failureSummary(),
    extra: { ...o.extra, ...(check.unsettled > 0 ? { unsettled: check.unsettled } : {}), ...(check.foreign > 0 ? { foreign: check.foreign } : {}) },
    passed,
    notes: [o.notes, unmet.length > 0 ? `Unmet: ${unmet.join(', ')}.` : undefined, check.examples.length > 0 ? `First anomalies: ${check.examples.slice(0, 3).join('; ')}.` : undefined]
      .filter((x) => x !== undefined)
      .join(' ') || undefined,
  };
  writeScenarioRow(row);
  if (!passed) {
    // the broker's own log dump of the partitions where something went wrong: producer ids, epochs and
    // sequences per batch, which tell a producer bug from a broker one
    const dumps: Record<number, unknown> = {};
    if (cluster instanceof KafkaCluster) {
      for (const p of check.suspectPartitions.slice(0, 3)) dumps[p] = await cluster.dumpLogSegments(o.topic, p).catch((e: Error) => ({ error: e.message }));
    }
    const file = path.join(outDir(), `evidence-${o.id}.json`);
    fs.writeFileSync(file, JSON.stringify({ check, unmet, firstFailure: o.workload.firstFailure(), dumps }, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
  }
  return { check, row, anomalies };
}
