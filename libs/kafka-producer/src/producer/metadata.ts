import { protocolError, protocolErrorInfo } from '../errors';
import { ZERO_UUID } from '../protocol/messages/codec-support';
import { MetadataApi, type MetadataResponse } from '../protocol/messages/metadata.generated';
import type { BrokerAddress, ClusterConnections } from './cluster-connections';
import { BootstrapError, ConnectionError } from '../network/errors';
import { InvalidRecordError } from './errors';

const TOPIC_AUTHORIZATION_FAILED = 29;
import type { PartitionInfo, ProducerTopics, TopicInfo, TopicState } from './topic-state';

export type { PartitionInfo, TopicInfo } from './topic-state';

export interface MetadataOptions {
  readonly metadataMaxAgeMs: number;
  readonly metadataMaxIdleMs: number;
  readonly retryBackoffMs: number;
  readonly retryBackoffMaxMs: number;
  readonly requestTimeoutMs: number;
  readonly allowAutoCreateTopics: boolean;
}

export interface MetadataListener {
  /** After every successful refresh or leader change, so waiting sends and the sender can move on. */
  onUpdate(): void;
  /** A topic the broker calls invalid or forbidden: its waiting sends fail at once. */
  onTopicError(topic: TopicState, error: Error): void;
  /** A refresh failed (the producer is degraded until the next success). */
  onRefreshError(error: Error): void;
  /** A topic was dropped after metadataMaxIdleMs without sends. */
  onTopicExpired(topic: string): void;
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
 * The producer's view of the cluster: brokers, and partitions and leaders of the topics it uses (kept
 * on the shared TopicStates). Topics are fetched on first use and refreshed on errors, on age and on
 * leader hints; a topic not used for metadataMaxIdleMs is dropped. Refreshes are single-flight.
 *
 * Leader epochs only move forward (KIP-320): a refresh answered by a broker with an older view than a
 * leader hint already applied keeps the newer leader.
 */
export class Metadata {
  private brokers = new Map<number, BrokerAddress>();
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
    private readonly topics: ProducerTopics,
    private readonly options: MetadataOptions,
    private readonly listener: MetadataListener,
  ) {}

  /** Milliseconds since the last successful refresh (Infinity before the first). */
  ageMs(nowMs = Date.now()): number {
    return this.lastRefreshMs === 0 ? Number.POSITIVE_INFINITY : nowMs - this.lastRefreshMs;
  }

  get hasSucceeded(): boolean {
    return this.lastRefreshMs > 0;
  }

  broker(nodeId: number): BrokerAddress | undefined {
    return this.brokers.get(nodeId);
  }

  get brokerCount(): number {
    return this.brokers.size;
  }

  topic(topic: string): TopicInfo | undefined {
    return this.topics.get(topic)?.info;
  }

  topicById(topicId: Buffer): TopicInfo | undefined {
    for (const t of this.topics.values()) if (t.info !== undefined && t.info.topicId.equals(topicId)) return t.info;
    return undefined;
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

  /** Refreshes if the data is older than metadataMaxAgeMs and drops idle topics; called from the sender loop. */
  maybeRefreshForAge(nowMs: number, hasWaiters: (topic: TopicState) => boolean): void {
    if (this.topics.size > 0 && nowMs - this.lastRefreshMs >= this.options.metadataMaxAgeMs) this.requestUpdate();
    let expired: string[] | null = null;
    for (const t of this.topics.values()) {
      if (nowMs - t.lastUsedMs >= this.options.metadataMaxIdleMs && !t.busy && !hasWaiters(t)) (expired ??= []).push(t.name);
    }
    if (expired === null) return;
    for (const name of expired) {
      this.topics.delete(name);
      this.listener.onTopicExpired(name);
    }
  }

  /** Milliseconds until the next refresh is due for age, to bound the sender's sleep. */
  nextRefreshDelayMs(nowMs: number): number {
    if (this.topics.size === 0 || this.lastRefreshMs === 0) return Number.POSITIVE_INFINITY;
    return Math.max(this.lastRefreshMs + this.options.metadataMaxAgeMs - nowMs, 0);
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
    const wanted = [...this.topics.values()].map((t) => ({ name: t.name, topicId: ZERO_UUID }));
    try {
      const node = await this.connections.any();
      const version = node.versionFor(MetadataApi);
      const response = await node.request(
        MetadataApi,
        version,
        { topics: wanted, allowAutoTopicCreation: this.options.allowAutoCreateTopics, includeTopicAuthorizedOperations: false },
        { timeoutMs: this.options.requestTimeoutMs },
      );
      if (this.closed) return;
      this.apply(response, Date.now());
    } catch (e) {
      if (this.closed) return;
      this.failedAttempts++;
      this.lastError = e as Error;
      this.needUpdate = true;
      this.listener.onRefreshError(e as Error);
    }
  }

  private apply(response: MetadataResponse, nowMs: number): void {
    if (response.errorCode !== undefined && response.errorCode !== 0) {
      // a whole-response error (REBOOTSTRAP_REQUIRED in 4.x): keep the old view and try again
      this.needUpdate = true;
      this.failedAttempts++;
      this.lastError = protocolError(response.errorCode);
      this.listener.onRefreshError(this.lastError);
      return;
    }
    this.failedAttempts = 0;
    this.lastError = null;
    this.clusterId = response.clusterId ?? null;
    const brokers = new Map<number, BrokerAddress>();
    for (const b of response.brokers) brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack ?? null });
    this.brokers = brokers;
    this.connections.updateNodes([...brokers.values()]);
    this.lastRefreshMs = nowMs;

    for (const t of response.topics) {
      const name = t.name;
      if (name === null) continue;
      const state = this.topics.get(name);
      if (state === undefined) continue; // dropped while the request was out
      if (t.errorCode !== 0) {
        const info = protocolErrorInfo(t.errorCode);
        if (t.errorCode === TOPIC_AUTHORIZATION_FAILED) {
          // Java: the send fails with TopicAuthorizationException at once, the topic named, nothing retried
          this.listener.onTopicError(state, protocolError(t.errorCode, `no Describe or Write access to topic ${name}`));
        } else if (!info.retriable) this.listener.onTopicError(state, new InvalidRecordError(`topic ${name}: ${protocolError(t.errorCode).message}`));
        else {
          // e.g. LEADER_NOT_AVAILABLE while an auto-created topic settles; kept as the cause should the wait time out
          state.metadataError = protocolError(t.errorCode, `topic ${name}`);
          this.needUpdate = true;
        }
        continue;
      }
      const previous = state.info;
      const partitions: PartitionInfo[] = [];
      let leaderless = false;
      for (const p of t.partitions) {
        const epoch = p.leaderEpoch ?? -1;
        const known = previous?.partitions[p.partitionIndex];
        if (known !== undefined && epoch >= 0 && known.leaderEpoch > epoch) {
          // a broker behind a leader change we already know of: never move back to an older epoch
          partitions[p.partitionIndex] = known;
          this.needUpdate = true;
          continue;
        }
        const leaderId = p.errorCode === 0 || p.leaderId >= 0 ? p.leaderId : -1;
        partitions[p.partitionIndex] = { partition: p.partitionIndex, leaderId, leaderEpoch: epoch };
        if (leaderId < 0) leaderless = true;
      }
      if (leaderless) this.needUpdate = true;
      this.topics.setInfo(state, { name, topicId: t.topicId ?? ZERO_UUID, partitions });
    }
    this.listener.onUpdate();
  }

  /** Applies a leader hint from a Produce response (v10+ CurrentLeader and NodeEndpoints), if newer. */
  updateLeader(topic: string, partition: number, leaderId: number, leaderEpoch: number, endpoint?: BrokerAddress): void {
    const state = this.topics.get(topic);
    const info = state?.info;
    const current = info?.partitions[partition];
    if (state === undefined || info === undefined || current === undefined || leaderEpoch <= current.leaderEpoch) return;
    if (endpoint !== undefined) this.brokers.set(endpoint.nodeId, endpoint);
    if (!this.brokers.has(leaderId)) return;
    const partitions = info.partitions.slice();
    partitions[partition] = { partition, leaderId, leaderEpoch };
    this.topics.setInfo(state, { ...info, partitions });
    this.listener.onUpdate();
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}

/**
 * Whether no broker can be reached in a way retrying would fix: credentials refused, a certificate
 * that does not verify, a TLS listener spoken to in plaintext or the reverse. Sends waiting for
 * metadata fail with it at once rather than after maxBlockMs; the refresh goes on with backoff, so a
 * fixed broker (or a rotated credential) is picked up without a restart.
 */
export function isFatalClusterError(error: Error | null): boolean {
  return (error instanceof ConnectionError || error instanceof BootstrapError) && !error.retriable;
}
