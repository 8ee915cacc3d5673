import type { ProducerRecordHeaders } from '@app/kafka-producer';

// a brand, not only instanceof: an app that ends up with two copies of this package still recognises its records
const KAFKA_RECORD = Symbol.for('nestjs-kafka-wire-producer.KafkaRecord');

/** What a KafkaRecord carries besides its value. */
export interface KafkaRecordOptions<K = unknown> {
  readonly key?: K;
  readonly headers?: ProducerRecordHeaders;
  readonly partition?: number;
  readonly timestamp?: number | bigint | Date;
}

/**
 * An `emit()` payload that says explicitly what is key, headers, partition and timestamp. Only a
 * KafkaRecord does: any other payload is the value as a whole, even an object that happens to have
 * `key` or `value` fields (Nest's ClientKafka guesses from that shape and mangles such objects).
 * Build one with KafkaRecordBuilder.
 */
export class KafkaRecord<V = unknown, K = unknown> implements KafkaRecordOptions<K> {
  readonly [KAFKA_RECORD] = true;
  // declared only: an unset field must be absent (not an own property holding undefined)
  declare readonly key?: K;
  declare readonly headers?: ProducerRecordHeaders;
  declare readonly partition?: number;
  declare readonly timestamp?: number | bigint | Date;

  constructor(
    readonly value: V,
    options: KafkaRecordOptions<K> = {},
  ) {
    // absent fields stay absent, so the producer applies its own defaults (partitioner, send time)
    const self = this as { -readonly [F in keyof KafkaRecordOptions<K>]: KafkaRecordOptions<K>[F] };
    if (options.key !== undefined) self.key = options.key;
    if (options.headers !== undefined) self.headers = options.headers;
    if (options.partition !== undefined) self.partition = options.partition;
    if (options.timestamp !== undefined) self.timestamp = options.timestamp;
    Object.freeze(this);
  }

  static isKafkaRecord(payload: unknown): payload is KafkaRecord {
    return payload instanceof KafkaRecord || (typeof payload === 'object' && payload !== null && (payload as Record<symbol, unknown>)[KAFKA_RECORD] === true);
  }
}

/**
 * Nest's record-builder idiom (as RmqRecordBuilder, MqttRecordBuilder) for Kafka:
 *
 *   client.emit('orders', new KafkaRecordBuilder(order).setKey(order.id).setHeaders([['source', 'api']]).build())
 *
 * The builder can be reused: build() takes a snapshot.
 */
export class KafkaRecordBuilder<V = unknown, K = unknown> {
  private options: { key?: K; headers?: ProducerRecordHeaders; partition?: number; timestamp?: number | bigint | Date } = {};

  constructor(private value?: V) {}

  setValue(value: V): this {
    this.value = value;
    return this;
  }

  setKey(key: K): this {
    this.options.key = key;
    return this;
  }

  setHeaders(headers: ProducerRecordHeaders): this {
    this.options.headers = headers;
    return this;
  }

  /** An explicit partition; without one the producer's partitioner chooses (by key, or sticky). */
  setPartition(partition: number): this {
    this.options.partition = partition;
    return this;
  }

  /** Milliseconds since the epoch (number, bigint or Date); default the time of the send. */
  setTimestamp(timestamp: number | bigint | Date): this {
    this.options.timestamp = timestamp;
    return this;
  }

  build(): KafkaRecord<V, K> {
    return new KafkaRecord<V, K>(this.value as V, { ...this.options });
  }
}
