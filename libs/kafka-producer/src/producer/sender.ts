import { KafkaError, protocolError, protocolErrorInfo } from '../errors';
import { ZERO_UUID } from '../protocol/messages/codec-support';
import { writeProduceRequest, type ProducePartitionRecords } from '../protocol/messages/produce-request-writer';
import { ProduceApi, type ProduceResponse } from '../protocol/messages/produce.generated';
import type { BuiltInPartitioner } from './built-in-partitioner';
import type { ClusterConnections, NodeConnection } from './cluster-connections';
import { KafkaTimeoutError } from './errors';
import type { ProducerLogger } from './logger';
import type { Metadata } from './metadata';
import type { ProducerMetrics } from './metrics';
import type { ProducerBatch } from './producer-batch';
import type { RecordAccumulator } from './record-accumulator';
import type { PartitionState, ProducerTopics, TopicState } from './topic-state';
import type { TransactionManager } from './transaction-manager';

export interface SenderConfig {
  readonly acks: -1 | 0 | 1;
  readonly requestTimeoutMs: number;
  readonly deliveryTimeoutMs: number;
  readonly retries: number;
  readonly retryBackoffMs: number;
  readonly maxInFlightRequestsPerConnection: number;
  readonly maxRequestSize: number;
}

export interface SenderParts {
  readonly accumulator: RecordAccumulator;
  readonly metadata: Metadata;
  readonly connections: ClusterConnections;
  readonly logger: ProducerLogger;
  readonly partitioner?: BuiltInPartitioner;
  readonly metrics?: ProducerMetrics;
  readonly topics: ProducerTopics;
  /** Whether sends wait for a topic's metadata (such a topic is not dropped as idle). */
  readonly hasMetadataWaiters: (topic: TopicState) => boolean;
  /** Called at the end of every pass and after every response, so the producer can update its state. */
  readonly onActivity?: () => void;
  /** Present when the producer is idempotent (or transactional). */
  readonly transactionManager?: TransactionManager;
}

type PartitionResponse = ProduceResponse['responses'][number]['partitionResponses'][number];

const MESSAGE_TOO_LARGE = 10;
const DUPLICATE_SEQUENCE_NUMBER = 46;

/**
 * The Java Sender's loop on Node's event loop: each pass expires batches past their delivery timeout,
 * asks the accumulator which brokers have sendable data, drains one Produce request per ready broker
 * (bounded by in-flight limits and socket backpressure) and handles the responses. A burst of wake-ups
 * causes one more pass, never several loops. Between passes it sleeps until the next real deadline
 * (linger, retry backoff, delivery timeout, reconnect backoff, metadata age) or an event (an append,
 * a response, a connection opening or closing, a socket draining): it never polls.
 */
export class Sender {
  private running = true;
  private scheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private inFlight = 0;
  private readonly inFlightBatches = new Set<ProducerBatch>();
  private readonly inFlightByNode = new Map<number, number>();
  /** Nodes with a drain listener registered, so a pass never stacks a second one. */
  private readonly awaitingDrain = new Set<number>();
  /** The last error of a Produce request or batch; cleared by the next fully successful response. */
  lastError: Error | null = null;
  private readonly accumulator: RecordAccumulator;
  private readonly metadata: Metadata;
  private readonly connections: ClusterConnections;
  private readonly logger: ProducerLogger;
  private readonly partitioner: BuiltInPartitioner | undefined;
  private readonly metrics: ProducerMetrics | undefined;
  private readonly onActivity: () => void;
  private readonly topics: ProducerTopics;
  private readonly hasMetadataWaiters: (topic: TopicState) => boolean;
  private readonly isMuted: (ps: PartitionState) => boolean;
  private readonly tm: TransactionManager | undefined;
  /** A lower bound of the in-flight batches' delivery deadlines (they are checked when it passes). */
  private nextInFlightExpiryCheck = Number.POSITIVE_INFINITY;

  constructor(
    private readonly config: SenderConfig,
    parts: SenderParts,
  ) {
    this.accumulator = parts.accumulator;
    this.metadata = parts.metadata;
    this.connections = parts.connections;
    this.logger = parts.logger;
    this.partitioner = parts.partitioner;
    this.metrics = parts.metrics;
    this.onActivity = parts.onActivity ?? (() => undefined);
    this.topics = parts.topics;
    this.hasMetadataWaiters = parts.hasMetadataWaiters;
    this.tm = parts.transactionManager;
    // with one request in flight per connection a partition waits for its answer: order without
    // idempotence; otherwise it waits only while a resent batch is out (see PartitionState.retriesInFlight)
    this.isMuted = config.maxInFlightRequestsPerConnection === 1 ? (ps) => ps.inFlight > 0 : (ps) => ps.retriesInFlight > 0;
  }

  get inFlightRequests(): number {
    return this.inFlight;
  }

  get hasInFlight(): boolean {
    return this.inFlightBatches.size > 0;
  }

  /** Schedules one pass of the loop (coalesced). */
  wakeup(): void {
    if (this.scheduled || !this.running) return;
    this.scheduled = true;
    setImmediate(this.runOnce);
  }

  private readonly runOnce = (): void => {
    this.scheduled = false;
    if (!this.running) return;
    try {
      this.sendProducerData(Date.now());
    } catch (e) {
      // a bug must not stop the loop: report it and try again after a backoff
      this.lastError = e as Error;
      this.logger.error('sender pass failed; retrying after backoff', { error: e as Error });
      this.armTimer(Date.now() + Math.max(this.config.retryBackoffMs, 1));
    }
    this.onActivity();
  };

  private sendProducerData(now: number): void {
    this.metadata.maybeRefreshForAge(now, this.hasMetadataWaiters);
    for (const batch of this.accumulator.expireQueued(now)) this.accumulator.fail(batch, this.deliveryTimeout(batch, now));
    this.expireInFlight(now);
    let producerIdRetryMs = Number.POSITIVE_INFINITY;
    if (this.tm !== undefined) {
      this.tm.maybeResolveSequences();
      producerIdRetryMs = this.tm.maybeRequestProducerId(now);
    }

    const { readyNodes, nextReadyCheckDelayMs, unknownLeaderTopics } = this.accumulator.ready(now);
    if (unknownLeaderTopics.size > 0) this.metadata.requestUpdate();

    let next = Math.min(nextReadyCheckDelayMs, Math.max(this.accumulator.nextExpiryMs() - now, 0), this.metadata.nextRefreshDelayMs(now), producerIdRetryMs);
    if (this.inFlightBatches.size > 0 && Number.isFinite(this.nextInFlightExpiryCheck)) next = Math.min(next, Math.max(this.nextInFlightExpiryCheck - now, 1));
    const sendable = new Map<number, NodeConnection>();
    for (const nodeId of readyNodes) {
      const address = this.metadata.broker(nodeId);
      if (address === undefined) {
        this.metadata.requestUpdate();
        continue;
      }
      const node = this.connections.ready(address);
      if (node === null) {
        this.partitioner?.updateNodeLatencyStats(nodeId, now, false);
        const fatal = this.connections.nodeError(nodeId);
        if (fatal !== null) this.failNode(nodeId, fatal);
        // connecting: the pool's events wake us; backing off: wake when the backoff ends
        const delay = this.connections.connectionDelay(nodeId);
        if (Number.isFinite(delay)) next = Math.min(next, delay);
        continue;
      }
      const canDrain = (this.inFlightByNode.get(nodeId) ?? 0) < this.config.maxInFlightRequestsPerConnection && !node.needsDrain;
      // adaptive partitioning avoids brokers that have data but cannot take it
      this.partitioner?.updateNodeLatencyStats(nodeId, now, canDrain);
      if (!canDrain) {
        // a full in-flight window frees on a response, which wakes us; a full socket on 'drain'
        if (node.needsDrain && !this.awaitingDrain.has(nodeId)) {
          this.awaitingDrain.add(nodeId);
          node.waitForDrain().then(() => this.drained(nodeId), () => this.drained(nodeId));
        }
        continue;
      }
      sendable.set(nodeId, node);
    }

    const drained = this.accumulator.drain(sendable.keys(), this.config.maxRequestSize, now, this.isMuted);
    let sent = false;
    for (const [nodeId, batches] of drained) {
      try {
        this.sendProduceRequest(nodeId, sendable.get(nodeId)!, batches, now);
        sent = true;
      } catch (e) {
        // nothing was sent: the batches go back where they were, or fail if retrying cannot help
        this.requestNotSent(batches, e as Error);
        next = Math.min(next, Math.max(this.config.retryBackoffMs, 1));
      }
    }
    // a drain takes one batch per partition: another pass sends the next ones while in-flight slots
    // are free (Java polls with timeout 0 while nodes are ready); it ends when nothing more drains
    if (sent) this.wakeup();
    if (Number.isFinite(next)) this.armTimer(now + Math.max(next, 1));
  }

  /**
   * Batches in requests past their delivery timeout fail now, as Java's do, rather than when the request
   * times out; their outcome is unknown (the broker may have written them).
   */
  private expireInFlight(now: number): void {
    if (now < this.nextInFlightExpiryCheck) return;
    let earliest = Number.POSITIVE_INFINITY;
    let expired: ProducerBatch[] | null = null;
    for (const b of this.inFlightBatches) {
      if (now - b.createdMs >= this.config.deliveryTimeoutMs) (expired ??= []).push(b);
      else earliest = Math.min(earliest, b.createdMs + this.config.deliveryTimeoutMs);
    }
    this.nextInFlightExpiryCheck = earliest;
    if (expired === null) return;
    for (const b of expired) {
      b.outcomeUnknown = true;
      this.accumulator.fail(b, this.deliveryTimeout(b, now));
    }
  }

  private drained(nodeId: number): void {
    this.awaitingDrain.delete(nodeId);
    this.wakeup();
  }

  private requestNotSent(batches: ProducerBatch[], error: Error): void {
    this.lastError = error;
    const retriable = error instanceof KafkaError && error.retriable;
    this.logger.warn(`a Produce request could not be sent: ${error.message}`, { error });
    if (retriable) this.accumulator.requeue(batches);
    else for (const b of batches) this.accumulator.fail(b, error);
  }

  /** The node cannot be used (authentication failed): its queued batches fail now, not at their timeout. */
  private failNode(nodeId: number, error: KafkaError): void {
    for (const ps of this.topics.partitionsLedBy(nodeId)) {
      for (const b of ps.queue.splice(0)) this.accumulator.fail(b, error);
    }
  }

  private armTimer(at: number): void {
    if (this.timer !== null && this.timerAt <= at) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.onTimer, Math.max(at - Date.now(), 0));
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.wakeup();
  };

  private sendProduceRequest(nodeId: number, node: NodeConnection, batches: ProducerBatch[], now: number): void {
    // may throw (no common version): before anything is marked in flight
    const version = node.versionFor(ProduceApi, this.tm?.produceVersionCap);
    const transactionalId = this.tm?.transactionalId ?? null;
    const byTopic = new Map<string, { name: string; topicId: Buffer; partitions: ProducePartitionRecords[] }>();
    let records = 0;
    let bytes = 0;
    for (const batch of batches) {
      let topic = byTopic.get(batch.topic);
      if (topic === undefined) {
        topic = { name: batch.topic, topicId: batch.partitionState.topicState.info?.topicId ?? ZERO_UUID, partitions: [] };
        byTopic.set(batch.topic, topic);
      }
      topic.partitions.push({ index: batch.partition, records: batch.bytes! });
    }
    const topics = [...byTopic.values()];
    const expectResponse = this.config.acks !== 0;
    // batches are attached, not copied: the request goes out as one writev of header + batch buffers
    const response = node.requestRaw(
      ProduceApi,
      version,
      (w, frame) => writeProduceRequest(w, frame.attach, version, transactionalId, this.config.acks, this.config.requestTimeoutMs, topics),
      (r) => ProduceApi.decodeResponse(r, version),
      { expectResponse, timeoutMs: this.config.requestTimeoutMs },
    );
    for (const batch of batches) {
      records += batch.recordCount;
      bytes += batch.bytes!.length;
      if (this.metrics !== undefined) {
        if (batch.attempts === 0) this.metrics.recordQueueTime(now - batch.createdMs);
        this.metrics.recordBatch(batch.bytes!.length, batch.recordCount, batch.bytes!.length / batch.builder.sizeInBytes);
      }
      batch.state = 'in-flight';
      batch.requestOutstanding = true;
      batch.lastAttemptMs = now;
      const deadline = batch.createdMs + this.config.deliveryTimeoutMs;
      if (deadline < this.nextInFlightExpiryCheck) this.nextInFlightExpiryCheck = deadline;
      batch.partitionState.inFlight++;
      if (batch.isResend) batch.partitionState.retriesInFlight++;
      this.inFlightBatches.add(batch);
    }
    this.inFlight++;
    this.inFlightByNode.set(nodeId, (this.inFlightByNode.get(nodeId) ?? 0) + 1);
    this.metrics?.recordSend(records, bytes);
    const sentAt = now;
    response.then(
      (answer) => {
        if (answer !== undefined && this.metrics !== undefined) {
          this.metrics.recordRequest(Date.now() - sentAt);
          this.metrics.recordThrottle(answer.throttleTimeMs);
        }
        this.settle(nodeId, batches, () => this.handleResponse(batches, answer ?? null));
      },
      (error: unknown) => this.settle(nodeId, batches, () => this.handleRequestFailure(batches, error as Error)),
    );
  }

  /** Runs a response handler; whatever it throws fails the batches it left unsettled, never the process. */
  private settle(nodeId: number, batches: ProducerBatch[], handle: () => void): void {
    this.inFlight--;
    this.inFlightByNode.set(nodeId, (this.inFlightByNode.get(nodeId) ?? 1) - 1);
    for (const b of batches) {
      this.inFlightBatches.delete(b);
      b.partitionState.inFlight--;
      if (b.isResend) b.partitionState.retriesInFlight--;
      b.requestOutstanding = false;
    }
    try {
      handle();
    } catch (e) {
      this.logger.error('handling a Produce response failed', { error: e as Error });
      for (const b of batches) if (b.state === 'in-flight') this.accumulator.fail(b, e as Error);
    }
    // batches failed while this request was out (expired, aborted) give their memory back only now
    for (const b of batches) if (b.releaseDeferred) this.accumulator.releaseDeferred(b);
    this.wakeup();
    this.onActivity();
  }

  private handleResponse(batches: ProducerBatch[], response: ProduceResponse | null): void {
    const now = Date.now();
    if (response === null) {
      // acks=0: the broker never answers, so a written request is all we learn (Java reports offset -1)
      for (const b of batches) this.accumulator.complete(b, -1n, -1);
      return;
    }
    const results = new Map<string, Map<number, PartitionResponse>>();
    for (const t of response.responses) {
      const name = t.name !== undefined && t.name !== '' ? t.name : t.topicId !== undefined ? this.metadata.topicById(t.topicId)?.name : undefined;
      if (name === undefined) continue;
      const m = new Map<number, PartitionResponse>();
      for (const p of t.partitionResponses) m.set(p.index, p);
      results.set(name, m);
    }
    let allOk = true;
    for (const batch of batches) {
      if (batch.isDone) {
        // failed meanwhile (delivery timeout, forced close); a late success still counts for its sequences
        if (this.tm !== undefined && results.get(batch.topic)?.get(batch.partition)?.errorCode === 0) this.tm.lateAcked(batch);
        continue;
      }
      const p = results.get(batch.topic)?.get(batch.partition);
      if (p === undefined) {
        allOk = false;
        this.retryOrFail(batch, new KafkaError(`no response for ${batch.topic}-${batch.partition} in the Produce response`, { code: 'MISSING_PARTITION_RESPONSE', retriable: true }), now);
        continue;
      }
      // DUPLICATE_SEQUENCE_NUMBER (idempotence): written before, by an attempt whose answer was lost
      if (p.errorCode === 0 || (p.errorCode === DUPLICATE_SEQUENCE_NUMBER && this.tm !== undefined)) {
        this.tm?.batchAcked(batch);
        this.accumulator.complete(batch, p.errorCode === 0 ? p.baseOffset : -1n, Number(p.logAppendTimeMs));
        continue;
      }
      allOk = false;
      const info = protocolErrorInfo(p.errorCode);
      const detail = [
        p.errorMessage,
        ...(p.recordErrors ?? []).map((r) => `record ${r.batchIndex}: ${r.batchIndexErrorMessage ?? ''}`),
        // the broker says only "too large": the size is ours to tell, and where the limit lives
        p.errorCode === MESSAGE_TOO_LARGE ? tooLargeDetail(batch) : null,
      ]
        .filter(Boolean)
        .join('; ');
      const error = protocolError(p.errorCode, `${batch.topic}-${batch.partition}${detail ? `: ${detail}` : ''}`);
      this.lastError = error;
      if (info.invalidatesMetadata) {
        const leader = p.currentLeader;
        if (leader !== undefined && (leader.leaderId ?? -1) >= 0) {
          const endpoint = response.nodeEndpoints?.find((n) => n.nodeId === leader.leaderId);
          this.metadata.updateLeader(
            batch.topic,
            batch.partition,
            leader.leaderId!,
            leader.leaderEpoch ?? -1,
            endpoint !== undefined ? { nodeId: endpoint.nodeId!, host: endpoint.host!, port: endpoint.port!, rack: endpoint.rack ?? null } : undefined,
          );
        }
        this.metadata.requestUpdate();
      }
      const special = this.tm?.produceError(batch, p.errorCode, error) ?? null;
      if (special !== null) {
        if (special.action === 'retry') {
          this.retryOrFail(batch, error, now, true);
        } else {
          this.accumulator.fail(batch, special.error);
        }
        continue;
      }
      if (p.errorCode === MESSAGE_TOO_LARGE && batch.recordCount > 1) {
        // Java's splitAndReenqueue: smaller batches with the same records, attempts unchanged
        this.metrics?.recordSplit();
        this.accumulator.splitAndReenqueue(batch);
        continue;
      }
      this.retryOrFail(batch, error, now);
    }
    // the broker took everything: whatever went wrong before is over
    if (allOk) this.lastError = null;
  }

  /** Told by the accumulator of every batch failed for good, whoever failed it. */
  batchFailed(error: Error): void {
    this.lastError = error;
  }

  private handleRequestFailure(batches: ProducerBatch[], error: Error): void {
    this.lastError = error;
    const now = Date.now();
    // a dead connection usually means the leader moved or the broker died: learn the new layout
    this.metadata.requestUpdate();
    for (const b of batches) {
      // the request may have been written and processed: only the broker knows
      if (!b.isDone) b.outcomeUnknown = true;
      this.retryOrFail(b, error, now);
    }
  }

  private retryOrFail(batch: ProducerBatch, error: Error, now: number, forceRetriable = false): void {
    if (batch.isDone) return;
    const retriable = forceRetriable || (error instanceof KafkaError ? error.retriable : false);
    if (now - batch.createdMs >= this.config.deliveryTimeoutMs) return this.accumulator.fail(batch, this.deliveryTimeout(batch, now, error));
    if (!retriable || batch.attempts >= this.config.retries) return this.accumulator.fail(batch, error);
    this.metrics?.recordRetry(batch.recordCount);
    this.accumulator.reenqueue(batch, now);
  }

  private deliveryTimeout(batch: ProducerBatch, now: number, cause?: Error): KafkaTimeoutError {
    const unknown = batch.outcomeUnknown ? '; the last attempt got no answer, so the record(s) may have been written' : '';
    return new KafkaTimeoutError(
      `Expiring ${batch.recordCount} record(s) for ${batch.topic}-${batch.partition}: ${now - batch.createdMs} ms has passed since batch creation (deliveryTimeoutMs ${this.config.deliveryTimeoutMs})${unknown}`,
      'DELIVERY_TIMEOUT',
      cause ?? this.lastError ?? undefined,
    );
  }

  /** Fails every batch in flight (forced close); a response arriving later finds them settled. */
  abortInFlight(error: Error): void {
    for (const b of [...this.inFlightBatches]) this.accumulator.fail(b, error);
  }

  stop(): void {
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

function tooLargeDetail(batch: ProducerBatch): string {
  return `the batch of ${batch.recordCount} record(s) is ${batch.sizeInBytes} bytes, more than the broker accepts for this topic (its max.message.bytes, or the broker's message.max.bytes)`;
}
