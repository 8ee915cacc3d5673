import { KafkaProtocolError, protocolErrorInfo } from '../errors';
import { ZERO_UUID } from '../protocol/messages/codec-support';
import { MetadataApi, type MetadataResponse } from '../protocol/messages/metadata.generated';
import type { BrokerAddress, ClusterConnections } from './cluster-connections';
import { InvalidRecordError, KafkaTimeoutError } from './errors';
import type { LeaderView, TopicPartition } from './record-accumulator';

export interface PartitionInfo {
  readonly partition: number;
  /** -1 when the partition has no leader right now. */
  readonly leaderId: number;
  readonly leaderEpoch: number;
}

export interface TopicInfo {
  readonly name: string;
  readonly topicId: Buffer;
  readonly partitions: readonly PartitionInfo[];
}

interface TopicWaiter {
  readonly topic: string;
  readonly partition: number | undefined;
  readonly resolve: (info: TopicInfo) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export interface MetadataOptions {
  readonly metadataMaxAgeMs: number;
  readonly metadataMaxIdleMs: number;
  readonly retryBackoffMs: number;
  readonly retryBackoffMaxMs: number;
  readonly requestTimeoutMs: number;
  readonly allowAutoCreateTopics: boolean;
}

const LEGAL_TOPIC = /^[a-zA-Z0-9._-]+$/;

/** Java's Topic.validate: what a topic name may be, checked before any I/O. */
export function validateTopicName(topic: unknown): string | null {
  if (typeof topic !== 'string') return `topic must be a string, got ${typeof topic}`;
  if (topic.length === 0) return 'topic name is empty';
  if (topic === '.' || topic === '..') return `topic name "${topic}" is not allowed`;
  if (topic.length > 249) return `topic name is ${topic.length} characters, more than 249`;
  if (!LEGAL_TOPIC.test(topic)) return `topic name "${topic}" has characters other than ASCII letters, digits, '.', '_' and '-'`;
  return null;
}

/**
 * The producer's view of the cluster: brokers, and partitions and leaders of the topics it uses.
 * Topics are fetched on first use and refreshed on errors, on age and on leader hints; a topic not
 * used for metadataMaxIdleMs is dropped. Refreshes are single-flight.
 */
export class Metadata implements LeaderView {
  private readonly topics = new Map<string, TopicInfo>();
  /** Last use per topic, in a mutable box: markUsed() runs per record and must not allocate. */
  private readonly lastUsed = new Map<string, { ms: number }>();
  private brokers = new Map<number, BrokerAddress>();
  private byNode = new Map<number, TopicPartition[]>();
  private waiters: TopicWaiter[] = [];
  private refreshing: Promise<void> | null = null;
  private needUpdate = false;
  private lastRefreshMs = 0;
  private failedAttempts = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  lastError: Error | null = null;
  clusterId: string | null = null;

  constructor(
    private readonly connections: ClusterConnections,
    private readonly options: MetadataOptions,
    /** Called after every successful refresh, so the sender can re-check leaders. */
    private readonly onUpdate: () => void,
  ) {}

  /** Milliseconds since the last successful refresh (Infinity before the first). */
  ageMs(nowMs = Date.now()): number {
    return this.lastRefreshMs === 0 ? Number.POSITIVE_INFINITY : nowMs - this.lastRefreshMs;
  }

  broker(nodeId: number): BrokerAddress | undefined {
    return this.brokers.get(nodeId);
  }

  get brokerCount(): number {
    return this.brokers.size;
  }

  topic(topic: string): TopicInfo | undefined {
    return this.topics.get(topic);
  }

  topicById(topicId: Buffer): TopicInfo | undefined {
    for (const t of this.topics.values()) if (t.topicId.equals(topicId)) return t;
    return undefined;
  }

  /** Marks a topic as used (for idle expiry) and returns what is known of it, without I/O. */
  touch(topic: string, nowMs: number): TopicInfo | undefined {
    this.markUsed(topic, nowMs);
    return this.topics.get(topic);
  }

  /** Marks a topic as used, for idle expiry; runs per record, so it allocates nothing after the first use. */
  markUsed(topic: string, nowMs: number): void {
    const entry = this.lastUsed.get(topic);
    if (entry === undefined) this.lastUsed.set(topic, { ms: nowMs });
    else entry.ms = nowMs;
  }

  leaderFor(topic: string, partition: number): number {
    const p = this.topics.get(topic)?.partitions[partition];
    return p === undefined ? -1 : p.leaderId;
  }

  partitionsLedBy(nodeId: number): readonly TopicPartition[] {
    return this.byNode.get(nodeId) ?? [];
  }

  /**
   * Resolves with the topic's metadata once its partitions are known (and `partition`, if given,
   * exists), fetching it if needed; rejects after maxBlockMs with a timeout naming the topic, or at
   * once for a topic the broker calls invalid or forbidden.
   */
  waitForTopic(topic: string, partition: number | undefined, maxBlockMs: number, nowMs: number): Promise<TopicInfo> {
    this.markUsed(topic, nowMs);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const known = this.topics.get(topic);
        reject(
          new KafkaTimeoutError(
            known !== undefined && partition !== undefined
              ? `Partition ${partition} of topic ${topic} with partition count ${known.partitions.length} is not present in metadata after ${maxBlockMs} ms.`
              : `Topic ${topic} not present in metadata after ${maxBlockMs} ms.`,
            'METADATA_TIMEOUT',
            this.lastError ?? undefined,
          ),
        );
      }, maxBlockMs);
      const waiter: TopicWaiter = { topic, partition, resolve, reject, timer };
      this.waiters.push(waiter);
      this.requestUpdate();
    });
  }

  /** Asks for a refresh soon (coalesced with one already under way). */
  requestUpdate(): void {
    this.needUpdate = true;
    if (this.refreshing === null && this.retryTimer === null && !this.closed) {
      this.refreshing = this.refresh().finally(() => {
        this.refreshing = null;
        if (this.needUpdate) this.scheduleRetry();
      });
    }
  }

  /** Refreshes if the data is older than metadataMaxAgeMs; called from the sender loop. */
  maybeRefreshForAge(nowMs: number): void {
    if (this.topics.size > 0 && nowMs - this.lastRefreshMs >= this.options.metadataMaxAgeMs) this.requestUpdate();
    for (const [topic, used] of this.lastUsed) {
      if (nowMs - used.ms >= this.options.metadataMaxIdleMs && !this.waiters.some((w) => w.topic === topic)) {
        this.lastUsed.delete(topic);
        this.topics.delete(topic);
        this.rebuildIndex();
      }
    }
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer !== null) return;
    const backoff = Math.min(this.options.retryBackoffMs * 2 ** Math.max(this.failedAttempts - 1, 0), this.options.retryBackoffMaxMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.needUpdate) this.requestUpdate();
    }, backoff);
    this.retryTimer.unref?.();
  }

  private async refresh(): Promise<void> {
    this.needUpdate = false;
    const wanted = new Set<string>([...this.lastUsed.keys(), ...this.waiters.map((w) => w.topic)]);
    try {
      const node = await this.connections.any();
      const version = node.versionFor(MetadataApi);
      const response = await node.request(
        MetadataApi,
        version,
        {
          topics: [...wanted].map((name) => ({ name, topicId: ZERO_UUID })),
          allowAutoTopicCreation: this.options.allowAutoCreateTopics,
          includeTopicAuthorizedOperations: false,
        },
        { timeoutMs: this.options.requestTimeoutMs },
      );
      this.apply(response, Date.now());
      this.failedAttempts = 0;
      this.lastError = null;
    } catch (e) {
      this.failedAttempts++;
      this.lastError = e as Error;
      this.needUpdate = true;
    }
  }

  private apply(response: MetadataResponse, nowMs: number): void {
    if (response.errorCode !== undefined && response.errorCode !== 0) {
      // a whole-response error (REBOOTSTRAP_REQUIRED in 4.x): keep the old view and try again
      this.needUpdate = true;
      this.lastError = new KafkaProtocolError(response.errorCode);
      return;
    }
    this.clusterId = response.clusterId ?? null;
    const brokers = new Map<number, BrokerAddress>();
    for (const b of response.brokers) brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack ?? null });
    this.brokers = brokers;
    this.connections.updateNodes([...brokers.values()]);
    this.lastRefreshMs = nowMs;

    for (const t of response.topics) {
      const name = t.name;
      if (name === null) continue;
      if (t.errorCode !== 0) {
        const info = protocolErrorInfo(t.errorCode);
        if (!info.retriable) this.failWaiters(name, new InvalidRecordError(`topic ${name}: ${new KafkaProtocolError(t.errorCode).message}`));
        else this.needUpdate = true; // e.g. LEADER_NOT_AVAILABLE while an auto-created topic settles
        continue;
      }
      const partitions: PartitionInfo[] = [];
      let leaderless = false;
      for (const p of t.partitions) {
        partitions[p.partitionIndex] = { partition: p.partitionIndex, leaderId: p.errorCode === 0 || p.leaderId >= 0 ? p.leaderId : -1, leaderEpoch: p.leaderEpoch ?? -1 };
        if (p.leaderId < 0) leaderless = true;
      }
      if (leaderless) this.needUpdate = true;
      this.topics.set(name, { name, topicId: t.topicId ?? ZERO_UUID, partitions });
    }
    this.rebuildIndex();

    const still: TopicWaiter[] = [];
    for (const w of this.waiters) {
      const info = this.topics.get(w.topic);
      if (info !== undefined && info.partitions.length > 0) {
        clearTimeout(w.timer);
        if (w.partition === undefined || w.partition < info.partitions.length) w.resolve(info);
        // fresh metadata taken after the send: the partition does not exist, so fail fast
        else w.reject(new InvalidRecordError(`partition ${w.partition} of topic ${w.topic} does not exist: the topic has ${info.partitions.length} partitions`));
        continue;
      }
      still.push(w);
    }
    this.waiters = still;
    this.onUpdate();
  }

  /** Applies a leader hint from a Produce response (v10+ CurrentLeader and NodeEndpoints). */
  updateLeader(topic: string, partition: number, leaderId: number, leaderEpoch: number, endpoint?: BrokerAddress): void {
    const info = this.topics.get(topic);
    const current = info?.partitions[partition];
    if (info === undefined || current === undefined || leaderEpoch <= current.leaderEpoch) return;
    if (endpoint !== undefined) this.brokers.set(endpoint.nodeId, endpoint);
    if (!this.brokers.has(leaderId)) return;
    const partitions = info.partitions.slice();
    partitions[partition] = { partition, leaderId, leaderEpoch };
    this.topics.set(topic, { ...info, partitions });
    this.rebuildIndex();
  }

  private failWaiters(topic: string, error: Error): void {
    this.waiters = this.waiters.filter((w) => {
      if (w.topic !== topic) return true;
      clearTimeout(w.timer);
      w.reject(error);
      return false;
    });
    this.lastUsed.delete(topic);
  }

  private rebuildIndex(): void {
    const byNode = new Map<number, TopicPartition[]>();
    for (const t of this.topics.values()) {
      for (const p of t.partitions) {
        if (p === undefined || p.leaderId < 0) continue;
        let list = byNode.get(p.leaderId);
        if (list === undefined) byNode.set(p.leaderId, (list = []));
        list.push({ topic: t.name, partition: p.partition });
      }
    }
    this.byNode = byNode;
  }

  close(error: Error): void {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(error);
    }
    this.waiters = [];
  }
}
