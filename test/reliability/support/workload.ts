import { KafkaError, type KafkaProducer, type Logger, type ProducerRecord } from '@app/kafka-producer';
import type { SendOutcome } from '@app/kafka-testing';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface TimedOutcome extends SendOutcome {
  /** Date.now() when send() was called. */
  sentAt: number;
  /** Date.now() when the send settled. */
  settledAt?: number;
  error?: unknown;
}

export interface WorkloadOptions {
  topic: string;
  /** Keys cycle k00, k01, …; default 60. Keys pin records to partitions, so order is checkable per key. */
  keys?: number;
  /** Distinguishes the values of two workloads (or two runs of one) on the same topic. */
  tag?: string;
  /** Extra fields for every record (headers, partition, …). */
  decorate?: (record: ProducerRecord) => ProducerRecord;
}

/**
 * Keyed records whose values `tag:key:n` are unique, with each send's outcome kept as the delivery
 * checker wants it. The scenario decides the pace (stream() or send()).
 */
export class Workload {
  readonly outcomes: TimedOutcome[] = [];
  private readonly settled: Array<Promise<void>> = [];
  private readonly keys: number;
  private readonly tag: string;

  constructor(
    private readonly producer: KafkaProducer,
    private readonly options: WorkloadOptions,
  ) {
    this.keys = options.keys ?? 60;
    this.tag = options.tag ?? 'w';
  }

  /** Sends not yet settled (a counter: stream() asks on every tick, and a scan would be O(sent)). */
  get pending(): number {
    return this.unsettled;
  }
  private unsettled = 0;

  /** One send; a send() that throws synchronously is recorded as failed, not rethrown. */
  send(): void {
    const index = this.outcomes.length;
    const key = `k${String(index % this.keys).padStart(2, '0')}`;
    const outcome: TimedOutcome = { index, key, value: `${this.tag}:${key}:${index}`, state: 'pending', sentAt: Date.now() };
    this.outcomes.push(outcome);
    const base: ProducerRecord = { topic: this.options.topic, key, value: outcome.value };
    const fail = (error: unknown): void => {
      if (outcome.state === 'pending') this.unsettled--;
      outcome.state = 'failed';
      outcome.settledAt = Date.now();
      outcome.error = error;
      outcome.typedError = error instanceof KafkaError;
      outcome.errorCode = error instanceof KafkaError ? error.code : String((error as Error)?.name ?? error);
    };
    this.unsettled++;
    let promise: Promise<unknown>;
    try {
      promise = this.producer.send(this.options.decorate ? this.options.decorate(base) : base);
    } catch (e) {
      fail(e);
      return;
    }
    this.settled.push(
      promise.then((md) => {
        const m = md as { partition: number; offset: bigint };
        this.unsettled--;
        outcome.state = 'acked';
        outcome.settledAt = Date.now();
        outcome.partition = m.partition;
        outcome.offset = m.offset;
      }, fail),
    );
  }

  /**
   * Sends at `ratePerSec` until `until()` says stop or `count` sends were made, keeping at most
   * `maxPending` unsettled (a bounded window, so a stalled cluster does not queue the whole run).
   */
  async stream(options: { count: number; ratePerSec: number; maxPending?: number; until?: () => boolean }): Promise<void> {
    const started = Date.now();
    const maxPending = options.maxPending ?? 20_000;
    const tickMs = 10;
    while (this.outcomes.length < options.count && !(options.until?.() ?? false)) {
      const due = Math.min(options.count, Math.floor(((Date.now() - started) / 1000) * options.ratePerSec));
      while (this.outcomes.length < due && this.pending < maxPending) this.send();
      await sleep(tickMs);
    }
  }

  settle(): Promise<unknown> {
    return Promise.all(this.settled);
  }

  /** The acknowledgements' settle times, sorted. */
  private ackTimes(): number[] {
    return this.outcomes.flatMap((o) => (o.state === 'acked' && o.settledAt !== undefined ? [o.settledAt] : [])).sort((a, b) => a - b);
  }

  /** The longest stretch without an acknowledgement, after the first one. */
  longestAckGapMs(): number | null {
    const t = this.ackTimes();
    if (t.length < 2) return null;
    let gap = 0;
    for (let i = 1; i < t.length; i++) gap = Math.max(gap, t[i] - t[i - 1]);
    return gap;
  }

  /**
   * The longest stretch one partition went without an acknowledgement while others were acknowledged:
   * how long a failover left that partition's records waiting (0 with no stall at all).
   */
  longestPartitionStallMs(): number | null {
    const byPartition = new Map<number, number[]>();
    for (const o of this.outcomes) {
      if (o.state !== 'acked' || o.settledAt === undefined || o.partition === undefined) continue;
      const list = byPartition.get(o.partition) ?? [];
      list.push(o.settledAt);
      byPartition.set(o.partition, list);
    }
    if (byPartition.size === 0) return null;
    let gap = 0;
    for (const times of byPartition.values()) {
      times.sort((a, b) => a - b);
      for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i] - times[i - 1]);
    }
    return gap;
  }

  /** Time from `since` to the first acknowledgement at or after it; null if none came. */
  firstAckAfter(since: number): number | null {
    const t = this.ackTimes().find((x) => x >= since);
    return t === undefined ? null : t - since;
  }

  failureSummary(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const o of this.outcomes) if (o.state === 'failed') out[o.errorCode ?? 'untyped'] = (out[o.errorCode ?? 'untyped'] ?? 0) + 1;
    return out;
  }

  firstFailure(): string | null {
    const o = this.outcomes.find((x) => x.state === 'failed');
    return o === undefined ? null : describeError(o.error);
  }
}

/** An error with its cause chain, for a report. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let e = error as { code?: string; message?: string; cause?: unknown } | undefined, depth = 0; e !== undefined && e !== null && depth < 5; e = e.cause as typeof e, depth++) {
    parts.push(`${e.code ?? 'untyped'}: ${e.message ?? String(e)}`);
  }
  return parts.join(' <- caused by ');
}

/** Keeps the producer's warnings for the report instead of flooding the test output. */
export function collectingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };
}

/**
 * Collects the process's unhandled rejections from beforeAll to afterAll: a producer must never leave
 * one, whatever the brokers do, and jest would not fail a test for it.
 */
export function collectUnhandledRejections(): unknown[] {
  const seen: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    seen.push(reason);
  };
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
  });
  return seen;
}
