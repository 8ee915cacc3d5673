import type { ProducerBatch } from './producer-batch';

export interface PartitionInfo {
  readonly partition: number;
  /** -1 when the partition has no leader right now. */
  readonly leaderId: number;
  readonly leaderEpoch: number;
}

/** What metadata says of a topic; replaced as a whole on every change (readers may keep a reference). */
export interface TopicInfo {
  readonly name: string;
  readonly topicId: Buffer;
  readonly partitions: readonly PartitionInfo[];
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/**
 * Everything the producer keeps for one partition, in one object: the queue of batches (only the last
 * may be open), the leader the partition is sent to, and the batches in flight. The accumulator,
 * the sender and the partitioner all reach it through its TopicState, never through string-keyed maps.
 * With idempotence it also holds the partition's sequence bookkeeping (DESIGN.md, "Sequences").
 */
export class PartitionState implements TopicPartition {
  /** Leader node id from metadata or a leader hint; -1 when unknown. */
  leaderId = -1;
  leaderEpoch = -1;
  /** Batches waiting to be sent, oldest first (retried batches are put back in creation order). */
  readonly queue: ProducerBatch[] = [];
  /** Batches of this partition inside requests that have not been answered yet. */
  inFlight = 0;
  /**
   * Of those, batches being resent (a retry or a part of a split batch). While one is out, nothing
   * newer of the partition is drained, so a retry that fails again cannot be overtaken by its successors.
   */
  retriesInFlight = 0;
  /**
   * The size the next batch opened with nothing queued gets (0: batchSize), left by the last drained
   * batch: its own size if it left full, half of it if it left on lingerMs (RecordAccumulator.nextBatchSize).
   */
  batchCapacity = 0;
  /**
   * The largest size a batch of this partition may grow to (0: batchMaxSize). Lowered below a grown batch
   * the broker refused as MESSAGE_TOO_LARGE (its max.message.bytes is smaller), so a backlog does not
   * grow every batch back into the same refusal.
   */
  batchGrowthLimit = 0;

  // Idempotence (TransactionManager); unused without it.
  /** Sequence the next new batch gets. */
  nextSequence = 0;
  lastAckedSequence = -1;
  /** Batches that have a sequence and have not completed (in flight or queued for a retry), in sequence order. */
  readonly sequenced: ProducerBatch[] = [];
  /** Producer id and epoch the sequences above belong to; -1 before the first batch. */
  sequenceProducerId = -1n;
  sequenceEpoch = -1;
  /** A sequenced batch failed for good: nothing drains until the sequence state is resolved. */
  unresolved = false;
  /** The broker lost or rejected the sequence state: restart at 0 under a new epoch once nothing is in flight. */
  needsEpochBump = false;
  /** Transactions v1: 0 not in the transaction, 1 AddPartitionsToTxn pending, 2 added. */
  txnAdded: 0 | 1 | 2 = 0;
  readonly topic: string;

  constructor(
    readonly topicState: TopicState,
    readonly partition: number,
  ) {
    this.topic = topicState.name;
  }

  /** Queued batches; the name lets the partitioner read queue sizes from the partition map directly. */
  get length(): number {
    return this.queue.length;
  }
}

/**
 * The producer's handle for one topic: a send looks it up once by name and reaches the metadata, the
 * partitions' queues and the last-use time from it.
 */
export class TopicState {
  /** Undefined until metadata has described the topic. */
  info: TopicInfo | undefined = undefined;
  /** Partition states by partition number, created on first use. */
  readonly partitions = new Map<number, PartitionState>();
  /** Last send to the topic, for metadataMaxIdleMs. */
  lastUsedMs = 0;
  /**
   * The retriable error the last metadata answer gave for this topic (UNKNOWN_TOPIC_OR_PARTITION,
   * LEADER_NOT_AVAILABLE), null once it was described: a metadata timeout names it as its cause.
   */
  metadataError: Error | null = null;

  constructor(readonly name: string) {}

  /**
   * The partition's state, created on first use (not for every partition metadata lists: the adaptive
   * partitioner, like Java's, counts the partitions that have had a queue).
   */
  partition(partition: number): PartitionState {
    let state = this.partitions.get(partition);
    if (state === undefined) {
      state = new PartitionState(this, partition);
      const known = this.info?.partitions[partition];
      if (known !== undefined) {
        state.leaderId = known.leaderId;
        state.leaderEpoch = known.leaderEpoch;
      }
      this.partitions.set(partition, state);
      this.onCreate();
    }
    return state;
  }

  /** Set by the registry: a new partition state must appear in the leader index. */
  onCreate: () => void = () => undefined;

  /** True while any partition has a queued or in-flight batch (such a topic is never dropped as idle). */
  get busy(): boolean {
    for (const p of this.partitions.values()) if (p.queue.length > 0 || p.inFlight > 0) return true;
    return false;
  }
}

/**
 * Every topic the producer uses, shared by Metadata (which fills in `info` and leaders), the
 * accumulator (queues) and the sender (in-flight counts).
 */
export class ProducerTopics {
  private readonly byName = new Map<string, TopicState>();
  private byNode = new Map<number, PartitionState[]>();
  private indexStale = true;

  get(name: string): TopicState | undefined {
    return this.byName.get(name);
  }

  getOrCreate(name: string): TopicState {
    let state = this.byName.get(name);
    if (state === undefined) {
      state = new TopicState(name);
      state.onCreate = this.markStale;
      this.byName.set(name, state);
    }
    return state;
  }

  private readonly markStale = (): void => {
    this.indexStale = true;
  };

  /** A partition's leader moved outside setInfo (a leader hint). */
  leadersChanged(): void {
    this.indexStale = true;
  }

  /** Leader of a partition the producer has state for, else -1 (the partitioner's LeaderLookup). */
  leaderFor(topic: string, partition: number): number {
    return this.byName.get(topic)?.partitions.get(partition)?.leaderId ?? -1;
  }

  values(): IterableIterator<TopicState> {
    return this.byName.values();
  }

  get size(): number {
    return this.byName.size;
  }

  delete(name: string): void {
    this.byName.delete(name);
    this.indexStale = true;
  }

  /** Installs new metadata for a topic and moves each known partition's leader to it. */
  setInfo(state: TopicState, info: TopicInfo): void {
    state.info = info;
    state.metadataError = null;
    for (const ps of state.partitions.values()) {
      const p = info.partitions[ps.partition];
      ps.leaderId = p === undefined ? -1 : p.leaderId;
      ps.leaderEpoch = p === undefined ? -1 : p.leaderEpoch;
    }
    this.indexStale = true;
  }

  /** Partitions led by a node, in a stable order (drain walks them round-robin). */
  partitionsLedBy(nodeId: number): readonly PartitionState[] {
    if (this.indexStale) this.rebuildIndex();
    return this.byNode.get(nodeId) ?? EMPTY;
  }

  private rebuildIndex(): void {
    const byNode = new Map<number, PartitionState[]>();
    for (const t of this.byName.values()) {
      for (const ps of t.partitions.values()) {
        if (ps.leaderId < 0) continue;
        let list = byNode.get(ps.leaderId);
        if (list === undefined) byNode.set(ps.leaderId, (list = []));
        list.push(ps);
      }
    }
    this.byNode = byNode;
    this.indexStale = false;
  }
}

const EMPTY: readonly PartitionState[] = [];
