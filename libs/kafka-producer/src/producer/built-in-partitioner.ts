import type { TopicInfo } from './metadata';

/** Who leads a partition; `Metadata` and the accumulator's `LeaderView` both fit. */
export interface LeaderLookup {
  /** Leader node id, or -1 when the partition has no leader. */
  leaderFor(topic: string, partition: number): number;
}

/** A non-negative 31-bit integer, like Java's `Utils.toPositive(ThreadLocalRandom.current().nextInt())`. */
export type PartitionerRandom = () => number;

export interface BuiltInPartitionerOptions {
  /** `batchSize`: bytes to produce to a partition before switching; 0 is treated as 1, as in Java. */
  readonly batchSize: number;
  /** `partitionerAdaptivePartitioningEnable`; default true. */
  readonly adaptive?: boolean;
  /** `partitionerAvailabilityTimeoutMs`; 0 (default) disables; ignored when adaptive is off (as in Java). */
  readonly availabilityTimeoutMs?: number;
  /** Random source (tests pass a seeded one); must return integers in [0, 2^31). */
  readonly random?: PartitionerRandom;
}

const defaultRandom: PartitionerRandom = () => Math.floor(Math.random() * 0x80000000);

interface TopicState {
  /** The metadata last seen for the topic (partition() refreshes it). */
  info: TopicInfo | null;
  /** Current sticky partition, -1 before the first choice. */
  partition: number;
  producedBytes: number;
  /** Load statistics; `loadLength` 0 means none (uniform choice). */
  cft: Int32Array;
  ids: Int32Array;
  loadLength: number;
  /** Scratch for updateLoadStatsFromQueues, reused across ready() passes. */
  scratchSizes: Int32Array;
  scratchIds: Int32Array;
}

interface NodeLatencyStats {
  /** Last time the node had data ready to send. */
  readyTimeMs: number;
  /** Last time the node had data ready and could actually be drained. */
  drainTimeMs: number;
}

const EMPTY = new Int32Array(0);

/**
 * The Java client's BuiltInPartitioner (KIP-794) for records without a key (or with
 * `partitionerIgnoreKeys`): one producer-wide object holding, per topic, the sticky partition and the
 * adaptive load statistics.
 *
 * Sticky: keyless records go to one partition until `batchSize` bytes were appended to it, then the
 * partitioner switches. As in Java, the switch waits for a batch boundary when the caller says the
 * partition's last batch is not full (`enableSwitch = false`), but never beyond 2 × batchSize.
 *
 * The append protocol (Java's RecordAccumulator.append, single-threaded here):
 * 1. `p = partition(topic)`;
 * 2. if the record fits p's last open batch: append, then
 *    `recordAppended(topic, p, batch.sizeInBytes - sizeBefore, lastBatchOfP.isFull)`;
 * 3. otherwise (a new batch is needed): if `switchAtBatchBoundary(topic, p)` is true, go back to 1 with
 *    the new partition; else open the batch on p, append, and
 *    `recordAppended(topic, p, newBatch.sizeInBytes, newBatch.isFull)` (the size includes the 61-byte
 *    header, as Java counts a new batch's whole estimated size).
 *
 * Next partition:
 * - without load statistics: uniformly among the partitions that have a leader (among all partitions
 *   only when none has a leader: the record then waits in the accumulator for one);
 * - with load statistics (adaptive, the default): weighted by `maxQueue + 1 - queue` over the partitions
 *   that have a leader and whose leader was not stuck for longer than `availabilityTimeoutMs`, through a
 *   cumulative frequency table and a binary search, exactly as Java does.
 *
 * Load statistics come from the accumulator's ready() pass (`updateLoadStatsFromQueues`, or the
 * Java-shaped `updatePartitionLoadStats`); node availability from the sender
 * (`updateNodeLatencyStats`). Nothing here allocates per record.
 */
export class BuiltInPartitioner {
  readonly batchSize: number;
  readonly adaptive: boolean;
  readonly availabilityTimeoutMs: number;
  private readonly random: PartitionerRandom;
  private readonly topics = new Map<string, TopicState>();
  private readonly nodeStats = new Map<number, NodeLatencyStats>();

  constructor(options: BuiltInPartitionerOptions) {
    if (!Number.isFinite(options.batchSize) || options.batchSize < 0) throw new RangeError(`batchSize must be >= 0, got ${options.batchSize}`);
    this.batchSize = Math.max(1, Math.floor(options.batchSize));
    this.adaptive = options.adaptive ?? true;
    // Java: KafkaProducer passes 0 to the accumulator when adaptive partitioning is off
    this.availabilityTimeoutMs = this.adaptive ? Math.max(0, options.availabilityTimeoutMs ?? 0) : 0;
    this.random = options.random ?? defaultRandom;
  }

  /**
   * The partition for the next keyless record of `topic` (Java's peekCurrentPartitionInfo): the current
   * sticky partition, or a newly chosen one on the first call (or when the topic no longer has that
   * partition).
   */
  partition(topic: TopicInfo): number {
    const state = this.stateFor(topic.name);
    state.info = topic;
    if (state.partition >= 0 && state.partition < topic.partitions.length) return state.partition;
    return this.switchPartition(state, topic);
  }

  /**
   * Reports bytes appended to `partition` for a record whose partition came from partition() (Java's
   * updatePartitionInfo). `appendedBytes` should be what Java counts: the growth of the batch's
   * estimated size, i.e. the record's encoded size, plus the batch header when the append started a
   * new batch. `enableSwitch` is false while the partition's last batch is not full yet, so that
   * the switch lands on a batch boundary; at 2 × batchSize the partition switches regardless.
   * `batchCapacity` is the size of the batch appended to: a batch the accumulator grew past batchSize
   * (batchMaxSize) moves both thresholds with it. Calls for a partition that is not the current sticky one are ignored (the partition switched
   * in between).
   */
  recordAppended(topic: TopicInfo, partition: number, appendedBytes: number, enableSwitch = true, batchCapacity = this.batchSize): void {
    const state = this.topics.get(topic.name);
    if (state === undefined || state.partition !== partition) return;
    state.info = topic;
    state.producedBytes += appendedBytes;
    // a batch grown past batchSize (batchMaxSize) is filled in one stay, as a batchSize one is in Java
    const sticky = batchCapacity > this.batchSize ? batchCapacity : this.batchSize;
    if ((state.producedBytes >= sticky && enableSwitch) || state.producedBytes >= 2 * sticky) {
      this.switchPartition(state, topic);
    }
  }

  /**
   * Java's check in RecordAccumulator.partitionChanged, for the moment a keyless record does not fit
   * the last batch of its sticky partition (that batch is now closed, so every batch of the partition
   * is full): if batchSize bytes already went to the partition, switch here, so that the record opens
   * its batch on the next partition rather than a new, nearly empty batch on this one. This is what
   * makes switches land on batch boundaries. Returns true when the caller must call partition()
   * again (the sticky partition changed).
   */
  switchAtBatchBoundary(topic: TopicInfo, partition: number): boolean {
    const state = this.topics.get(topic.name);
    if (state === undefined) return false;
    if (state.partition !== partition) return true;
    this.recordAppended(topic, partition, 0, true);
    return state.partition !== partition;
  }

  /**
   * Java's BuiltInPartitioner.updatePartitionLoadStats: `queueSizes[i]` is the number of batches queued
   * for `partitionIds[i]`, for the first `length` entries (the usable partitions: with a leader and not
   * excluded for availability); `queueSizes.length` is the number of partitions considered in all, so
   * `length < queueSizes.length` means some were excluded. `null` drops the statistics (uniform choice).
   * The arrays are read, never modified or kept.
   */
  updatePartitionLoadStats(topic: string, queueSizes: ArrayLike<number> | null, partitionIds: ArrayLike<number>, length = queueSizes?.length ?? 0): void {
    const state = this.stateFor(topic);
    if (queueSizes === null || !this.adaptive) state.loadLength = 0;
    else this.applyLoadStats(state, queueSizes, partitionIds, length, queueSizes.length);
  }

  /** The body of Java's updatePartitionLoadStats; `total` is Java's `queueSizes.length`. */
  private applyLoadStats(state: TopicState, queueSizes: ArrayLike<number>, partitionIds: ArrayLike<number>, length: number, total: number): void {
    // Fewer than 2 partitions: nothing to balance. No usable partition: uniform among those with a leader.
    if (length < 1 || total < 2) {
      state.loadLength = 0;
      return;
    }
    let maxSizePlus1 = queueSizes[0];
    let allEqual = true;
    for (let i = 1; i < length; i++) {
      const size = queueSizes[i];
      if (size !== maxSizePlus1) allEqual = false;
      if (size > maxSizePlus1) maxSizePlus1 = size;
    }
    ++maxSizePlus1;
    // all equal and nothing excluded: the weights would all be 1, so uniform is the same and cheaper
    if (allEqual && length === total) {
      state.loadLength = 0;
      return;
    }
    if (state.cft.length < length) {
      state.cft = new Int32Array(length);
      state.ids = new Int32Array(length);
    }
    const cft = state.cft;
    const ids = state.ids;
    cft[0] = maxSizePlus1 - queueSizes[0];
    ids[0] = partitionIds[0];
    for (let i = 1; i < length; i++) {
      cft[i] = maxSizePlus1 - queueSizes[i] + cft[i - 1];
      ids[i] = partitionIds[i];
    }
    state.loadLength = length;
  }

  /**
   * What Java's RecordAccumulator.partitionReady does before calling updatePartitionLoadStats, for one
   * topic: `queues` is the accumulator's map partition → queued batches of the topic. Partitions
   * without a leader are left out; with `availabilityTimeoutMs` > 0, so are partitions whose leader has
   * had data ready but could not be drained for longer than that. As in Java, adaptive statistics are
   * used only once every partition of the topic has a queue entry (before that the choice is uniform).
   * Topics that never went through partition() cost nothing.
   */
  updateLoadStatsFromQueues(topic: string, queues: ReadonlyMap<number, { readonly length: number }>, leaders: LeaderLookup): void {
    if (!this.adaptive) return;
    const state = this.topics.get(topic);
    if (state === undefined || state.info === null) return;
    const total = queues.size;
    if (total < state.info.partitions.length) {
      state.loadLength = 0;
      return;
    }
    if (state.scratchSizes.length < total) {
      state.scratchSizes = new Int32Array(total);
      state.scratchIds = new Int32Array(total);
    }
    const sizes = state.scratchSizes;
    const ids = state.scratchIds;
    let length = 0;
    for (const partition of queues.keys()) {
      const leader = leaders.leaderFor(topic, partition);
      if (leader < 0) continue;
      // Java reaches this check only for non-empty queues (its loop skips empty ones early); an idle
      // partition on a stuck broker is no better a choice, so it is excluded here too.
      if (this.isNodeUnavailable(leader)) continue;
      sizes[length] = queues.get(partition)!.length;
      ids[length] = partition;
      length++;
    }
    // As in Java, `total` counts every queue entry, leaderless partitions included: a leaderless or
    // excluded partition makes length < total, which keeps the weighted choice on even if the usable
    // queues are all equal (so the excluded partitions are avoided).
    this.applyLoadStats(state, sizes, ids, length, total);
  }

  /**
   * Java's RecordAccumulator.updateNodeLatencyStats, called by the sender for every node the ready()
   * pass returned: `canDrain` is whether the node could actually be sent to (connected, an in-flight
   * slot free). A node that keeps having ready data without being drained for longer than
   * `availabilityTimeoutMs` has its partitions excluded from the adaptive choice. No-op when the
   * timeout is 0.
   */
  updateNodeLatencyStats(nodeId: number, nowMs: number, canDrain: boolean): void {
    if (this.availabilityTimeoutMs <= 0) return;
    let stats = this.nodeStats.get(nodeId);
    if (stats === undefined) {
      stats = { readyTimeMs: nowMs, drainTimeMs: nowMs };
      this.nodeStats.set(nodeId, stats);
    }
    if (canDrain) stats.drainTimeMs = nowMs;
    stats.readyTimeMs = nowMs;
  }

  /** Whether partitions led by `nodeId` are currently excluded from the adaptive choice. */
  isNodeUnavailable(nodeId: number): boolean {
    if (this.availabilityTimeoutMs <= 0) return false;
    const stats = this.nodeStats.get(nodeId);
    return stats !== undefined && stats.readyTimeMs - stats.drainTimeMs > this.availabilityTimeoutMs;
  }

  /** The current sticky partition of a topic, or -1 (for tests and health output). */
  currentPartition(topic: string): number {
    return this.topics.get(topic)?.partition ?? -1;
  }

  /** Bytes counted towards the current sticky partition of a topic. */
  producedBytes(topic: string): number {
    return this.topics.get(topic)?.producedBytes ?? 0;
  }

  /** The end of the weighted random range (Java's loadStatsRangeEnd), or 0 without load statistics. */
  loadStatsRangeEnd(topic: string): number {
    const state = this.topics.get(topic);
    return state === undefined || state.loadLength === 0 ? 0 : state.cft[state.loadLength - 1];
  }

  /** Drops a topic's state (the producer stopped using it). */
  forgetTopic(topic: string): void {
    this.topics.delete(topic);
  }

  /** Drops a node's latency statistics (the node left the cluster). */
  forgetNode(nodeId: number): void {
    this.nodeStats.delete(nodeId);
  }

  private stateFor(topic: string): TopicState {
    let state = this.topics.get(topic);
    if (state === undefined) {
      state = { info: null, partition: -1, producedBytes: 0, cft: EMPTY, ids: EMPTY, loadLength: 0, scratchSizes: EMPTY, scratchIds: EMPTY };
      this.topics.set(topic, state);
    }
    return state;
  }

  private switchPartition(state: TopicState, topic: TopicInfo): number {
    state.partition = this.nextPartition(state, topic);
    state.producedBytes = 0;
    return state.partition;
  }

  /** Java's BuiltInPartitioner.nextPartition. */
  private nextPartition(state: TopicState, topic: TopicInfo): number {
    const random = this.random();
    const partitions = topic.partitions;
    const length = state.loadLength;
    if (length > 0) {
      const cft = state.cft;
      const weighted = random % cft[length - 1];
      // first index whose cumulative frequency is strictly greater than `weighted`
      let lo = 0;
      let hi = length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cft[mid] > weighted) hi = mid;
        else lo = mid + 1;
      }
      const partition = state.ids[lo];
      // statistics from before a metadata change may name a partition the topic no longer has
      if (partition < partitions.length) return partition;
    }
    let available = 0;
    for (let i = 0; i < partitions.length; i++) {
      const p = partitions[i];
      if (p !== undefined && p.leaderId >= 0) available++;
    }
    if (available === 0) return partitions.length === 0 ? 0 : random % partitions.length;
    let nth = random % available;
    for (let i = 0; i < partitions.length; i++) {
      const p = partitions[i];
      if (p === undefined || p.leaderId < 0) continue;
      if (nth === 0) return p.partition;
      nth--;
    }
    return 0; // unreachable: `available` partitions were counted above
  }
}
