import { AvgMax, Meter, PRODUCER_METRIC_NAMES, ProducerMetrics, SampledStat, type MetricsWindowConfig } from './metrics';

const JAVA_DEFAULT: MetricsWindowConfig = { samples: 2, sampleWindowMs: 30_000 };

/** A clock the test moves by hand. */
function manualClock(start = 0): { now: () => number; set: (t: number) => void } {
  let t = start;
  return { now: () => t, set: (v) => (t = v) };
}

/**
 * The same sensor as Java's (Meter + Avg + Max + a nanosecond Meter) fed the same events, with the
 * values kafka-clients 4.3.1 printed for them (org.apache.kafka.common.metrics.Metrics with
 * samples=2, timeWindow=30 s and a hand-moved Time; computed once, committed here).
 * [op, t, value] / [op, t, rate, total, avg, max, nsRatio]
 */
const JAVA_SCENARIO: ReadonlyArray<readonly ['r', number, number] | readonly ['m', number, number, number, number, number, number]> = [
  ['m', 0, 0, 0, NaN, NaN, 0],
  ['r', 0, 10],
  ['m', 0, 0.3333333333333333, 10, 10, 10, 3.333333333333333e-10],
  ['m', 1000, 0.3225806451612903, 10, 10, 10, 3.225806451612903e-10],
  ['m', 29999, 0.1666694444907415, 10, 10, 10, 1.6666944449074151e-10],
  ['r', 29999, 4],
  ['m', 30000, 0.4666666666666667, 14, 7, 10, 4.666666666666667e-10],
  ['r', 30000, 20],
  ['m', 45000, 0.7555555555555555, 34, 11.333333333333334, 20, 7.555555555555556e-10],
  ['r', 45000, 6],
  ['m', 59999, 0.666677777962966, 40, 10, 20, 6.666777779629661e-10],
  ['m', 60000, 0.6666666666666666, 40, 10, 20, 6.666666666666666e-10],
  ['r', 61000, 1],
  ['m', 61000, 0.6721311475409836, 41, 8.2, 20, 6.721311475409836e-10],
  ['m', 90000, 0.45, 41, 9, 20, 4.5e-10],
  ['m', 91000, 0.4426229508196721, 41, 9, 20, 4.426229508196721e-10],
  ['m', 150000, 0, 41, NaN, NaN, 0],
  ['m', 200000, 0, 41, NaN, NaN, 0],
];

describe('metrics statistics: the Java metrics library arithmetic', () => {
  it('reproduces kafka-clients 4.3.1 for rate, total, avg, max and a nanosecond ratio over the same events', () => {
    const meter = new Meter(JAVA_DEFAULT);
    const nanos = new Meter(JAVA_DEFAULT, 1e-6);
    const avgMax = new AvgMax(JAVA_DEFAULT);
    for (const step of JAVA_SCENARIO) {
      if (step[0] === 'r') {
        const [, t, v] = step;
        meter.record(v, t);
        nanos.record(v, t);
        avgMax.record(v, t);
        continue;
      }
      const [, t, rate, total, avg, max, nsRatio] = step;
      const got = [meter.rate(t), meter.total, avgMax.avg(t), avgMax.max(t), nanos.rate(t)];
      const want = [rate, total, avg, max, nsRatio];
      got.forEach((g, i) => {
        if (Number.isNaN(want[i])) expect(g).toBeNaN();
        else expect(g).toBeCloseTo(want[i], 12 + (i === 4 ? 9 : 0));
      });
    }
  });

  it('rate: events / elapsed seconds, with at least (samples - 1) full windows assumed at start-up', () => {
    const m = new Meter(JAVA_DEFAULT);
    m.record(60, 0);
    expect(m.rate(0)).toBeCloseTo(60 / 30, 10); // 0 ms elapsed + one assumed 30 s window
    expect(m.rate(10_000)).toBeCloseTo(60 / 40, 10);
    expect(m.rate(30_000)).toBeCloseTo(60 / 30, 10); // one full window now: no padding
    expect(m.rate(50_000)).toBeCloseTo(60 / 50, 10);
  });

  it('rate: the window is at least 1 ms (one sample configured, measured at the instant of the first event)', () => {
    const m = new Meter({ samples: 1, sampleWindowMs: 1000 });
    m.record(5, 100);
    expect(m.rate(100)).toBe(5000); // 5 per 1 ms
    expect(m.rate(600)).toBeCloseTo(10, 10);
  });

  it('total: cumulative, never expires', () => {
    const m = new Meter(JAVA_DEFAULT);
    for (let t = 0; t < 10; t++) m.record(1, t * 100_000);
    expect(m.total).toBe(10);
    expect(m.rate(10_000_000)).toBe(0);
  });

  it('avg and max: over the live windows only; NaN when none has events', () => {
    const s = new AvgMax(JAVA_DEFAULT);
    expect(s.avg(0)).toBeNaN();
    expect(s.max(0)).toBeNaN();
    s.record(100, 0);
    s.record(2, 1);
    s.record(3, 2);
    expect(s.avg(5)).toBe(35);
    expect(s.max(5)).toBe(100);
    // a new window: the first still counts until its last event is samples x window old
    s.record(7, 31_000);
    expect(s.avg(40_000)).toBe(28);
    expect(s.max(59_999)).toBe(100);
    expect(s.max(60_002)).toBe(7); // the first window (last event at 2) expired
    expect(s.avg(60_002)).toBe(7);
  });

  it('max handles negative values (starts at -Infinity, not 0)', () => {
    const s = SampledStat.max(JAVA_DEFAULT);
    s.record(-5, 0);
    s.record(-3, 1);
    expect(s.max(2)).toBe(-3);
  });

  it('window expiry: a window whose last event is samples x window old is reset before measuring', () => {
    const s = SampledStat.sum(JAVA_DEFAULT);
    s.record(10, 0);
    s.record(5, 50_000); // second window
    expect(s.sum(59_999)).toBe(15);
    expect(s.sum(60_000)).toBe(5); // first window's last event (t=0) is 60 s old
    expect(s.sum(110_000)).toBe(0);
  });

  it('rotates through samples + 1 windows, as 4.x keeps one spare', () => {
    const s = SampledStat.sum(JAVA_DEFAULT);
    s.record(1, 0);
    s.record(2, 30_000);
    s.record(4, 60_000); // third slot: the first still overlaps the monitored window
    expect(s.sum(60_000)).toBe(1 + 2 + 4 - 1); // ...but its last event (t=0) is exactly 60 s old: purged
    s.record(8, 90_000); // back to the first slot, reset
    expect(s.sum(90_000)).toBe(4 + 8); // t=30 000 expired too
  });

  it('takes a million events in stride (smoke test of the typed-array windows)', () => {
    const s = new AvgMax(JAVA_DEFAULT);
    for (let i = 0; i < 1_000_000; i++) s.record(i & 1023, i);
    expect(s.max(1_000_000)).toBe(1023);
  });
});

describe('ProducerMetrics: Java names and what each call records', () => {
  it('snapshot() has exactly the Java names, NaN for averages without events and for unregistered gauges', () => {
    const m = new ProducerMetrics({ clock: () => 0 });
    const snap = m.snapshot();
    expect(Object.keys(snap).sort()).toEqual([...PRODUCER_METRIC_NAMES].sort());
    for (const name of [
      'record-send-rate',
      'record-send-total',
      'record-error-rate',
      'record-error-total',
      'record-retry-rate',
      'record-retry-total',
      'batch-split-rate',
      'batch-split-total',
      'buffer-exhausted-rate',
      'buffer-exhausted-total',
      'connection-creation-total',
      'connection-close-total',
      'successful-reauthentication-total',
      'bufferpool-wait-ratio',
      'bufferpool-wait-time-ns-total',
    ] as const) {
      expect(snap[name]).toBe(0);
    }
    for (const name of ['batch-size-avg', 'batch-size-max', 'records-per-request-avg', 'record-queue-time-avg', 'request-latency-max', 'compression-rate-avg', 'record-size-avg', 'metadata-age'] as const) {
      expect(snap[name]).toBeNaN();
    }
  });

  it('maps each recording call onto its metrics', () => {
    const clock = manualClock(1_000_000);
    const m = new ProducerMetrics({ clock: clock.now });
    m.recordSend(30, 3000);
    m.recordSend(10, 1000);
    m.recordError(4);
    m.recordRetry(2);
    m.recordRetry(3);
    m.recordBatch(1000, 10, 0.5, 120);
    m.recordBatch(3000, 30, 1);
    m.recordQueueTime(5);
    m.recordQueueTime(15);
    m.recordRequest(8);
    m.recordRequest(2);
    m.recordThrottle(0);
    m.recordThrottle(100);
    m.recordSplit();
    m.recordBufferExhausted();
    m.recordBufferWait(3e9);
    m.recordConnectionCreated();
    m.recordConnectionCreated();
    m.recordConnectionClosed();
    m.recordReauthentication();
    clock.set(1_000_000 + 30_000);
    const s = m.snapshot();
    expect(s['record-send-total']).toBe(40);
    expect(s['record-send-rate']).toBeCloseTo(40 / 30, 10);
    expect(s['records-per-request-avg']).toBe(20);
    expect(s['byte-total']).toBe(4000);
    expect(s['record-error-total']).toBe(4);
    expect(s['record-retry-total']).toBe(5);
    expect(s['record-retry-rate']).toBeCloseTo(5 / 30, 10);
    expect(s['batch-size-avg']).toBe(2000);
    expect(s['batch-size-max']).toBe(3000);
    expect(s['compression-rate-avg']).toBe(0.75);
    expect(s['record-size-max']).toBe(120); // the largest record given for the first batch
    expect(s['record-size-avg']).toBeCloseTo((120 + (3000 - 61) / 30) / 2, 10); // second batch: mean stands in
    expect(s['record-queue-time-avg']).toBe(10);
    expect(s['record-queue-time-max']).toBe(15);
    expect(s['request-latency-avg']).toBe(5);
    expect(s['request-latency-max']).toBe(8);
    expect(s['produce-throttle-time-avg']).toBe(50);
    expect(s['produce-throttle-time-max']).toBe(100);
    expect(s['batch-split-total']).toBe(1);
    expect(s['buffer-exhausted-total']).toBe(1);
    expect(s['connection-creation-total']).toBe(2);
    expect(s['connection-close-total']).toBe(1);
    expect(s['successful-reauthentication-total']).toBe(1);
    expect(s['successful-reauthentication-rate']).toBeCloseTo(1 / 30, 10);
    expect(s['bufferpool-wait-time-ns-total']).toBe(3e9);
    expect(s['bufferpool-wait-ratio']).toBeCloseTo(0.1, 10); // 3 s waited in 30 s
  });

  it('reads gauges at snapshot time; a throwing gauge reads NaN without breaking the snapshot', () => {
    let inFlight = 1;
    const m = new ProducerMetrics({ clock: () => 0 });
    m.registerGauge('requests-in-flight', () => inFlight);
    m.registerGauge('buffer-total-bytes', () => 32 * 1024 * 1024);
    m.registerGauge('buffer-available-bytes', () => 1024);
    m.registerGauge('waiting-threads', () => 0);
    m.registerGauge('metadata-age', () => {
      throw new Error('boom');
    });
    expect(m.snapshot()['requests-in-flight']).toBe(1);
    inFlight = 3;
    const s = m.snapshot();
    expect(s['requests-in-flight']).toBe(3);
    expect(s['buffer-total-bytes']).toBe(33554432);
    expect(s['buffer-available-bytes']).toBe(1024);
    expect(s['waiting-threads']).toBe(0);
    expect(s['metadata-age']).toBeNaN();
    m.registerGauge('metadata-age', () => 12.5);
    expect(m.snapshot()['metadata-age']).toBe(12.5);
  });

  it('rates decay to 0 and averages to NaN once the window has passed; totals stay', () => {
    const clock = manualClock();
    const m = new ProducerMetrics({ clock: clock.now });
    m.recordSend(100, 10_000);
    m.recordRequest(7);
    clock.set(60_000);
    const s = m.snapshot();
    expect(s['record-send-rate']).toBe(0);
    expect(s['record-send-total']).toBe(100);
    expect(s['request-latency-avg']).toBeNaN();
  });

  it('honours a custom window (metrics.num.samples / metrics.sample.window.ms) and rejects nonsense', () => {
    const clock = manualClock();
    const m = new ProducerMetrics({ clock: clock.now, samples: 3, sampleWindowMs: 1000 });
    m.recordSend(30, 0);
    clock.set(500);
    expect(m.snapshot()['record-send-rate']).toBeCloseTo(30 / 2.5, 10); // 0.5 s + 2 assumed windows
    expect(() => new ProducerMetrics({ samples: 0 })).toThrow(RangeError);
    expect(() => new ProducerMetrics({ sampleWindowMs: 0 })).toThrow(RangeError);
  });
});
