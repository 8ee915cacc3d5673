import type { RecordHeader } from '../protocol/records/record-batch';
import { RECORD_BATCH_OVERHEAD, estimateRecordSizeUpperBound } from '../protocol/records/record-batch';
import { RecordBatchBuilder } from '../protocol/records/record-batch-builder';
import { ASYNC_COMPRESSION_THRESHOLD, compressBatch, compressBatchAsync, compressRecordsSync, decompressRecords } from '../protocol/records/compression';
import { NetworkClusterConnections } from '../network/cluster-connections';
import type { ClusterConnections, ConnectionEvent } from './cluster-connections';
import type { ProducerInternals } from './internals';
import { InvalidRecordError, InvalidTransactionStateError, ProducerClosedError, ProducerConfigError, ProducerFatalError, RecordTooLargeError } from './errors';
import type { ProducerInterceptor } from './interceptors';
import { consoleLogger, ProducerLogger } from './logger';
import { isFatalClusterError, Metadata, validateTopicName } from './metadata';
import { MetadataWaits, type MetadataWait } from './metadata-waits';
import { partitionForKey, type Partitioner } from './partitioner';
import { resolveProducerConfig, securityPlugins, type KafkaProducerOptions, type ResolvedProducerConfig } from './producer-config';

export type { KafkaProducerOptions } from './producer-config';
import { ProducerEvents, type DeliveryFailure, type DeliveryReport, type ProducerState, type ProducerStateChange, type TransactionEnd, type Unsubscribe } from './producer-events';
import { TransactionManager, type ConsumerGroupMetadata, type TransactionOffset, type TransactionState } from './transaction-manager';
import { RecordAccumulator, type BatchCodec } from './record-accumulator';
import { Sender } from './sender';
import { bytesOrStringSerializer, describe, type Serializer } from './serializers';
import { BuiltInPartitioner } from './built-in-partitioner';
import { ProducerMetrics, type ProducerMetricsSnapshot } from './metrics';
import { ProducerTopics, type TopicInfo } from './topic-state';
import type { HeaderValue, ProducerRecord, ProducerRecordHeaders, RecordMetadata, SendCallback } from './types';


export interface CloseOptions {
  /**
   * How long to wait for the records already accepted to complete. Default: as long as it takes (each
   * record still ends within its own maxBlockMs + deliveryTimeoutMs). Records pending when it passes
   * fail with ProducerClosedError; 0 fails them at once (the "abort" path).
   */
  timeoutMs?: number;
}

/** A cheap, I/O-free snapshot of the producer's state, for health checks. */
export interface ProducerHealthSnapshot {
  state: ProducerState;
  /** Brokers with an open, ready connection. */
  connectedBrokers: number[];
  knownBrokers: number;
  metadataAgeMs: number;
  queuedRecords: number;
  queuedBytes: number;
  /** Records accepted by send() that wait for their topic's metadata or for buffer memory. */
  waitingRecords: number;
  bufferAvailableBytes: number;
  bufferTotalBytes: number;
  inFlightRequests: number;
  /** The error behind a degraded or fatal state; null once the producer has recovered. */
  lastError: Error | null;
  /** The idempotent producer's id (a decimal string, so the snapshot stays JSON-safe) and epoch; null without idempotence or before the broker gave one. */
  producerId: { producerId: string; producerEpoch: number } | null;
  /** Null unless the producer is transactional. */
  transaction: { transactionalId: string; state: TransactionState } | null;
}

/** What `transaction(fn)` hands to fn: sends and offset commits that belong to that transaction. */
export interface Transaction<K, V> {
  readonly transactionalId: string;
  send(record: ProducerRecord<K, V>): Promise<RecordMetadata>;
  sendOffsets(offsets: readonly TransactionOffset[], group: string | ConsumerGroupMetadata): Promise<void>;
}

const EMPTY_HEADERS: RecordHeader[] | null = null;

/**
 * The producer: send() serializes, partitions and appends to the RecordAccumulator (or, until the
 * topic's metadata is known, to MetadataWaits); the Sender turns ready batches into Produce requests;
 * each record's promise settles when its batch does.
 */
export class KafkaProducer<K = Buffer | string | null, V = Buffer | string | null> {
  readonly config: ResolvedProducerConfig;
  private readonly keySerializer: Serializer<any>;
  private readonly valueSerializer: Serializer<any>;
  private readonly interceptors: ReadonlyArray<ProducerInterceptor<K, V>>;
  private readonly acknowledgingInterceptors: boolean;
  private readonly customPartitioner: Partitioner | undefined;
  private readonly logger: ProducerLogger;
  private readonly events: ProducerEvents;
  private readonly topics = new ProducerTopics();
  private readonly producerMetrics = new ProducerMetrics();
  private readonly builtInPartitioner: BuiltInPartitioner;
  private readonly connections: ClusterConnections;
  private readonly accumulator: RecordAccumulator;
  private readonly metadata: Metadata;
  private readonly metadataWaits: MetadataWaits;
  private readonly sender: Sender;
  private readonly transactions: TransactionManager | undefined;
  /** The tail of the transaction() queue: one transaction at a time per producer. */
  private transactionQueue: Promise<unknown> = Promise.resolve();
  private state: ProducerState = 'connecting';
  private closePromise: Promise<void> | null = null;

  constructor(options: KafkaProducerOptions<K, V>, internals: ProducerInternals = {}) {
    this.config = resolveProducerConfig(options);
    const config = this.config;
    this.keySerializer = options.keySerializer ?? bytesOrStringSerializer;
    this.valueSerializer = options.valueSerializer ?? bytesOrStringSerializer;
    this.interceptors = options.interceptors ?? [];
    this.acknowledgingInterceptors = this.interceptors.some((i) => i.onAcknowledgement !== undefined);
    this.customPartitioner = options.partitioner;
    this.logger = new ProducerLogger(options.logger ?? consoleLogger, { clientId: config.clientId });
    this.events = new ProducerEvents(config.clientId, this.logger);
    const codec = createCodec(config);
    this.builtInPartitioner = new BuiltInPartitioner({
      batchSize: config.batchSize,
      // Java: adaptive partitioning applies only to the built-in partitioner
      adaptive: config.partitionerAdaptivePartitioningEnable && options.partitioner === undefined,
      availabilityTimeoutMs: config.partitionerAvailabilityTimeoutMs,
    });
    // the components call each other through these closures only after construction
    const wakeSender = (): void => this.sender.wakeup();
    const connectionChanged = (event?: ConnectionEvent): void => {
      if (event?.type === 'reauthenticated') {
        this.producerMetrics.recordReauthentication();
        return;
      }
      if (event?.type === 'connected') this.producerMetrics.recordConnectionCreated();
      else if (event?.type === 'disconnected') this.producerMetrics.recordConnectionClosed();
      // a lost connection may mean the broker or the leader moved: learn the layout again. This is
      // also what reconnects an idle producer: the refresh retries with backoff until a broker answers.
      if (event?.type === 'disconnected') this.metadata.requestUpdate();
      this.transactions?.connectionChanged();
      this.sender.wakeup();
    };
    if (config.idempotenceDisabledReason !== null) this.logger.info(`idempotence is off: ${config.idempotenceDisabledReason} (set enableIdempotence: false to say so, or fix the setting)`);
    if (config.ssl?.rejectUnauthorized === false) {
      this.logger.warn('ssl.rejectUnauthorized is false: broker certificates are NOT verified, so anyone on the network path can read and change the traffic, credentials included');
    }
    this.connections = internals.connections?.(config, connectionChanged) ?? new NetworkClusterConnections({ ...config, ...securityPlugins(config) }, connectionChanged);
    this.transactions = config.enableIdempotence
      ? new TransactionManager(config, {
          connections: this.connections,
          logger: this.logger,
          wakeSender,
          flush: () => this.flush(),
          abortUndrained: (error) => {
            this.metadataWaits.abortAll(error);
            this.accumulator.abortUndrained(error);
          },
          onFatal: (error) => {
            this.metadataWaits.abortAll(error);
            this.accumulator.abortUndrained(error);
            this.updateState();
          },
          onTransactionEnd: (outcome, error) => this.events.transactionEnded({ transactionalId: config.transactionalId!, outcome, error }),
        })
      : undefined;
    this.accumulator = new RecordAccumulator(config, {
      topics: this.topics,
      partitioner: this.builtInPartitioner,
      metrics: this.producerMetrics,
      codec,
      onProgress: wakeSender,
      onBatchFailed: (batch, error) => {
        this.transactions?.batchFailed(batch, error);
        this.sender.batchFailed(error);
      },
      sequencer: this.transactions,
    });
    this.metadata = new Metadata(this.connections, this.topics, config, {
      onUpdate: () => {
        this.metadataWaits.topicsUpdated();
        this.sender.wakeup();
        this.updateState();
      },
      onTopicError: (topic, error) => {
        this.metadataWaits.topicFailed(topic, error);
        if (!topic.busy) this.topics.delete(topic.name);
      },
      onRefreshError: (error) => {
        // nothing will get through: fail the sends that wait rather than let them time out
        if (isFatalClusterError(error)) this.metadataWaits.abortAll(error);
        this.updateState();
      },
      onTopicExpired: (topic) => this.builtInPartitioner.forgetTopic(topic),
    });
    this.metadataWaits = new MetadataWaits(
      this.accumulator.waitBudget,
      config.maxBlockMs,
      (wait) => this.appendWaiting(wait),
      () => this.metadata.lastError,
    );
    this.sender = new Sender(config, {
      accumulator: this.accumulator,
      metadata: this.metadata,
      connections: this.connections,
      logger: this.logger,
      partitioner: this.builtInPartitioner,
      metrics: this.producerMetrics,
      topics: this.topics,
      hasMetadataWaiters: (topic) => this.metadataWaits.has(topic),
      onActivity: () => this.updateState(),
      transactionManager: this.transactions,
    });
    const pool = this.accumulator.pool;
    this.producerMetrics.registerGauge('buffer-available-bytes', () => pool.availableMemory);
    this.producerMetrics.registerGauge('buffer-total-bytes', () => pool.totalMemory);
    this.producerMetrics.registerGauge('requests-in-flight', () => this.sender.inFlightRequests);
    this.producerMetrics.registerGauge('waiting-threads', () => this.accumulator.waitingForMemory + this.metadataWaits.size);
    this.producerMetrics.registerGauge('metadata-age', () => this.metadata.ageMs() / 1000);
  }

  /** Connects to the cluster (optional: the first send connects). Rejects if no bootstrap server answers. */
  async connect(): Promise<void> {
    this.ensureOpen();
    try {
      await this.connections.any();
    } finally {
      // on failure too: the refresh meets the same error and records it, so health() and the state say why
      this.metadata.requestUpdate();
    }
  }

  /**
   * Sends a record. The promise resolves with its partition, offset and timestamp once the broker has
   * acknowledged it (per `acks`), or rejects with a typed KafkaError. With a callback, the callback gets
   * the outcome too, and the returned promise never causes an unhandled rejection. A callback that
   * throws is logged; it never affects the producer.
   */
  send(record: ProducerRecord<K, V>, callback?: SendCallback): Promise<RecordMetadata> {
    let promise: Promise<RecordMetadata>;
    try {
      promise = this.doSend(record);
    } catch (e) {
      promise = Promise.reject(e);
    }
    // no listener, no interceptor, no callback: nothing more to do per record
    if (callback !== undefined || this.acknowledgingInterceptors || this.events.wantsDeliveries) this.observe(promise, record, callback);
    return promise;
  }

  private observe(promise: Promise<RecordMetadata>, record: ProducerRecord<K, V>, callback: SendCallback | undefined): void {
    const report = this.events.wantsDeliveries;
    promise.then(
      (metadata) => {
        this.onAcknowledgement(metadata, null);
        if (report) this.events.delivered(metadata);
        if (callback !== undefined) this.callBack(callback, null, metadata);
      },
      (error: Error) => {
        this.onAcknowledgement(null, error);
        if (report) this.events.failed(failureOf(record, error));
        if (callback !== undefined) this.callBack(callback, error, null);
      },
    );
    // the caller chose a callback: the promise is theirs to ignore
    if (callback !== undefined) promise.catch(noop);
  }

  private callBack(callback: SendCallback, error: Error | null, metadata: RecordMetadata | null): void {
    try {
      callback(error, metadata);
    } catch (e) {
      // Java logs a throwing callback and carries on; an unhandled rejection would end the process
      this.logger.error('a send() callback threw; ignored', { error: e as Error });
    }
  }

  /** Every acknowledged record of this producer, from now on. Costs nothing while nobody listens. */
  onDelivery(listener: (report: DeliveryReport) => void): Unsubscribe {
    return this.events.onDelivery(listener);
  }

  /** Every record that failed for good (its send() promise rejected), from now on. */
  onDeliveryError(listener: (failure: DeliveryFailure) => void): Unsubscribe {
    return this.events.onDeliveryError(listener);
  }

  /** Moves between the states of ProducerState; the current one is `health().state`. */
  onStateChange(listener: (change: ProducerStateChange) => void): Unsubscribe {
    return this.events.onStateChange(listener);
  }

  private doSend(input: ProducerRecord<K, V>): Promise<RecordMetadata> {
    this.ensureOpen();
    this.transactions?.checkSend();
    let record = input;
    for (const interceptor of this.interceptors) {
      if (interceptor.onSend === undefined) continue;
      try {
        record = interceptor.onSend(record) ?? record;
      } catch (e) {
        this.logger.warn('interceptor onSend threw; skipped', { error: e as Error });
      }
    }
    if (record === null || typeof record !== 'object') {
      // an interceptor's bad return value is not the caller's record: say whose it was
      throw new InvalidRecordError(record === input ? `record must be an object, got ${describe(record)}` : `an interceptor's onSend returned ${describe(record)} instead of a record`);
    }
    const topic = record.topic;
    // one lookup: a topic with state was validated on first use, so the regex is skipped
    let state = typeof topic === 'string' ? this.topics.get(topic) : undefined;
    if (state === undefined) {
      const topicProblem = validateTopicName(topic);
      if (topicProblem !== null) throw new InvalidRecordError(topicProblem);
    }
    const partition = record.partition;
    if (partition !== undefined && partition !== null && (!Number.isInteger(partition) || partition < 0)) {
      throw new InvalidRecordError(`partition must be a non-negative integer, got ${String(partition)}`);
    }
    const explicit = partition === null ? undefined : partition;
    const timestamp = toTimestamp(record.timestamp);
    // a missing value (a typo, a field never set) would otherwise go out as a tombstone and delete the key on a compacted topic
    if (record.value === undefined) throw new InvalidRecordError(`the value for topic ${topic} is undefined: pass null to send a record without a value (a tombstone)`);
    const key = this.serialize(this.keySerializer, topic, record.key, 'key');
    const value = this.serialize(this.valueSerializer, topic, record.value, 'value');
    const headers = toHeaders(record.headers);
    const size = RECORD_BATCH_OVERHEAD + estimateRecordSizeUpperBound(key, value, headers);
    if (size > this.config.maxRequestSize) {
      throw new RecordTooLargeError(`The message is ${size} bytes when serialized which is larger than ${this.config.maxRequestSize}, which is the value of the maxRequestSize configuration.`);
    }
    if (size > this.config.bufferMemory) {
      throw new RecordTooLargeError(`The message is ${size} bytes when serialized which is larger than the total memory buffer you have configured with the bufferMemory configuration (${this.config.bufferMemory}).`);
    }

    const now = Date.now();
    if (state === undefined) state = this.topics.getOrCreate(topic);
    state.lastUsedMs = now;
    const info = state.info;
    if (info !== undefined && info.partitions.length > 0 && (explicit === undefined || explicit < info.partitions.length)) {
      const chosen = this.choosePartition(info, explicit, key, value);
      const sticky = this.choseSticky;
      // A shared executor (no closure and context per record): the hot path's cheapest promise.
      const promise = new Promise<RecordMetadata>(captureSettlers);
      const resolve = capturedResolve!;
      const reject = capturedReject!;
      capturedResolve = capturedReject = null;
      const deadline = now + this.config.maxBlockMs;
      if (this.accumulator.append(state.partition(chosen), sticky, timestamp < 0 ? now : timestamp, key, value, headers, resolve, reject, now, deadline)) this.sender.wakeup();
      return promise;
    }
    // Java's send() blocks here until the topic is known; ours queues the record and returns at once
    const promise = new Promise<RecordMetadata>(captureSettlers);
    const resolve = capturedResolve!;
    const reject = capturedReject!;
    capturedResolve = capturedReject = null;
    this.metadataWaits.push({
      topic: state,
      partition: explicit,
      timestampGiven: timestamp,
      timestamp,
      key,
      value,
      headers,
      resolve,
      reject,
      enqueuedMs: now,
      deadlineMs: now + this.config.maxBlockMs,
      size: RecordBatchBuilder.estimateSize(key, value, headers),
    });
    this.metadata.requestUpdate();
    return promise;
  }

  /** A record whose topic just became known: partition it and append it (maxBlockMs still runs from send()). */
  private appendWaiting(w: MetadataWait): void {
    try {
      const info = w.topic.info!;
      const chosen = this.choosePartition(info, w.partition, w.key, w.value);
      const now = Date.now();
      if (this.accumulator.append(w.topic.partition(chosen), this.choseSticky, w.timestampGiven < 0 ? now : w.timestampGiven, w.key, w.value, w.headers, w.resolve, w.reject, now, w.deadlineMs)) this.sender.wakeup();
    } catch (e) {
      w.reject(e as Error);
    }
  }

  /** Set by choosePartition: whether the built-in sticky partitioner chose (a field, not a tuple per record). */
  private choseSticky = false;

  /** The record's partition; throws InvalidRecordError for a bad custom choice. */
  private choosePartition(info: TopicInfo, explicit: number | undefined, key: Buffer | null, value: Buffer | null): number {
    this.choseSticky = false;
    if (explicit !== undefined) return explicit;
    if (this.customPartitioner !== undefined) {
      const chosen = this.customPartition(info, key, value);
      if (chosen >= 0) return chosen;
    }
    if (key !== null && !this.config.partitionerIgnoreKeys) return partitionForKey(key, info.partitions.length);
    this.choseSticky = true;
    return this.builtInPartitioner.partition(info);
  }

  /** What a custom partitioner may ask of the cluster; one object for the producer's life, not one per record. */
  private readonly clusterView = {
    partitionCountForTopic: (t: string): number => this.metadata.topic(t)?.partitions.length ?? 0,
    availablePartitionsForTopic: (t: string): number[] => (this.metadata.topic(t)?.partitions ?? []).filter((p) => p !== undefined && p.leaderId >= 0).map((p) => p.partition),
  };

  /** Runs the custom partitioner; -1 hands the choice back to the built-in one. */
  private customPartition(topic: TopicInfo, key: Buffer | null, value: Buffer | null): number {
    const count = topic.partitions.length;
    let chosen: number | null | undefined;
    try {
      chosen = this.customPartitioner!.partition(topic.name, key, value, this.clusterView);
    } catch (e) {
      // as a serializer's error: the record's own problem, typed, and the producer carries on
      throw new InvalidRecordError(`the custom partitioner threw for topic ${topic.name}: ${(e as Error)?.message ?? String(e)}`, e);
    }
    if (chosen === undefined || chosen === null || chosen === -1) return -1;
    if (!Number.isInteger(chosen) || chosen < 0 || chosen >= count) {
      throw new InvalidRecordError(`the custom partitioner chose partition ${String(chosen)} for topic ${topic.name}, which has ${count} partitions`);
    }
    return chosen;
  }

  private serialize(serializer: Serializer<any>, topic: string, data: unknown, what: 'key' | 'value'): Buffer | null {
    if (data === null || data === undefined) return null;
    let bytes: unknown;
    try {
      bytes = serializer.serialize(topic, data);
    } catch (e) {
      throw new InvalidRecordError(`cannot serialize the ${what} for topic ${topic}: ${(e as Error)?.message ?? String(e)}`, e);
    }
    if (bytes !== null && bytes !== undefined && !Buffer.isBuffer(bytes)) {
      throw new InvalidRecordError(`the ${what} serializer for topic ${topic} returned ${describe(bytes)}, not a Buffer or null`);
    }
    return (bytes as Buffer | null | undefined) ?? null;
  }

  private onAcknowledgement(metadata: RecordMetadata | null, error: Error | null): void {
    for (const interceptor of this.interceptors) {
      if (interceptor.onAcknowledgement === undefined) continue;
      try {
        interceptor.onAcknowledgement(metadata, error);
      } catch (e) {
        this.logger.warn('interceptor onAcknowledgement threw; skipped', { error: e as Error });
      }
    }
  }

  /**
   * Resolves when every record sent before this call has completed (succeeded or failed), including
   * records that were still waiting for their topic's metadata or for buffer memory.
   */
  async flush(): Promise<void> {
    const queued = this.accumulator.flush();
    this.sender.wakeup();
    if (this.metadataWaits.size > 0) {
      await this.metadataWaits.settled();
      const appended = this.accumulator.flush();
      this.sender.wakeup();
      await appended;
    }
    await queued;
  }

  /**
   * Completes every record already accepted (as Java's close() does: those waiting for metadata or
   * memory included), then closes the connections. Sends after close() began are rejected. With
   * `timeoutMs`, records still pending after that long fail with ProducerClosedError; with 0 they fail
   * at once.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.closePromise !== null) return this.closePromise;
    const timeoutMs = options.timeoutMs;
    if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !(timeoutMs >= 0))) {
      return Promise.reject(new InvalidRecordError(`close timeoutMs must be a non-negative number of milliseconds, got ${String(timeoutMs)}`));
    }
    this.closePromise = this.doClose(timeoutMs);
    return this.closePromise;
  }

  private async doClose(timeoutMs: number | undefined): Promise<void> {
    this.setState('closing', null);
    this.accumulator.beginClose();
    this.sender.wakeup();
    // Java's close aborts an open transaction: its records must not become visible
    const drain = async (): Promise<void> => {
      await this.transactions?.abortIfOpen();
      await this.flush();
    };
    if (timeoutMs === undefined) {
      await drain();
    } else if (timeoutMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([drain(), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
    }
    // anything still pending: the timeout passed (or was 0)
    const error = new ProducerClosedError(
      timeoutMs === 0
        ? 'the producer was closed with timeoutMs 0 before the record was acknowledged'
        : `the record was still pending when close()'s timeout of ${timeoutMs} ms passed`,
    );
    this.metadataWaits.abortAll(error);
    this.accumulator.abortUndrained(error);
    this.sender.abortInFlight(error);
    this.sender.stop();
    this.transactions?.close();
    this.metadata.close();
    this.metadataWaits.close();
    this.accumulator.close();
    try {
      this.customPartitioner?.close?.();
    } catch (e) {
      this.logger.warn('the partitioner threw on close; ignored', { error: e as Error });
    }
    for (const i of this.interceptors) {
      try {
        i.close?.();
      } catch (e) {
        this.logger.warn('an interceptor threw on close; ignored', { error: e as Error });
      }
    }
    await this.connections.close();
    this.setState('closed', null);
  }

  /** The Java producer's metrics by name (producer-metrics group), read without I/O. */
  metrics(): ProducerMetricsSnapshot {
    return this.producerMetrics.snapshot();
  }

  health(): ProducerHealthSnapshot {
    const queued = this.accumulator.queuedStats();
    const pool = this.accumulator.pool;
    return {
      state: this.state,
      connectedBrokers: this.connections.connectedNodeIds(),
      knownBrokers: this.metadata.brokerCount,
      metadataAgeMs: this.metadata.ageMs(),
      queuedRecords: queued.records,
      queuedBytes: queued.bytes,
      waitingRecords: this.accumulator.waitingForMemory + this.metadataWaits.size,
      bufferAvailableBytes: pool.availableMemory,
      bufferTotalBytes: pool.totalMemory,
      inFlightRequests: this.sender.inFlightRequests,
      lastError: this.currentError(),
      producerId: this.transactions?.hasProducerId() ? { producerId: String(this.transactions.producerId), producerEpoch: this.transactions.producerEpoch } : null,
      transaction: this.transactions?.transactionalId ? { transactionalId: this.transactions.transactionalId, state: this.transactions.transactionState } : null,
    };
  }

  private currentError(): Error | null {
    return this.transactions?.fatal ?? this.metadata.lastError ?? this.sender.lastError;
  }

  // ---------------------------------------------------------------- transactions

  /** The transaction state machine's state (Java's names); UNINITIALIZED for a producer without transactionalId. */
  get transactionState(): TransactionState {
    return this.transactions?.isTransactional ? this.transactions.transactionState : 'UNINITIALIZED';
  }

  /** Finds the transaction coordinator and gets the producer id, fencing older producers with the same transactionalId. */
  initTransactions(): Promise<void> {
    try {
      this.ensureOpen();
      return this.requireTransactions('initTransactions').initTransactions();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  beginTransaction(): void {
    this.ensureOpen();
    this.requireTransactions('beginTransaction').beginTransaction();
  }

  /** Commits the consumer group's offsets with the transaction (consume-transform-produce). */
  sendOffsetsToTransaction(offsets: readonly TransactionOffset[], group: string | ConsumerGroupMetadata): Promise<void> {
    try {
      this.ensureOpen();
      return this.requireTransactions('sendOffsetsToTransaction').sendOffsetsToTransaction(validateOffsets(offsets), validateGroup(group));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Waits for every record of the transaction, then commits it. */
  commitTransaction(): Promise<void> {
    try {
      this.ensureOpen();
      return this.requireTransactions('commitTransaction').commitTransaction();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Aborts the transaction: records not yet sent fail with TransactionAbortedError; none becomes visible to read_committed readers. */
  abortTransaction(): Promise<void> {
    try {
      this.ensureOpen();
      return this.requireTransactions('abortTransaction').abortTransaction();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Runs fn inside a transaction: commits when it resolves (returning its result), aborts when it
   * throws (rethrowing its error). Transactions of one producer run one after another, in call order;
   * initTransactions() is called on first use.
   */
  transaction<T>(fn: (tx: Transaction<K, V>) => Promise<T> | T): Promise<T> {
    const run = async (): Promise<T> => {
      const tm = this.requireTransactions('transaction');
      this.ensureOpen();
      if (tm.needsInit) await tm.initTransactions(); // also joins an initTransactions() the app started and did not await
      await tm.finishOutlived();
      this.beginTransaction();
      const tx: Transaction<K, V> = {
        transactionalId: tm.transactionalId!,
        send: (record) => this.send(record),
        sendOffsets: (offsets, group) => this.sendOffsetsToTransaction(offsets, group),
      };
      let result: T;
      try {
        result = await fn(tx);
      } catch (e) {
        await this.abortAfterFailure(e);
        throw e;
      }
      try {
        await this.commitTransaction();
      } catch (e) {
        // a commit past maxBlockMs may still succeed: it is left running, not aborted
        if (!tm.outlived(e)) await this.abortAfterFailure(e);
        throw e;
      }
      return result;
    };
    const next = this.transactionQueue.then(run, run);
    this.transactionQueue = next.catch(noop);
    return next;
  }

  private async abortAfterFailure(cause: unknown): Promise<void> {
    const state = this.transactions?.transactionState;
    if (state !== 'IN_TRANSACTION' && state !== 'ABORTABLE_ERROR' && state !== 'ABORTING_TRANSACTION') return;
    try {
      await this.transactions!.abortTransaction(cause instanceof Error ? cause : new Error(String(cause)));
    } catch (e) {
      this.transactions!.outlived(e);
      this.logger.warn(`aborting the transaction after ${(cause as Error)?.message ?? 'an error'} failed: ${(e as Error).message}`, { error: e as Error });
    }
  }

  /** Every transaction end (commit or abort) of this producer, from now on. */
  onTransactionEnd(listener: (end: TransactionEnd) => void): Unsubscribe {
    return this.events.onTransactionEnd(listener);
  }

  private requireTransactions(call: string): TransactionManager {
    const tm = this.transactions;
    if (tm === undefined || !tm.isTransactional) throw new InvalidTransactionStateError(call, 'UNINITIALIZED', 'the producer has no transactionalId');
    return tm;
  }

  /** Derives the state from what the components know; cheap, called after every sender pass. */
  private updateState(): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    const error = this.currentError();
    let next: ProducerState;
    if (isFatalClusterError(this.metadata.lastError) || this.transactions?.fatal) next = 'fatal';
    else if (error !== null) next = 'degraded';
    else next = this.metadata.hasSucceeded ? 'ready' : 'connecting';
    if (next !== this.state) this.setState(next, error);
  }

  private setState(state: ProducerState, reason: Error | null): void {
    const previous = this.state;
    if (previous === state) return;
    this.state = state;
    if (state === 'degraded' || state === 'fatal') this.logger.warn(`producer is ${state}: ${reason?.message ?? 'unknown error'}`, { previous });
    else if (previous === 'degraded' || previous === 'fatal') this.logger.info(`producer is ${state} again`, { previous });
    this.events.stateChanged({ state, previous, reason });
  }

  private ensureOpen(): void {
    if (this.closePromise !== null) throw new ProducerClosedError('cannot send: the producer is closing or closed');
    const fatal = this.transactions?.fatal;
    if (fatal) throw fatal;
    if (this.state === 'fatal') {
      const cause = this.metadata.lastError;
      throw new ProducerFatalError(`cannot send: ${cause?.message ?? 'the producer is in a fatal state'}`, cause);
    }
  }
}

function noop(): void {}

function validateOffsets(offsets: readonly TransactionOffset[]): readonly TransactionOffset[] {
  if (!Array.isArray(offsets)) throw new InvalidRecordError('offsets must be an array of { topic, partition, offset }');
  for (const o of offsets) {
    if (o === null || typeof o !== 'object' || typeof o.topic !== 'string' || o.topic.length === 0) throw new InvalidRecordError('each offset needs a topic name');
    if (!Number.isInteger(o.partition) || o.partition < 0) throw new InvalidRecordError(`offset for ${o.topic}: partition must be a non-negative integer, got ${String(o.partition)}`);
    const n = typeof o.offset === 'bigint' ? o.offset : Number.isSafeInteger(o.offset) ? BigInt(o.offset) : -1n;
    if (n < 0n) throw new InvalidRecordError(`offset for ${o.topic}-${o.partition} must be a non-negative integer, got ${String(o.offset)}`);
  }
  return offsets;
}

function validateGroup(group: string | ConsumerGroupMetadata): string | ConsumerGroupMetadata {
  const id = typeof group === 'string' ? group : group?.groupId;
  if (typeof id !== 'string' || id.length === 0) throw new InvalidRecordError('group must be a group id or { groupId, generationId?, memberId?, groupInstanceId? }');
  return group;
}

function failureOf(record: ProducerRecord<any, any>, error: Error): DeliveryFailure {
  const topic = record !== null && typeof record === 'object' && typeof record.topic === 'string' ? record.topic : '';
  const partition = record !== null && typeof record === 'object' && Number.isInteger(record.partition) ? (record.partition as number) : -1;
  return { topic, partition, error };
}

/** The configured codec, proven usable now (a missing optional package fails construction, not a batch). */
function createCodec(config: ResolvedProducerConfig): BatchCodec | null {
  const codec = config.compressionType;
  if (codec === 'none') return null;
  const level = codec === 'gzip' ? config.compressionGzipLevel : codec === 'lz4' ? config.compressionLz4Level : codec === 'zstd' ? config.compressionZstdLevel : undefined;
  try {
    compressRecordsSync(codec, Buffer.from('codec probe'), level);
  } catch (e) {
    throw new ProducerConfigError([`compressionType ${codec} cannot be used here: ${(e as Error).message}`]);
  }
  return {
    name: codec,
    compress: (builder, options) => compressBatch(builder, codec, level, options),
    compressAsync: (builder, options) => compressBatchAsync(builder, codec, level, options),
    asyncThreshold: ASYNC_COMPRESSION_THRESHOLD[codec],
    decompress: decompressRecords,
  };
}

let capturedResolve: ((metadata: RecordMetadata) => void) | null = null;
let capturedReject: ((error: Error) => void) | null = null;
function captureSettlers(resolve: (metadata: RecordMetadata) => void, reject: (error: Error) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

function toTimestamp(ts: ProducerRecord['timestamp']): number {
  if (ts === undefined || ts === null) return -1;
  const n = ts instanceof Date ? ts.getTime() : typeof ts === 'bigint' ? Number(ts) : ts;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new InvalidRecordError(`timestamp must be a non-negative integer of milliseconds, got ${String(ts)}`);
  return n;
}

function headerValue(key: string, v: HeaderValue): Buffer | null {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  throw new InvalidRecordError(`header "${key}" must be a Buffer, string or null, got ${describe(v)}`);
}

/** What Object.prototype.toString gives a plain object (or a class instance) in any realm, and not a Map, Set or typed array. */
const OBJECT_TAG = '[object Object]';

function toHeaders(headers: ProducerRecordHeaders | undefined): RecordHeader[] | null {
  if (headers === undefined || headers === null) return EMPTY_HEADERS;
  const out: RecordHeader[] = [];
  if (Array.isArray(headers)) {
    for (const pair of headers as ReadonlyArray<readonly [string, HeaderValue]>) {
      if (!Array.isArray(pair) || typeof pair[0] !== 'string') throw new InvalidRecordError('headers given as a list must be [key, value] pairs with string keys');
      out.push({ key: pair[0], value: headerValue(pair[0], pair[1]) });
    }
  } else if (typeof headers === 'object' && OBJECT_TAG === Object.prototype.toString.call(headers)) {
    for (const [k, v] of Object.entries(headers)) {
      if (Array.isArray(v)) for (const one of v) out.push({ key: k, value: headerValue(k, one) });
      else out.push({ key: k, value: headerValue(k, v as HeaderValue) });
    }
  } else {
    // a Map, Set or Buffer has no own entries of the expected shape: taking it as an object would drop its headers without a word
    throw new InvalidRecordError(`headers must be a list of pairs or a plain object, got ${describe(headers)}`);
  }
  return out.length === 0 ? EMPTY_HEADERS : out;
}

