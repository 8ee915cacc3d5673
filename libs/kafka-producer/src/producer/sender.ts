import { KafkaError, KafkaProtocolError, protocolErrorInfo } from '../errors';
import { ZERO_UUID } from '../protocol/messages/codec-support';
import { writeProduceRequest, type ProducePartitionRecords } from '../protocol/messages/produce-request-writer';
import { ProduceApi, type ProduceResponse } from '../protocol/messages/produce.generated';
import type { ClusterConnections, NodeConnection } from './cluster-connections';
import { KafkaTimeoutError, ProducerClosedError } from './errors';
import type { BuiltInPartitioner } from './built-in-partitioner';
import type { Metadata } from './metadata';
import type { ProducerMetrics } from './metrics';
import type { ProducerBatch } from './producer-batch';
import type { RecordAccumulator, TopicPartition } from './record-accumulator';

export interface SenderConfig {
  readonly acks: -1 | 0 | 1;
  readonly requestTimeoutMs: number;
  readonly deliveryTimeoutMs: number;
  readonly retries: number;
  readonly maxInFlightRequestsPerConnection: number;
  readonly maxRequestSize: number;
}

export type SenderState = 'running' | 'closing' | 'closed';

const MESSAGE_TOO_LARGE = 10;

/**
 * The Java Sender's loop on Node's event loop: each pass expires batches past their delivery timeout,
 * asks the accumulator which brokers have sendable data, drains one Produce request per ready broker
 * (bounded by in-flight limits and socket backpressure) and handles the responses. A burst of wake-ups
 * causes one more pass, never several loops; one timer covers the next linger or backoff deadline.
 */
export class Sender {
  state: SenderState = 'running';
  inFlightRequests = 0;
  partitioner: BuiltInPartitioner | undefined;
  metrics: ProducerMetrics | undefined;
  lastError: Error | null = null;
  private scheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  /** Partitions with a request in flight, when maxInFlight is 1 (ordering without idempotence). */
  private readonly muted = new Set<string>();
  private readonly inFlightBatches = new Set<ProducerBatch>();
  private readonly inFlightByNode = new Map<number, number>();
  private readonly isMuted = (tp: TopicPartition): boolean => this.muted.size > 0 && this.muted.has(`${tp.topic}\u0000${tp.partition}`);

  constructor(
    private readonly config: SenderConfig,
    private readonly accumulator: RecordAccumulator,
    private readonly metadata: Metadata,
    private readonly connections: ClusterConnections,
  ) {}

  /** Schedules one pass of the loop (coalesced). */
  wakeup(): void {
    if (this.scheduled || this.state === 'closed') return;
    this.scheduled = true;
    setImmediate(this.runOnce);
  }

  private readonly runOnce = (): void => {
    this.scheduled = false;
    if (this.state === 'closed') return;
    try {
      this.sendProducerData(Date.now());
    } catch (e) {
      this.lastError = e as Error;
    }
  };

  get hasInFlight(): boolean {
    return this.inFlightBatches.size > 0;
  }

  private sendProducerData(now: number): void {
    this.metadata.maybeRefreshForAge(now);
    for (const batch of this.accumulator.expireQueued(now)) this.failBatch(batch, this.deliveryTimeout(batch, now));

    const { readyNodes, nextReadyCheckDelayMs, unknownLeaderTopics } = this.accumulator.ready(this.metadata, now);
    if (unknownLeaderTopics.size > 0) this.metadata.requestUpdate();

    const sendable = new Map<number, NodeConnection>();
    for (const nodeId of readyNodes) {
      const address = this.metadata.broker(nodeId);
      if (address === undefined) {
        this.metadata.requestUpdate();
        continue;
      }
      const node = this.connections.ready(address);
      const canDrain =
        node !== null && (this.inFlightByNode.get(nodeId) ?? 0) < this.config.maxInFlightRequestsPerConnection && !node.needsDrain;
      // adaptive partitioning avoids brokers that have data but cannot take it
      this.partitioner?.updateNodeLatencyStats(nodeId, now, canDrain);
      if (node === null) continue; // connecting or backing off; the pool wakes us when it changes
      if (!canDrain) {
        if (node.needsDrain) node.waitForDrain().then(() => this.wakeup(), () => this.wakeup());
        continue;
      }
      sendable.set(nodeId, node);
    }

    const drained = this.accumulator.drain(this.metadata, sendable.keys(), this.config.maxRequestSize, now, this.isMuted);
    for (const [nodeId, batches] of drained) this.sendProduceRequest(nodeId, sendable.get(nodeId)!, batches, now);

    let next = Math.min(nextReadyCheckDelayMs, Math.max(this.accumulator.nextExpiryMs() - now, 0));
    if (readyNodes.size > 0 && drained.size === 0) next = Math.min(next, 50); // waiting on connections or in-flight slots
    if (Number.isFinite(next)) this.armTimer(now + Math.max(next, 1));
  }

  private armTimer(at: number): void {
    if (this.timer !== null && this.timerAt <= at) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.wakeup();
    }, at - Date.now());
  }

  private sendProduceRequest(nodeId: number, node: NodeConnection, batches: ProducerBatch[], now: number): void {
    const version = node.versionFor(ProduceApi);
    const byTopic = new Map<string, { name: string; topicId: Buffer; partitions: ProducePartitionRecords[] }>();
    let records = 0;
    let bytes = 0;
    for (const batch of batches) {
      records += batch.recordCount;
      bytes += batch.bytes!.length;
      if (this.metrics !== undefined) {
        if (batch.attempts === 0) this.metrics.recordQueueTime(now - batch.createdMs);
        this.metrics.recordBatch(batch.bytes!.length, batch.recordCount, batch.bytes!.length / batch.builder.sizeInBytes);
      }
      let topic = byTopic.get(batch.topic);
      if (topic === undefined) {
        topic = { name: batch.topic, topicId: this.metadata.topic(batch.topic)?.topicId ?? ZERO_UUID, partitions: [] };
        byTopic.set(batch.topic, topic);
      }
      topic.partitions.push({ index: batch.partition, records: batch.bytes! });
      batch.state = 'in-flight';
      batch.lastAttemptMs = now;
      this.inFlightBatches.add(batch);
      if (this.config.maxInFlightRequestsPerConnection === 1) this.muted.add(`${batch.topic}\u0000${batch.partition}`);
    }
    const topics = [...byTopic.values()];
    this.inFlightRequests++;
    this.inFlightByNode.set(nodeId, (this.inFlightByNode.get(nodeId) ?? 0) + 1);
    this.metrics?.recordSend(records, bytes);
    const sentAt = now;
    const expectResponse = this.config.acks !== 0;
    // batches are attached, not copied: the request goes out as one writev of header + batch buffers
    node
      .requestRaw(
        ProduceApi,
        version,
        (w, frame) => writeProduceRequest(w, frame.attach, version, null, this.config.acks, this.config.requestTimeoutMs, topics),
        (r) => ProduceApi.decodeResponse(r, version),
        { expectResponse, timeoutMs: this.config.requestTimeoutMs },
      )
      .then(
        (response) => {
          if (response !== undefined && this.metrics !== undefined) {
            this.metrics.recordRequest(Date.now() - sentAt);
            this.metrics.recordThrottle(response.throttleTimeMs);
          }
          this.handleResponse(nodeId, batches, response ?? null);
        },
        (error: unknown) => this.handleRequestFailure(nodeId, batches, error as Error),
      );
  }

  private requestDone(nodeId: number, batches: ProducerBatch[]): void {
    this.inFlightRequests--;
    this.inFlightByNode.set(nodeId, (this.inFlightByNode.get(nodeId) ?? 1) - 1);
    for (const b of batches) {
      this.inFlightBatches.delete(b);
      if (this.muted.size > 0) this.muted.delete(`${b.topic}\u0000${b.partition}`);
    }
  }

  private handleResponse(nodeId: number, batches: ProducerBatch[], response: ProduceResponse | null): void {
    this.requestDone(nodeId, batches);
    const now = Date.now();
    if (response === null) {
      // acks=0: the broker never answers, so a written request is all we learn (Java reports offset -1)
      for (const b of batches) this.completeBatch(b, -1n, -1);
      this.wakeup();
      return;
    }
    const results = new Map<string, Map<number, ProduceResponse['responses'][number]['partitionResponses'][number]>>();
    for (const t of response.responses) {
      const name = t.name !== undefined && t.name !== '' ? t.name : t.topicId !== undefined ? this.metadata.topicById(t.topicId)?.name : undefined;
      if (name === undefined) continue;
      const m = new Map<number, ProduceResponse['responses'][number]['partitionResponses'][number]>();
      for (const p of t.partitionResponses) m.set(p.index, p);
      results.set(name, m);
    }
    for (const batch of batches) {
      const p = results.get(batch.topic)?.get(batch.partition);
      if (p === undefined) {
        this.retryOrFail(batch, new KafkaError(`no response for ${batch.topic}-${batch.partition} in the Produce response`, { code: 'MISSING_PARTITION_RESPONSE', retriable: true }), now);
        continue;
      }
      if (p.errorCode === 0) {
        this.completeBatch(batch, p.baseOffset, Number(p.logAppendTimeMs));
        continue;
      }
      const info = protocolErrorInfo(p.errorCode);
      const detail = [p.errorMessage, ...(p.recordErrors ?? []).map((r) => `record ${r.batchIndex}: ${r.batchIndexErrorMessage ?? ''}`)].filter(Boolean).join('; ');
      const error = new KafkaProtocolError(p.errorCode, `${batch.topic}-${batch.partition}${detail ? `: ${detail}` : ''}`);
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
      if (p.errorCode === MESSAGE_TOO_LARGE && batch.recordCount > 1) {
        // Java's splitAndReenqueue: smaller batches with the same records, attempts unchanged
        this.metrics?.recordSplit();
        this.accumulator.splitAndReenqueue(batch);
        continue;
      }
      this.retryOrFail(batch, error, now);
    }
    this.wakeup();
  }

  private handleRequestFailure(nodeId: number, batches: ProducerBatch[], error: Error): void {
    this.requestDone(nodeId, batches);
    this.lastError = error;
    const now = Date.now();
    // a dead connection usually means the leader moved or the broker died: learn the new layout
    this.metadata.requestUpdate();
    for (const b of batches) this.retryOrFail(b, error, now);
    this.wakeup();
  }

  private retryOrFail(batch: ProducerBatch, error: Error, now: number): void {
    const retriable = error instanceof KafkaError ? error.retriable : false;
    if (this.state === 'closed') return this.failBatch(batch, new ProducerClosedError('the producer was closed before the batch was acknowledged'));
    if (now - batch.createdMs >= this.config.deliveryTimeoutMs) return this.failBatch(batch, this.deliveryTimeout(batch, now, error));
    if (!retriable || batch.attempts >= this.config.retries) return this.failBatch(batch, error);
    this.metrics?.recordRetry(batch.recordCount);
    this.accumulator.reenqueue(batch, now);
  }

  private deliveryTimeout(batch: ProducerBatch, now: number, cause?: Error): KafkaTimeoutError {
    return new KafkaTimeoutError(
      `Expiring ${batch.recordCount} record(s) for ${batch.topic}-${batch.partition}: ${now - batch.createdMs} ms has passed since batch creation (deliveryTimeoutMs ${this.config.deliveryTimeoutMs})`,
      'DELIVERY_TIMEOUT',
      cause ?? this.lastError ?? undefined,
    );
  }

  private completeBatch(batch: ProducerBatch, baseOffset: bigint, logAppendTimeMs: number): void {
    batch.succeed(baseOffset, logAppendTimeMs);
    this.accumulator.completed(batch);
  }

  private failBatch(batch: ProducerBatch, error: Error): void {
    this.lastError = error;
    this.metrics?.recordError(batch.recordCount);
    batch.fail(error);
    this.accumulator.completed(batch);
  }

  /** Fails every queued batch (close with a zero timeout): nothing is left pending silently. */
  abortQueued(error: Error): void {
    for (const b of this.accumulator.drainAll()) this.failBatch(b, error);
  }

  abortInFlight(error: Error): void {
    for (const b of [...this.inFlightBatches]) this.failBatch(b, error);
    this.inFlightBatches.clear();
  }

  stop(): void {
    this.state = 'closed';
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
