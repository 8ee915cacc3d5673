import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * What every reliability scenario writes: one JSON file per row in RELIABILITY_OUT (default
 * .reliability/ in the checkout, gitignored), which test/reliability/report.ts turns into
 * docs/reliability.md. Rows are written whether the scenario passed or not, so a failing run still
 * leaves its figures behind.
 */

/** 'ci' (the default): small counts, the fast scenarios. 'full' (`npm run test:reliability`): the matrix. */
export const SCALE: 'ci' | 'full' = process.env.RELIABILITY_SCALE === 'full' ? 'full' : 'ci';

/** A count or a duration for each scale. */
export function scaled<T>(ci: T, full: T): T {
  return SCALE === 'full' ? full : ci;
}

/** Full-only scenarios: `itFull('...', fn)` is skipped in the CI run. */
export const itFull: jest.It = SCALE === 'full' ? it : it.skip;

export function outDir(): string {
  const dir = process.env.RELIABILITY_OUT ?? path.join(__dirname, '..', '..', '..', '.reliability');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export interface ScenarioRow {
  /** The matrix id of ../shared/notes/reliability-plan.md §6 (A1, B2, F3, …). */
  id: string;
  name: string;
  /** e.g. '3 nodes, RF 3, min.insync 2, 6 partitions'. */
  setup: string;
  /** Producer settings that differ from the defaults. */
  producer: string;
  sent: number;
  acked: number;
  failed: number;
  lost: number;
  duplicates: number;
  /** Per-key order violations plus partition send-order violations (idempotent runs). */
  orderViolations: number;
  offsetMismatches: number;
  /** Failed sends that are in the log all the same (allowed after "may have been written"). */
  failedButWritten: number;
  /** What was injected, e.g. '6 kill -9, 6 restarts'. */
  faults: string;
  faultCount: number;
  /** From the end of the last fault to the next acknowledgement; null where no fault ended in the run. */
  timeToRecoverMs: number | null;
  /** The longest time without any acknowledgement. */
  longestAckGapMs: number | null;
  /** Acknowledged records per second of sending. */
  throughput: number;
  peakRssMiB: number;
  durationMs: number;
  /** Failures by error code. */
  failures?: Record<string, number>;
  /** Anything else the scenario measured (scenario-specific figures). */
  extra?: Record<string, number | string | boolean>;
  passed: boolean;
  notes?: string;
}

export interface BadInputRow {
  /** e.g. 'C1'. */
  id: string;
  input: string;
  /** How it surfaced: 'throws' (synchronously) or 'rejects'. */
  surfaced: 'throws' | 'rejects' | 'resolves';
  errorName: string;
  errorCode: string;
  retriable: boolean | null;
  /** Time from the call to the error. */
  ms: number;
  boundMs: number;
  /** A send after it, on the same producer, was acknowledged. */
  producerStillWorks: boolean;
  /** Nothing of the bad input reached the log (checked by reading back), where applicable. */
  nothingWritten: boolean | null;
  message: string;
  passed: boolean;
}

function write(kind: string, id: string, row: object): void {
  const file = path.join(outDir(), `${kind}-${id.replace(/[^A-Za-z0-9_-]/g, '_')}.json`);
  fs.writeFileSync(file, JSON.stringify({ kind, scale: SCALE, at: new Date().toISOString(), row }, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
}

export function writeScenarioRow(row: ScenarioRow): void {
  write('scenario', row.id, row);
}

export function writeBadInputRow(row: BadInputRow): void {
  write('bad-input', row.id, row);
}

/** Samples this process's RSS (the producer runs in it; brokers and verifiers are other processes). */
export class RssSampler {
  private peak = process.memoryUsage().rss;
  private readonly timer: NodeJS.Timeout;

  constructor(everyMs = 100) {
    this.timer = setInterval(() => {
      this.peak = Math.max(this.peak, process.memoryUsage().rss);
    }, everyMs);
    this.timer.unref();
  }

  /** Stops sampling; the peak in MiB. */
  stop(): number {
    clearInterval(this.timer);
    this.peak = Math.max(this.peak, process.memoryUsage().rss);
    return Math.round((this.peak / 1048576) * 10) / 10;
  }
}
