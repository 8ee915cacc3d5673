import type { ClientName } from './driver-contract';

/** One point of the benchmark: the base (acks all, no compression, 12 partitions, unkeyed) or one factor varied. */
export interface Scenario {
  recordSize: number;
  acks: 'all' | '1';
  compression: 'none' | 'lz4' | 'zstd';
  partitions: number;
  keyed: boolean;
}

export interface LatencySummary {
  p50: number;
  p99: number;
  p999: number;
  /** The rate the sends were scheduled at (records/s). */
  rate: number;
  /** The rate the client actually completed them at (median); well below `rate`, it could not keep up. */
  achieved?: number;
}

/**
 * One client variant in one scenario, medians over the repetitions (`bench/results/<date>.json`,
 * `latest.json`). A variant the harness could not run in a scenario (a codec the client cannot load) has
 * `unavailable` set and null figures.
 */
export interface BenchRun {
  client: ClientName;
  /** Distinguishes variants of one client: 'defaults', 'recommended', 'java-batch-like-ours'. */
  variant: string;
  nodeVersion: string | null;
  clientVersion: string;
  settings: Record<string, unknown>;
  scenario: Scenario;
  reps: number;
  recordsPerSec: number | null;
  recordsPerSecMin: number | null;
  recordsPerSecMax: number | null;
  mbPerSec: number | null;
  latencyMs: { lowRate: LatencySummary | null; halfMax: LatencySummary | null };
  cpuSecondsPerMillion: number | null;
  peakRssMb: number | null;
  eventLoopDelayP99Ms: number | null;
  /** Every repetition's end offsets equalled the records it acknowledged. */
  endOffsetsVerified: boolean;
  unavailable?: string;
}

export interface BenchResults {
  generatedAt: string;
  mode: 'quick' | 'full';
  durationSec: number;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; os: string; loadAvg1AtStart: number };
  node: string;
  kafka: string;
  runs: BenchRun[];
}
