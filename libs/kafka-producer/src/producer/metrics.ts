/**
 * Producer metrics with the Java client's names (group `producer-metrics`) and the Java metrics
 * library's arithmetic, so dashboards built for the Java producer read the same numbers.
 *
 * Statistics follow kafka-clients 4.3 (`org.apache.kafka.common.metrics.stats`):
 * - SampledStat: `samples` windows of `sampleWindowMs` (Java: metrics.num.samples = 2,
 *   metrics.sample.window.ms = 30 000), plus one spare, as 4.x keeps; a recording that finds its
 *   window older than `sampleWindowMs` starts the next one; a window whose last event is
 *   `samples × sampleWindowMs` old is reset before a measurement.
 * - Avg = sum / count over the live windows (NaN with no events, as Java); Max = max over them
 *   (NaN with no events); WindowedSum = sum.
 * - Rate = WindowedSum / elapsed, where elapsed is measured from the oldest live window's start and
 *   is at least `(samples - 1) × sampleWindowMs` (so a rate does not spike right after start-up), and
 *   at least 1 ms. Per second, except bufferpool-wait-ratio (ns waited per ns elapsed).
 * - Meter = a Rate and a cumulative total (`-rate` / `-total`).
 *
 * Recording is allocation-free (typed arrays per statistic); only snapshot() builds an object.
 */

export type ProducerGaugeName = 'buffer-available-bytes' | 'buffer-total-bytes' | 'requests-in-flight' | 'waiting-threads' | 'metadata-age';

export const PRODUCER_GAUGE_NAMES: readonly ProducerGaugeName[] = ['buffer-available-bytes', 'buffer-total-bytes', 'requests-in-flight', 'waiting-threads', 'metadata-age'];

/** Every name snapshot() returns, in a stable order. */
export const PRODUCER_METRIC_NAMES = [
  'record-send-rate',
  'record-send-total',
  'records-per-request-avg',
  'byte-rate',
  'byte-total',
  'record-error-rate',
  'record-error-total',
  'record-retry-rate',
  'record-retry-total',
  'record-size-avg',
  'record-size-max',
  'batch-size-avg',
  'batch-size-max',
  'compression-rate-avg',
  'record-queue-time-avg',
  'record-queue-time-max',
  'request-latency-avg',
  'request-latency-max',
  'produce-throttle-time-avg',
  'produce-throttle-time-max',
  'batch-split-rate',
  'batch-split-total',
  'bufferpool-wait-ratio',
  'bufferpool-wait-time-ns-total',
  'buffer-exhausted-rate',
  'buffer-exhausted-total',
  'connection-creation-rate',
  'connection-creation-total',
  'connection-close-rate',
  'connection-close-total',
  'successful-reauthentication-rate',
  'successful-reauthentication-total',
  ...PRODUCER_GAUGE_NAMES,
] as const;

export type ProducerMetricName = (typeof PRODUCER_METRIC_NAMES)[number];

export type ProducerMetricsSnapshot = { [name in ProducerMetricName]: number };

export interface MetricsWindowConfig {
  /** Java's metrics.num.samples; default 2. */
  readonly samples: number;
  /** Java's metrics.sample.window.ms; default 30 000. */
  readonly sampleWindowMs: number;
}

export interface ProducerMetricsOptions extends Partial<MetricsWindowConfig> {
  /** Milliseconds; injectable for tests. Default Date.now. */
  readonly clock?: () => number;
}

const SUM = 0;
const MAX = 1;

/**
 * Java's SampledStat with its Avg / Max / WindowedSum combinations. One instance per statistic;
 * windows live in typed arrays (samples + 1 slots, as 4.x keeps one extra).
 */
export class SampledStat {
  private readonly start: Float64Array;
  private readonly lastEvent: Float64Array;
  private readonly value: Float64Array;
  private readonly count: Float64Array;
  private readonly slots: number;
  private readonly initial: number;
  private size = 0;
  private current = 0;

  constructor(
    private readonly kind: typeof SUM | typeof MAX,
    private readonly config: MetricsWindowConfig,
  ) {
    this.slots = config.samples + 1;
    this.start = new Float64Array(this.slots);
    this.lastEvent = new Float64Array(this.slots);
    this.value = new Float64Array(this.slots);
    this.count = new Float64Array(this.slots);
    this.initial = kind === MAX ? Number.NEGATIVE_INFINITY : 0;
  }

  static sum(config: MetricsWindowConfig): SampledStat {
    return new SampledStat(SUM, config);
  }

  static max(config: MetricsWindowConfig): SampledStat {
    return new SampledStat(MAX, config);
  }

  record(v: number, nowMs: number): void {
    let i = this.currentSample(nowMs);
    if (nowMs - this.start[i] >= this.config.sampleWindowMs) i = this.advance(nowMs);
    if (this.kind === MAX) {
      if (v > this.value[i]) this.value[i] = v;
    } else {
      this.value[i] += v;
    }
    this.count[i] += 1;
    this.lastEvent[i] = nowMs;
  }

  /** Sum of the live windows' values (WindowedSum). */
  sum(nowMs: number): number {
    this.purge(nowMs);
    let total = 0;
    for (let i = 0; i < this.size; i++) total += this.value[i];
    return total;
  }

  /** Avg: NaN when no event is in the live windows. */
  avg(nowMs: number): number {
    this.purge(nowMs);
    let total = 0;
    let n = 0;
    for (let i = 0; i < this.size; i++) {
      total += this.value[i];
      n += this.count[i];
    }
    return n === 0 ? Number.NaN : total / n;
  }

  /** Max: NaN when no event is in the live windows. */
  max(nowMs: number): number {
    this.purge(nowMs);
    let m = Number.NEGATIVE_INFINITY;
    let n = 0;
    for (let i = 0; i < this.size; i++) {
      if (this.value[i] > m) m = this.value[i];
      n += this.count[i];
    }
    return n === 0 ? Number.NaN : m;
  }

  /**
   * Java's Rate.windowSize: ms from the oldest live window's start, but at least (samples - 1) full
   * windows, and at least 1.
   */
  windowSizeMs(nowMs: number): number {
    this.purge(nowMs);
    let elapsed = nowMs - this.oldestStart(nowMs);
    const windowMs = this.config.sampleWindowMs;
    const fullWindows = Math.floor(elapsed / windowMs);
    const minFullWindows = this.config.samples - 1;
    if (fullWindows < minFullWindows) elapsed += (minFullWindows - fullWindows) * windowMs;
    return Math.max(elapsed, 1);
  }

  private currentSample(nowMs: number): number {
    if (this.size === 0) this.newSample(0, nowMs);
    return this.current;
  }

  private oldestStart(nowMs: number): number {
    if (this.size === 0) this.newSample(0, nowMs);
    let oldest = this.start[0];
    for (let i = 1; i < this.size; i++) if (this.start[i] < oldest) oldest = this.start[i];
    return oldest;
  }

  private advance(nowMs: number): number {
    this.current = (this.current + 1) % this.slots;
    if (this.current >= this.size) this.newSample(this.current, nowMs);
    else this.reset(this.current, nowMs);
    return this.current;
  }

  private newSample(i: number, nowMs: number): void {
    this.reset(i, nowMs);
    this.size = i + 1;
  }

  private reset(i: number, nowMs: number): void {
    this.start[i] = nowMs;
    this.lastEvent[i] = nowMs;
    this.value[i] = this.initial;
    this.count[i] = 0;
  }

  /** Windows whose last event is older than samples × window start over (Java's purgeObsoleteSamples). */
  private purge(nowMs: number): void {
    const expireAge = this.config.samples * this.config.sampleWindowMs;
    for (let i = 0; i < this.size; i++) if (nowMs - this.lastEvent[i] >= expireAge) this.reset(i, nowMs);
  }
}

/** Java's Meter: a per-second (or per-ns) rate over the window and a cumulative total. */
export class Meter {
  private readonly windowed: SampledStat;
  total = 0;

  constructor(
    config: MetricsWindowConfig,
    /** Milliseconds per rate unit: 1000 for per second, 1e-6 for per nanosecond. */
    private readonly unitMs = 1000,
  ) {
    this.windowed = SampledStat.sum(config);
  }

  record(v: number, nowMs: number): void {
    this.windowed.record(v, nowMs);
    this.total += v;
  }

  rate(nowMs: number): number {
    const sum = this.windowed.sum(nowMs);
    return sum / (this.windowed.windowSizeMs(nowMs) / this.unitMs);
  }
}

/** Avg and Max of one sensor (two SampledStats, as Java's sensor holds two stats). */
export class AvgMax {
  private readonly sumStat: SampledStat;
  private readonly maxStat: SampledStat;

  constructor(config: MetricsWindowConfig) {
    this.sumStat = SampledStat.sum(config);
    this.maxStat = SampledStat.max(config);
  }

  record(v: number, nowMs: number): void {
    this.sumStat.record(v, nowMs);
    this.maxStat.record(v, nowMs);
  }

  avg(nowMs: number): number {
    return this.sumStat.avg(nowMs);
  }

  max(nowMs: number): number {
    return this.maxStat.max(nowMs);
  }
}

const NS_PER_MS = 1e6;

/**
 * The producer's metrics registry. The producer calls the record* methods at the points named in
 * each method's comment (where the Java client records the same sensor) and registers gauges for
 * values it already keeps; snapshot() measures everything at one instant.
 */
export class ProducerMetrics {
  readonly config: MetricsWindowConfig;
  private readonly clock: () => number;

  private readonly recordsPerRequest: Meter;
  private readonly recordsPerRequestAvg: SampledStat;
  private readonly bytes: Meter;
  private readonly errors: Meter;
  private readonly retries: Meter;
  private readonly recordSize: AvgMax;
  private readonly batchSize: AvgMax;
  private readonly compressionRate: SampledStat;
  private readonly queueTime: AvgMax;
  private readonly requestLatency: AvgMax;
  private readonly throttleTime: AvgMax;
  private readonly splits: Meter;
  private readonly bufferWait: Meter;
  private readonly exhausted: Meter;
  private readonly connectionCreations: Meter;
  private readonly connectionCloses: Meter;
  private readonly reauthentications: Meter;
  private readonly gauges = new Map<ProducerGaugeName, () => number>();

  constructor(options: ProducerMetricsOptions = {}) {
    const samples = options.samples ?? 2;
    const sampleWindowMs = options.sampleWindowMs ?? 30_000;
    if (!Number.isInteger(samples) || samples < 1) throw new RangeError(`samples must be an integer >= 1, got ${samples}`);
    if (!(sampleWindowMs > 0)) throw new RangeError(`sampleWindowMs must be > 0, got ${sampleWindowMs}`);
    const config: MetricsWindowConfig = { samples, sampleWindowMs };
    this.config = config;
    this.clock = options.clock ?? Date.now;
    this.recordsPerRequest = new Meter(config);
    this.recordsPerRequestAvg = SampledStat.sum(config);
    this.bytes = new Meter(config);
    this.errors = new Meter(config);
    this.retries = new Meter(config);
    this.recordSize = new AvgMax(config);
    this.batchSize = new AvgMax(config);
    this.compressionRate = SampledStat.sum(config);
    this.queueTime = new AvgMax(config);
    this.requestLatency = new AvgMax(config);
    this.throttleTime = new AvgMax(config);
    this.splits = new Meter(config);
    this.bufferWait = new Meter(config, 1 / NS_PER_MS);
    this.exhausted = new Meter(config);
    this.connectionCreations = new Meter(config);
    this.connectionCloses = new Meter(config);
    this.reauthentications = new Meter(config);
  }

  /**
   * One Produce request was written, carrying `records` records in record batches of `bytes` bytes in
   * all (Java's records-per-request sensor, recorded when the request is sent).
   * → record-send-rate/total, records-per-request-avg, byte-rate/total (Java's per-topic byte-rate
   * summed over topics).
   */
  recordSend(records: number, bytes: number): void {
    const now = this.clock();
    this.recordsPerRequest.record(records, now);
    this.recordsPerRequestAvg.record(records, now);
    this.bytes.record(bytes, now);
  }

  /** A batch of `records` records failed for good. → record-error-rate/total */
  recordError(records: number): void {
    this.errors.record(records, this.clock());
  }

  /** A batch of `records` records is being retried. → record-retry-rate/total */
  recordRetry(records: number): void {
    this.retries.record(records, this.clock());
  }

  /**
   * A batch went into a Produce request (Java records these per batch as the request is built).
   * `sizeBytes`: the batch's size as sent; `compressionRate`: compressed / uncompressed size (1 for
   * none); `maxRecordBytes`: the largest record in the batch, which Java's record-size-avg/max are
   * made of. Without it the batch's mean record size ((sizeBytes - 61) / recordCount) stands in.
   * → batch-size-avg/max, compression-rate-avg, record-size-avg/max
   */
  recordBatch(sizeBytes: number, recordCount: number, compressionRate: number, maxRecordBytes?: number): void {
    const now = this.clock();
    this.batchSize.record(sizeBytes, now);
    this.compressionRate.record(compressionRate, now);
    const recordBytes = maxRecordBytes ?? Math.max(0, sizeBytes - 61) / Math.max(1, recordCount);
    this.recordSize.record(recordBytes, now);
  }

  /** A batch was drained, `ms` after it was created. → record-queue-time-avg/max */
  recordQueueTime(ms: number): void {
    this.queueTime.record(ms, this.clock());
  }

  /** A Produce response arrived `latencyMs` after its request was sent. → request-latency-avg/max */
  recordRequest(latencyMs: number): void {
    this.requestLatency.record(latencyMs, this.clock());
  }

  /** Every Produce response's throttle time, 0 included (as Java). → produce-throttle-time-avg/max */
  recordThrottle(ms: number): void {
    this.throttleTime.record(ms, this.clock());
  }

  /** A batch was split after MESSAGE_TOO_LARGE. → batch-split-rate/total */
  recordSplit(): void {
    this.splits.record(1, this.clock());
  }

  /** An append failed because no buffer memory came free in time. → buffer-exhausted-rate/total */
  recordBufferExhausted(): void {
    this.exhausted.record(1, this.clock());
  }

  /** A broker connection opened (authenticated, if SASL is on). → connection-creation-rate/total */
  recordConnectionCreated(): void {
    this.connectionCreations.record(1, this.clock());
  }

  /** A broker connection closed, or an attempt failed. → connection-close-rate/total */
  recordConnectionClosed(): void {
    this.connectionCloses.record(1, this.clock());
  }

  /** An open connection renewed its SASL session (KIP-368). → successful-reauthentication-rate/total */
  recordReauthentication(): void {
    this.reauthentications.record(1, this.clock());
  }

  /** An append waited `ns` nanoseconds for buffer memory. → bufferpool-wait-ratio, bufferpool-wait-time-ns-total */
  recordBufferWait(ns: number): void {
    this.bufferWait.record(ns, this.clock());
  }

  /**
   * Registers (or replaces) a gauge read at snapshot time. Units as Java: bytes for the buffer
   * gauges, a count for requests-in-flight and waiting-threads, SECONDS for metadata-age
   * (e.g. `() => metadata.ageMs() / 1000`). An unregistered gauge reads NaN.
   */
  registerGauge(name: ProducerGaugeName, read: () => number): void {
    this.gauges.set(name, read);
  }

  /** Every metric at one instant (one clock read). NaN for an avg/max without events in the window. */
  snapshot(): ProducerMetricsSnapshot {
    const now = this.clock();
    return {
      'record-send-rate': this.recordsPerRequest.rate(now),
      'record-send-total': this.recordsPerRequest.total,
      'records-per-request-avg': this.recordsPerRequestAvg.avg(now),
      'byte-rate': this.bytes.rate(now),
      'byte-total': this.bytes.total,
      'record-error-rate': this.errors.rate(now),
      'record-error-total': this.errors.total,
      'record-retry-rate': this.retries.rate(now),
      'record-retry-total': this.retries.total,
      'record-size-avg': this.recordSize.avg(now),
      'record-size-max': this.recordSize.max(now),
      'batch-size-avg': this.batchSize.avg(now),
      'batch-size-max': this.batchSize.max(now),
      'compression-rate-avg': this.compressionRate.avg(now),
      'record-queue-time-avg': this.queueTime.avg(now),
      'record-queue-time-max': this.queueTime.max(now),
      'request-latency-avg': this.requestLatency.avg(now),
      'request-latency-max': this.requestLatency.max(now),
      'produce-throttle-time-avg': this.throttleTime.avg(now),
      'produce-throttle-time-max': this.throttleTime.max(now),
      'batch-split-rate': this.splits.rate(now),
      'batch-split-total': this.splits.total,
      'bufferpool-wait-ratio': this.bufferWait.rate(now),
      'bufferpool-wait-time-ns-total': this.bufferWait.total,
      'buffer-exhausted-rate': this.exhausted.rate(now),
      'buffer-exhausted-total': this.exhausted.total,
      'connection-creation-rate': this.connectionCreations.rate(now),
      'connection-creation-total': this.connectionCreations.total,
      'connection-close-rate': this.connectionCloses.rate(now),
      'connection-close-total': this.connectionCloses.total,
      'successful-reauthentication-rate': this.reauthentications.rate(now),
      'successful-reauthentication-total': this.reauthentications.total,
      'buffer-available-bytes': this.gauge('buffer-available-bytes'),
      'buffer-total-bytes': this.gauge('buffer-total-bytes'),
      'requests-in-flight': this.gauge('requests-in-flight'),
      'waiting-threads': this.gauge('waiting-threads'),
      'metadata-age': this.gauge('metadata-age'),
    };
  }

  private gauge(name: ProducerGaugeName): number {
    const read = this.gauges.get(name);
    if (read === undefined) return Number.NaN;
    try {
      return read();
    } catch {
      return Number.NaN; // a failing gauge must not break the whole snapshot
    }
  }
}
