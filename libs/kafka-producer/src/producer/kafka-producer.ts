import type { RecordHeader } from '../protocol/records/record-batch';
import { RECORD_BATCH_OVERHEAD, estimateRecordSizeUpperBound } from '../protocol/records/record-batch';
import { NetworkClusterConnections } from '../network/cluster-connections';
import type { ClusterConnections } from './cluster-connections';
import type { ProducerInternals } from './internals';
import { InvalidRecordError, ProducerClosedError, RecordTooLargeError } from './errors';
import type { ProducerInterceptor } from './interceptors';
import { Metadata, validateTopicName, type TopicInfo } from './metadata';
import { partitionForKey, type Partitioner } from './partitioner';
import { resolveProducerConfig, type ProducerConfig, type ResolvedProducerConfig } from './producer-config';
import { RecordAccumulator } from './record-accumulator';
import { Sender } from './sender';
import { bytesOrStringSerializer, describe, type Serializer } from './serializers';
import { ASYNC_COMPRESSION_THRESHOLD, compressBatch, compressBatchAsync, decompressRecords } from '../protocol/records/compression';
import { BuiltInPartitioner } from './built-in-partitioner';
import { ProducerMetrics, type ProducerMetricsSnapshot } from './metrics';
import type { HeaderValue, ProducerRecord, ProducerRecordHeaders, RecordMetadata, SendCallback } from './types';

export interface KafkaProducerOptions<K, V> extends ProducerConfig<K, V> {
  keySerializer?: Serializer<K>;
  valueSerializer?: Serializer<V>;
}

export interface CloseOptions {
  /** How long to wait for pending records; 0 fails whatever is still pending at once. Default: forever. */
  timeoutMs?: number;
}

/** A cheap, I/O-free snapshot of the producer's state, for health checks. */
export interface ProducerHealthSnapshot {
  state: 'running' | 'closing' | 'closed';
  connectedBrokers: number[];
  knownBrokers: number;
  metadataAgeMs: number;
  queuedRecords: number;
  queuedBytes: number;
  inFlightRequests: number;
  lastError: Error | null;
}

const EMPTY_HEADERS: RecordHeader[] | null = null;

/**
 * The producer: send() serializes, partitions and appends to the RecordAccumulator; the Sender turns
 * ready batches into Produce requests; each record's promise settles when its batch does.
 */
export class KafkaProducer<K = Buffer | string | null, V = Buffer | string | null> {
  readonly config: ResolvedProducerConfig;
  private readonly keySerializer: Serializer<any>;
  private readonly valueSerializer: Serializer<any>;
  private readonly interceptors: ReadonlyArray<ProducerInterceptor<K, V>>;
  private readonly customPartitioner: Partitioner | undefined;
  private readonly connections: ClusterConnections;
  private readonly metadata: Metadata;
  private readonly accumulator: RecordAccumulator;
  private readonly sender: Sender;
  private readonly builtInPartitioner: BuiltInPartitioner;
  private readonly producerMetrics: ProducerMetrics;
  private state: 'running' | 'closing' | 'closed' = 'running';
  private closePromise: Promise<void> | null = null;
  /** Sends still waiting for their topic's metadata: not in the accumulator yet, but flush() owes them. */
  private readonly awaitingMetadata = new Set<Promise<void>>();

  constructor(options: KafkaProducerOptions<K, V>, internals: ProducerInternals = {}) {
    this.config = resolveProducerConfig(options);
    this.keySerializer = options.keySerializer ?? bytesOrStringSerializer;
    this.valueSerializer = options.valueSerializer ?? bytesOrStringSerializer;
    this.interceptors = options.interceptors ?? [];
    this.customPartitioner = options.partitioner;
    const onChange = (): void => this.sender.wakeup();
    this.connections = internals.connections?.(this.config, onChange) ?? new NetworkClusterConnections(this.config, onChange);
    this.metadata = new Metadata(this.connections, this.config, () => this.sender.wakeup());
    this.accumulator = new RecordAccumulator(this.config);
    this.sender = new Sender(this.config, this.accumulator, this.metadata, this.connections);
    this.accumulator.onProgress = () => this.sender.wakeup();
    this.configureCompression();
    this.builtInPartitioner = new BuiltInPartitioner({
      batchSize: this.config.batchSize,
      // Java: adaptive partitioning applies only to the built-in partitioner
      adaptive: this.config.partitionerAdaptivePartitioningEnable && options.partitioner === undefined,
      availabilityTimeoutMs: this.config.partitionerAvailabilityTimeoutMs,
    });
    this.accumulator.partitioner = this.builtInPartitioner;
    this.sender.partitioner = this.builtInPartitioner;
    this.producerMetrics = new ProducerMetrics();
    this.accumulator.metrics = this.producerMetrics;
    this.sender.metrics = this.producerMetrics;
    const pool = this.accumulator.pool;
    this.producerMetrics.registerGauge('buffer-available-bytes', () => pool.availableMemory);
    this.producerMetrics.registerGauge('buffer-total-bytes', () => pool.totalMemory);
    this.producerMetrics.registerGauge('requests-in-flight', () => this.sender.inFlightRequests);
    this.producerMetrics.registerGauge('waiting-threads', () => this.accumulator.waitingForMemory);
    this.producerMetrics.registerGauge('metadata-age', () => this.metadata.ageMs() / 1000);
  }

  private configureCompression(): void {
    const codec = this.config.compressionType;
    if (codec === 'none') return;
    const level = codec === 'gzip' ? this.config.compressionGzipLevel : codec === 'lz4' ? this.config.compressionLz4Level : codec === 'zstd' ? this.config.compressionZstdLevel : undefined;
    this.accumulator.compress = (builder) => compressBatch(builder, codec, level);
    this.accumulator.compressAsync = (builder) => compressBatchAsync(builder, codec, level);
    this.accumulator.asyncCompressionThreshold = ASYNC_COMPRESSION_THRESHOLD[codec];
    this.accumulator.decompress = decompressRecords;
  }

  /** Connects to the cluster (optional: the first send connects). Rejects if no bootstrap server answers. */
  async connect(): Promise<void> {
    this.ensureOpen();
    await this.connections.any();
  }

  /**
   * Sends a record. The promise resolves with its partition, offset and timestamp once the broker has
   * acknowledged it (per `acks`), or rejects with a typed KafkaError. With a callback, the callback gets
   * the outcome too, and the returned promise never causes an unhandled rejection.
   */
  send(record: ProducerRecord<K, V>, callback?: SendCallback): Promise<RecordMetadata> {
    let promise: Promise<RecordMetadata>;
    try {
      promise = this.doSend(record);
    } catch (e) {
      promise = Promise.reject(e);
    }
    if (callback !== undefined || this.interceptors.length > 0) {
      promise.then(
        (metadata) => {
          this.onAcknowledgement(metadata, null);
          callback?.(null, metadata);
        },
        (error: Error) => {
          this.onAcknowledgement(null, error);
          callback?.(error, null);
        },
      );
      // the caller chose a callback: the promise is theirs to ignore
      if (callback !== undefined) promise.catch(noop);
    }
    return promise;
  }

  private doSend(input: ProducerRecord<K, V>): Promise<RecordMetadata> {
    this.ensureOpen();
    let record = input;
    for (const interceptor of this.interceptors) {
      if (interceptor.onSend === undefined) continue;
      try {
        record = interceptor.onSend(record) ?? record;
      } catch (e) {
        warn(`interceptor onSend threw; skipped: ${(e as Error).message}`);
      }
    }
    if (record === null || typeof record !== 'object') throw new InvalidRecordError(`record must be an object, got ${describe(record)}`);
    const topic = record.topic;
    // one lookup serves both: a topic in metadata was validated on first use, so the regex is skipped
    const cached = typeof topic === 'string' ? this.metadata.topic(topic) : undefined;
    if (cached === undefined) {
      const topicProblem = validateTopicName(topic);
      if (topicProblem !== null) throw new InvalidRecordError(topicProblem);
    }
    const partition = record.partition;
    if (partition !== undefined && partition !== null && (!Number.isInteger(partition) || partition < 0)) {
      throw new InvalidRecordError(`partition must be a non-negative integer, got ${String(partition)}`);
    }
    const timestamp = toTimestamp(record.timestamp);
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
    // an uncached topic looks again: a refresh may have landed while we serialized
    let known = cached;
    if (known === undefined) known = this.metadata.touch(topic, now);
    else this.metadata.markUsed(topic, now);
    if (known !== undefined && (partition === undefined || partition < known.partitions.length)) {
      return this.append(known, partition, timestamp < 0 ? now : timestamp, key, value, headers, now, now + this.config.maxBlockMs);
    }
    // Java's send() blocks here; ours returns at once, so flush() must also wait for these sends
    const metadataKnown = this.metadata.waitForTopic(topic, partition, this.config.maxBlockMs, now);
    const appended = metadataKnown.then(noop, noop).then(() => {
      this.awaitingMetadata.delete(appended);
    });
    this.awaitingMetadata.add(appended);
    return metadataKnown.then((info) => {
      this.ensureOpen();
      const t = Date.now();
      // max.block.ms bounds the metadata wait and the memory wait together, as in Java
      return this.append(info, partition, timestamp < 0 ? t : timestamp, key, value, headers, t, now + this.config.maxBlockMs);
    });
  }

  private append(
    topic: TopicInfo,
    explicit: number | undefined,
    timestamp: number,
    key: Buffer | null,
    value: Buffer | null,
    headers: RecordHeader[] | null,
    now: number,
    deadlineMs: number,
  ): Promise<RecordMetadata> {
    const count = topic.partitions.length;
    let partition: number;
    let sticky: TopicInfo | null = null;
    if (explicit !== undefined && explicit !== null) {
      if (explicit >= count) return Promise.reject(new InvalidRecordError(`partition ${explicit} of topic ${topic.name} does not exist: it has ${count} partitions`));
      partition = explicit;
    } else if (this.customPartitioner !== undefined && (partition = this.customPartition(topic, key, value)) >= 0) {
      // the user's partitioner chose
    } else if (key !== null && !this.config.partitionerIgnoreKeys) {
      partition = partitionForKey(key, count);
    } else {
      partition = this.builtInPartitioner.partition(topic);
      sticky = topic;
    }
    // A shared executor (no closure and context per record): the hot path's cheapest promise.
    const promise = new Promise<RecordMetadata>(captureSettlers);
    const resolve = capturedResolve!;
    const reject = capturedReject!;
    capturedResolve = capturedReject = null;
    if (this.accumulator.append(topic.name, partition, timestamp, key, value, headers, resolve, reject, now, deadlineMs, sticky)) this.sender.wakeup();
    return promise;
  }

  /** Runs the custom partitioner; -1 hands the choice back to the built-in one. */
  private customPartition(topic: TopicInfo, key: Buffer | null, value: Buffer | null): number {
    const count = topic.partitions.length;
    const chosen = this.customPartitioner!.partition(topic.name, key, value, {
      partitionCountForTopic: (t) => this.metadata.topic(t)?.partitions.length ?? 0,
      availablePartitionsForTopic: (t) => (this.metadata.topic(t)?.partitions ?? []).filter((p) => p !== undefined && p.leaderId >= 0).map((p) => p.partition),
    });
    if (chosen === undefined || chosen === null || chosen === -1) return -1;
    if (!Number.isInteger(chosen) || chosen < 0 || chosen >= count) {
      throw new InvalidRecordError(`the custom partitioner chose partition ${String(chosen)} for topic ${topic.name}, which has ${count} partitions`);
    }
    return chosen;
  }

  private serialize(serializer: Serializer<any>, topic: string, data: unknown, what: 'key' | 'value'): Buffer | null {
    if (data === null || data === undefined) return null;
    try {
      return serializer.serialize(topic, data);
    } catch (e) {
      const error = new InvalidRecordError(`cannot serialize the ${what} for topic ${topic}: ${(e as Error).message}`);
      (error as { cause?: unknown }).cause = e;
      throw error;
    }
  }

  private onAcknowledgement(metadata: RecordMetadata | null, error: Error | null): void {
    for (const interceptor of this.interceptors) {
      if (interceptor.onAcknowledgement === undefined) continue;
      try {
        interceptor.onAcknowledgement(metadata, error);
      } catch (e) {
        warn(`interceptor onAcknowledgement threw; skipped: ${(e as Error).message}`);
      }
    }
  }

  /** Resolves when every record sent before this call has completed (succeeded or failed). */
  async flush(): Promise<void> {
    if (this.awaitingMetadata.size > 0) await Promise.all([...this.awaitingMetadata]);
    const done = this.accumulator.flush();
    this.sender.wakeup();
    await done;
  }

  /**
   * Flushes, then closes connections. With `timeoutMs`, records still pending after that long fail with
   * a ProducerClosedError; with 0 they fail at once. Sends after close() began are rejected.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.closePromise !== null) return this.closePromise;
    this.state = 'closing';
    this.closePromise = this.doClose(options.timeoutMs);
    return this.closePromise;
  }

  private async doClose(timeoutMs: number | undefined): Promise<void> {
    this.accumulator.close();
    const closed = new ProducerClosedError('the producer was closed before the record was sent');
    if (timeoutMs === undefined || timeoutMs > 0) {
      const flushed = this.flush();
      if (timeoutMs === undefined) await flushed;
      else {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([flushed, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
        clearTimeout(timer);
      }
    }
    this.accumulator.abortPending(closed);
    this.sender.abortQueued(closed);
    this.sender.abortInFlight(closed);
    this.sender.stop();
    this.metadata.close(closed);
    this.state = 'closed';
    try {
      this.customPartitioner?.close?.();
    } catch {
      // a failing partitioner must not keep the producer open
    }
    for (const i of this.interceptors) {
      try {
        i.close?.();
      } catch {
        // a failing interceptor must not keep the producer open
      }
    }
    await this.connections.close();
  }

  /** The Java producer's metrics by name (producer-metrics group), read without I/O. */
  metrics(): ProducerMetricsSnapshot {
    return this.producerMetrics.snapshot();
  }

  health(): ProducerHealthSnapshot {
    const queued = this.accumulator.queuedStats();
    return {
      state: this.state,
      connectedBrokers: this.connections.connectedNodeIds(),
      knownBrokers: this.metadata.brokerCount,
      metadataAgeMs: this.metadata.ageMs(),
      queuedRecords: queued.records,
      queuedBytes: queued.bytes,
      inFlightRequests: this.sender.inFlightRequests,
      lastError: this.sender.lastError ?? this.metadata.lastError,
    };
  }

  private ensureOpen(): void {
    if (this.state !== 'running') throw new ProducerClosedError('cannot send: the producer is closing or closed');
  }
}

function noop(): void {}

let capturedResolve: ((metadata: RecordMetadata) => void) | null = null;
let capturedReject: ((error: Error) => void) | null = null;
function captureSettlers(resolve: (metadata: RecordMetadata) => void, reject: (error: Error) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

function warn(message: string): void {
  process.emitWarning(message, { code: 'KAFKA_PRODUCER' });
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

function toHeaders(headers: ProducerRecordHeaders | undefined): RecordHeader[] | null {
  if (headers === undefined || headers === null) return EMPTY_HEADERS;
  const out: RecordHeader[] = [];
  if (Array.isArray(headers)) {
    for (const pair of headers as ReadonlyArray<readonly [string, HeaderValue]>) {
      if (!Array.isArray(pair) || typeof pair[0] !== 'string') throw new InvalidRecordError('headers given as a list must be [key, value] pairs with string keys');
      out.push({ key: pair[0], value: headerValue(pair[0], pair[1]) });
    }
  } else if (typeof headers === 'object') {
    for (const [k, v] of Object.entries(headers)) {
      if (Array.isArray(v)) for (const one of v) out.push({ key: k, value: headerValue(k, one) });
      else out.push({ key: k, value: headerValue(k, v as HeaderValue) });
    }
  } else {
    throw new InvalidRecordError(`headers must be a list of pairs or an object, got ${describe(headers)}`);
  }
  return out.length === 0 ? EMPTY_HEADERS : out;
}

