import { BuiltInPartitioner, type LeaderLookup, type PartitionerRandom } from './built-in-partitioner';
import type { TopicInfo } from './metadata';

/** mulberry32 scaled to Java's toPositive(nextInt()) range, so a failing case replays from its seed. */
function seeded(seed: number): PartitionerRandom {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) >>> 1;
  };
}

/** A random source that returns the given values in turn (then repeats the last). */
function sequence(...values: number[]): PartitionerRandom {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)];
}

/** A topic whose partition i is led by leaders[i] (-1: no leader). */
function topic(name: string, leaders: readonly number[]): TopicInfo {
  return { name, topicId: Buffer.alloc(16), partitions: leaders.map((leaderId, partition) => ({ partition, leaderId, leaderEpoch: 0 })) };
}

function leadersOf(info: TopicInfo): LeaderLookup {
  return { leaderFor: (_t, p) => info.partitions[p]?.leaderId ?? -1 };
}

/** Queue map as the accumulator keeps it: partition -> batches (only the length matters). */
function queues(sizes: readonly number[]): Map<number, unknown[]> {
  return new Map(sizes.map((n, p) => [p, new Array<unknown>(n).fill(null)]));
}

/** Forces a switch and returns the partition chosen; counts over many switches. */
function histogram(partitioner: BuiltInPartitioner, info: TopicInfo, switches: number): number[] {
  const counts = new Array<number>(info.partitions.length).fill(0);
  for (let i = 0; i < switches; i++) {
    const current = partitioner.partition(info);
    partitioner.recordAppended(info, current, partitioner.batchSize);
    counts[partitioner.partition(info)]++;
  }
  return counts;
}

describe('BuiltInPartitioner: sticky partitioning', () => {
  const t = topic('t', [1, 2, 3, 1, 2, 3]);

  it('sticks to one partition until batchSize bytes were appended, then switches and starts counting again', () => {
    const p = new BuiltInPartitioner({ batchSize: 1000, random: sequence(2, 4, 1) });
    expect(p.partition(t)).toBe(2);
    for (let i = 0; i < 9; i++) {
      p.recordAppended(t, 2, 100);
      expect(p.partition(t)).toBe(2);
    }
    expect(p.producedBytes('t')).toBe(900);
    p.recordAppended(t, 2, 99);
    expect(p.partition(t)).toBe(2); // 999 < 1000
    p.recordAppended(t, 2, 1); // exactly batchSize: switch (Java: producedBytes >= stickyBatchSize)
    expect(p.partition(t)).toBe(4);
    expect(p.producedBytes('t')).toBe(0);
    p.recordAppended(t, 4, 5000); // one big record: switch at once
    expect(p.partition(t)).toBe(1);
  });

  it('stays on a partition whose batch grew past batchSize until that batch is full (or twice its size went there)', () => {
    const p = new BuiltInPartitioner({ batchSize: 1000, random: sequence(2, 4, 1) });
    expect(p.partition(t)).toBe(2);
    p.recordAppended(t, 2, 3000, false, 4000); // past batchSize, the 4000-byte batch not full: stay
    expect(p.partition(t)).toBe(2);
    p.recordAppended(t, 2, 1000, true, 4000); // the grown batch is full: switch
    expect(p.partition(t)).toBe(4);
    p.recordAppended(t, 4, 7999, false, 4000);
    expect(p.partition(t)).toBe(4);
    p.recordAppended(t, 4, 1, false, 4000); // 2 × the batch: switch regardless
    expect(p.partition(t)).toBe(1);
  });

  it('switchAtBatchBoundary: switches only once enough bytes went out, and reports a change made in between', () => {
    const p = new BuiltInPartitioner({ batchSize: 1000, random: sequence(1, 4) });
    expect(p.switchAtBatchBoundary(t, 1)).toBe(false); // topic never used: nothing to do
    expect(p.partition(t)).toBe(1);
    p.recordAppended(t, 1, 999, false);
    expect(p.switchAtBatchBoundary(t, 1)).toBe(false); // 999 < batchSize: open a new batch here
    p.recordAppended(t, 1, 1, false);
    expect(p.switchAtBatchBoundary(t, 1)).toBe(true);
    expect(p.partition(t)).toBe(4);
    expect(p.switchAtBatchBoundary(t, 1)).toBe(true); // the caller's partition is stale
  });

  it('following the append protocol, switches land on batch boundaries (no fractional batches)', () => {
    // a miniature accumulator: batches of batch.size bytes with a 61-byte header, records of 100 bytes
    const BATCH = 1000;
    const HEADER = 61;
    const RECORD = 100;
    const info = topic('t', [1, 1, 1, 1]);
    const p = new BuiltInPartitioner({ batchSize: BATCH, random: seeded(21) });
    const queues = new Map<number, number[]>(); // partition -> sizes of its batches (last one open)
    const append = (): void => {
      for (;;) {
        const partition = p.partition(info);
        const deque = queues.get(partition) ?? [];
        queues.set(partition, deque);
        const last = deque.length - 1;
        if (last >= 0 && deque[last] + RECORD <= BATCH) {
          deque[last] += RECORD;
          p.recordAppended(info, partition, RECORD, deque[last] >= BATCH);
          return;
        }
        if (p.switchAtBatchBoundary(info, partition)) continue;
        deque.push(HEADER + RECORD);
        p.recordAppended(info, partition, HEADER + RECORD, false);
        return;
      }
    };
    // at every switch, the partition left behind has a batch as full as 100-byte records make it
    // (961 bytes), never a fresh, nearly empty one that would linger and go out small
    const leftBehind: number[] = [];
    let current = p.partition(info);
    for (let i = 0; i < 5000; i++) {
      append();
      const next = p.partition(info);
      if (next !== current) {
        const deque = queues.get(current)!;
        leftBehind.push(deque[deque.length - 1]);
        current = next;
      }
    }
    expect(leftBehind.length).toBeGreaterThan(200);
    expect(new Set(leftBehind)).toEqual(new Set([HEADER + 9 * RECORD]));
  });

  it('with enableSwitch=false waits for the batch boundary, but not beyond 2 x batchSize', () => {
    const p = new BuiltInPartitioner({ batchSize: 1000, random: sequence(0, 3, 5) });
    expect(p.partition(t)).toBe(0);
    p.recordAppended(t, 0, 1500, false);
    expect(p.partition(t)).toBe(0); // enough bytes, but the last batch is not full
    p.recordAppended(t, 0, 100, true);
    expect(p.partition(t)).toBe(3); // the batch filled up: switch
    p.recordAppended(t, 3, 1999, false);
    expect(p.partition(t)).toBe(3);
    p.recordAppended(t, 3, 1, false); // 2000 = 2 x batchSize: switch regardless
    expect(p.partition(t)).toBe(5);
  });

  it('treats batchSize 0 as 1: every record switches (as Java does)', () => {
    const p = new BuiltInPartitioner({ batchSize: 0, random: sequence(0, 1, 2, 3) });
    expect(p.batchSize).toBe(1);
    expect(p.partition(t)).toBe(0);
    p.recordAppended(t, 0, 1);
    expect(p.partition(t)).toBe(1);
    p.recordAppended(t, 1, 1);
    expect(p.partition(t)).toBe(2);
  });

  it('ignores bytes reported for a partition that is no longer the sticky one', () => {
    const p = new BuiltInPartitioner({ batchSize: 100, random: sequence(1, 2) });
    expect(p.partition(t)).toBe(1);
    p.recordAppended(t, 4, 1000);
    p.recordAppended(topic('other', [1]), 1, 1000);
    expect(p.partition(t)).toBe(1);
    expect(p.producedBytes('t')).toBe(0);
  });

  it('keeps separate sticky state per topic', () => {
    const a = topic('a', [1, 1, 1]);
    const b = topic('b', [1, 1, 1]);
    const p = new BuiltInPartitioner({ batchSize: 100, random: sequence(0, 1, 2) });
    expect(p.partition(a)).toBe(0);
    expect(p.partition(b)).toBe(1);
    p.recordAppended(a, 0, 100);
    expect(p.partition(a)).toBe(2);
    expect(p.partition(b)).toBe(1);
  });

  it('chooses again when the topic no longer has the sticky partition (topic re-created smaller)', () => {
    const p = new BuiltInPartitioner({ batchSize: 100, random: sequence(5, 1) });
    expect(p.partition(t)).toBe(5);
    expect(p.partition(topic('t', [1, 1, 1]))).toBe(1);
  });

});

describe('BuiltInPartitioner: next partition without load statistics (uniform)', () => {
  it('chooses uniformly among partitions that have a leader, never a leaderless one', () => {
    const info = topic('t', [1, -1, 2, -1, 3, 1, -1, 2]);
    const p = new BuiltInPartitioner({ batchSize: 10, random: seeded(42) });
    const counts = histogram(p, info, 50_000);
    for (const leaderless of [1, 3, 6]) expect(counts[leaderless]).toBe(0);
    for (const led of [0, 2, 4, 5, 7]) expect(counts[led] / 50_000).toBeCloseTo(1 / 5, 1);
  });

  it('picks among all partitions when none has a leader (the record then waits for one)', () => {
    const info = topic('t', [-1, -1, -1]);
    const p = new BuiltInPartitioner({ batchSize: 10, random: sequence(0, 1, 2, 4) });
    expect(p.partition(info)).toBe(0);
    const seen = [0];
    for (let i = 0; i < 3; i++) {
      p.recordAppended(info, p.partition(info), 10);
      seen.push(p.partition(info));
    }
    expect(seen).toEqual([0, 1, 2, 1]);
  });
});

describe('BuiltInPartitioner: adaptive load statistics (updatePartitionLoadStats)', () => {
  it("builds Java's cumulative frequency table: queues [0,3,1] -> weights [4,1,3] -> CFT [4,5,8]", () => {
    const info = topic('t', [1, 1, 1]);
    // random values r: r % 8 in 0..3 -> partition 0, 4 -> 1, 5..7 -> 2 (first CFT entry strictly > r)
    const draws = [0, 3, 4, 5, 7, 8, 12, 13];
    const p = new BuiltInPartitioner({ batchSize: 10, random: sequence(0, ...draws) });
    expect(p.partition(info)).toBe(0);
    p.updatePartitionLoadStats('t', [0, 3, 1], [0, 1, 2]);
    expect(p.loadStatsRangeEnd('t')).toBe(8);
    const chosen: number[] = [];
    for (let i = 0; i < draws.length; i++) {
      p.recordAppended(info, p.partition(info), 10);
      chosen.push(p.partition(info));
    }
    expect(chosen).toEqual([0, 0, 1, 2, 2, 0, 1, 2]);
  });

  it('does not modify or keep the arrays it is given', () => {
    const p = new BuiltInPartitioner({ batchSize: 10 });
    const sizes = [0, 3, 1];
    const ids = [0, 1, 2];
    p.updatePartitionLoadStats('t', sizes, ids);
    sizes[0] = 100;
    ids[0] = 2;
    expect(sizes).toEqual([100, 3, 1]);
    expect(p.loadStatsRangeEnd('t')).toBe(8);
  });

  it('favours short queues: over many switches each partition is chosen in proportion to maxQueue + 1 - queue', () => {
    const info = topic('t', [1, 2, 3, 1]);
    const p = new BuiltInPartitioner({ batchSize: 10, random: seeded(7) });
    p.partition(info);
    p.updatePartitionLoadStats('t', [0, 10, 5, 0], [0, 1, 2, 3]); // weights 11, 1, 6, 11 of 29
    const n = 100_000;
    const counts = histogram(p, info, n);
    const expected = [11 / 29, 1 / 29, 6 / 29, 11 / 29];
    counts.forEach((c, i) => expect(Math.abs(c / n - expected[i])).toBeLessThan(0.01));
    expect(counts[0]).toBeGreaterThan(counts[2]);
    expect(counts[2]).toBeGreaterThan(counts[1]);
  });

  it('maps weights to the partition ids given, not to array positions', () => {
    const info = topic('t', [1, 1, 1, 1, 1, 1]);
    const p = new BuiltInPartitioner({ batchSize: 10, random: seeded(3) });
    p.partition(info);
    // only partitions 5 and 2 usable (length 2 of 6): 5 has an empty queue, 2 a long one
    p.updatePartitionLoadStats('t', [0, 9, 0, 0, 0, 0], [5, 2, 0, 0, 0, 0], 2);
    const counts = histogram(p, info, 20_000);
    expect(counts[0] + counts[1] + counts[3] + counts[4]).toBe(0);
    expect(counts[5] / 20_000).toBeCloseTo(10 / 11, 1);
  });

  it('uses no statistics (uniform) when all queues are equal and none excluded, for fewer than 2 partitions, or for nothing usable', () => {
    const p = new BuiltInPartitioner({ batchSize: 10 });
    p.updatePartitionLoadStats('t', [2, 2, 2], [0, 1, 2]);
    expect(p.loadStatsRangeEnd('t')).toBe(0);
    p.updatePartitionLoadStats('t', [5], [0]);
    expect(p.loadStatsRangeEnd('t')).toBe(0);
    p.updatePartitionLoadStats('t', [1, 2, 3], [0, 1, 2], 0);
    expect(p.loadStatsRangeEnd('t')).toBe(0);
    // equal sizes but one excluded (length < total): still weighted, so the excluded one is avoided
    p.updatePartitionLoadStats('t', [2, 2, 2], [0, 2, 1], 2);
    expect(p.loadStatsRangeEnd('t')).toBe(2);
    p.updatePartitionLoadStats('t', null, []);
    expect(p.loadStatsRangeEnd('t')).toBe(0);
  });

  it('ignores load statistics when adaptive partitioning is off', () => {
    const p = new BuiltInPartitioner({ batchSize: 10, adaptive: false, availabilityTimeoutMs: 100 });
    expect(p.availabilityTimeoutMs).toBe(0); // Java: the timeout only applies with adaptive on
    p.updatePartitionLoadStats('t', [0, 3, 1], [0, 1, 2]);
    expect(p.loadStatsRangeEnd('t')).toBe(0);
  });
});

describe('BuiltInPartitioner: statistics from the accumulator queues and node availability', () => {
  it('leaves leaderless partitions out of the weighted choice', () => {
    const info = topic('t', [1, -1, 2, 3]);
    const p = new BuiltInPartitioner({ batchSize: 10, random: seeded(11) });
    p.partition(info);
    p.updateLoadStatsFromQueues('t', queues([1, 0, 1, 1]), leadersOf(info));
    expect(p.loadStatsRangeEnd('t')).toBe(3); // three usable partitions, weight 1 each
    const counts = histogram(p, info, 30_000);
    expect(counts[1]).toBe(0);
    for (const i of [0, 2, 3]) expect(counts[i] / 30_000).toBeCloseTo(1 / 3, 1);
  });

  it('stays uniform until every partition of the topic has a queue entry (as Java)', () => {
    const info = topic('t', [1, 1, 1, 1]);
    const p = new BuiltInPartitioner({ batchSize: 10 });
    p.partition(info);
    p.updateLoadStatsFromQueues('t', new Map([[0, [1, 2, 3]], [1, []]]), leadersOf(info));
    expect(p.loadStatsRangeEnd('t')).toBe(0);
    p.updateLoadStatsFromQueues('t', queues([3, 0, 0, 0]), leadersOf(info));
    expect(p.loadStatsRangeEnd('t')).toBe(1 + 4 + 4 + 4);
  });

  it('does nothing for topics that never used the sticky path', () => {
    const p = new BuiltInPartitioner({ batchSize: 10 });
    const info = topic('keyed-only', [1, 1]);
    p.updateLoadStatsFromQueues('keyed-only', queues([5, 0]), leadersOf(info));
    expect(p.loadStatsRangeEnd('keyed-only')).toBe(0);
    expect(p.currentPartition('keyed-only')).toBe(-1);
  });

  it('excludes partitions whose leader has had data ready but not drainable for longer than availabilityTimeoutMs', () => {
    const info = topic('t', [1, 2, 1, 2, 3]);
    const p = new BuiltInPartitioner({ batchSize: 10, availabilityTimeoutMs: 1000, random: seeded(5) });
    p.partition(info);
    for (const node of [1, 2, 3]) p.updateNodeLatencyStats(node, 0, true);
    // node 2 keeps being ready without being drained; nodes 1 and 3 are drained
    for (let now = 100; now <= 1000; now += 100) {
      p.updateNodeLatencyStats(1, now, true);
      p.updateNodeLatencyStats(2, now, false);
      p.updateNodeLatencyStats(3, now, true);
    }
    expect(p.isNodeUnavailable(2)).toBe(false); // 1000 ms is not longer than the timeout
    p.updateNodeLatencyStats(2, 1001, false);
    expect(p.isNodeUnavailable(2)).toBe(true);
    expect(p.isNodeUnavailable(1)).toBe(false);
    p.updateLoadStatsFromQueues('t', queues([1, 1, 1, 1, 1]), leadersOf(info));
    const counts = histogram(p, info, 30_000);
    expect(counts[1]).toBe(0);
    expect(counts[3]).toBe(0);
    for (const i of [0, 2, 4]) expect(counts[i] / 30_000).toBeCloseTo(1 / 3, 1);

    // node 2 is drained again: its partitions come back on the next ready pass
    p.updateNodeLatencyStats(2, 1200, true);
    expect(p.isNodeUnavailable(2)).toBe(false);
    p.updateLoadStatsFromQueues('t', queues([1, 1, 1, 1, 1]), leadersOf(info));
    expect(p.loadStatsRangeEnd('t')).toBe(0); // all equal, none excluded: uniform again
    const after = histogram(p, info, 30_000);
    for (let i = 0; i < 5; i++) expect(after[i] / 30_000).toBeCloseTo(1 / 5, 1);
  });

  it('falls back to every partition with a leader when every usable partition is excluded', () => {
    const info = topic('t', [1, 1, -1, 1]);
    const p = new BuiltInPartitioner({ batchSize: 10, availabilityTimeoutMs: 50, random: seeded(9) });
    p.partition(info);
    p.updateNodeLatencyStats(1, 0, true);
    p.updateNodeLatencyStats(1, 500, false);
    expect(p.isNodeUnavailable(1)).toBe(true);
    p.updateLoadStatsFromQueues('t', queues([4, 0, 0, 1]), leadersOf(info));
    expect(p.loadStatsRangeEnd('t')).toBe(0);
    const counts = histogram(p, info, 30_000);
    expect(counts[2]).toBe(0); // still never the leaderless one
    for (const i of [0, 1, 3]) expect(counts[i] / 30_000).toBeCloseTo(1 / 3, 1);
  });

  it('records no node statistics when the availability timeout is 0', () => {
    const p = new BuiltInPartitioner({ batchSize: 10 });
    p.updateNodeLatencyStats(1, 0, true);
    p.updateNodeLatencyStats(1, 1_000_000, false);
    expect(p.isNodeUnavailable(1)).toBe(false);
  });

  it('weights by queue length through updateLoadStatsFromQueues', () => {
    const info = topic('t', [1, 2, 3]);
    const p = new BuiltInPartitioner({ batchSize: 10, random: seeded(13) });
    p.partition(info);
    p.updateLoadStatsFromQueues('t', queues([0, 3, 1]), leadersOf(info));
    expect(p.loadStatsRangeEnd('t')).toBe(8);
    const counts = histogram(p, info, 40_000);
    [4 / 8, 1 / 8, 3 / 8].forEach((w, i) => expect(Math.abs(counts[i] / 40_000 - w)).toBeLessThan(0.01));
  });
});
