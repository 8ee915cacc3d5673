/** A header value as callers give it; strings are sent as UTF-8. */
export type HeaderValue = Buffer | string | null;

/**
 * Headers as a list of [key, value] pairs (several pairs may share a key, as Kafka allows) or as an
 * object (one value per key, or an array of values for repeated keys).
 */
export type ProducerRecordHeaders = ReadonlyArray<readonly [string, HeaderValue]> | Readonly<Record<string, HeaderValue | readonly HeaderValue[]>>;

export interface ProducerRecord<K = Buffer | string | null, V = Buffer | string | null> {
  topic: string;
  key?: K;
  /** null sends a record without a value (a tombstone); undefined is refused with InvalidRecordError. */
  value: V;
  headers?: ProducerRecordHeaders;
  /** Explicit partition; when absent the partitioner chooses. */
  partition?: number;
  /** Milliseconds since the epoch (number, bigint or Date); defaults to the time of send(). */
  timestamp?: number | bigint | Date;
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  /** The record's offset in the partition; -1 when acks=0 (the broker does not say). */
  offset: bigint;
  /** The record's timestamp: CreateTime as sent, or the broker's LogAppendTime if the topic uses it. */
  timestamp: number;
  serializedKeySize: number;
  serializedValueSize: number;
}

export type SendCallback = (error: Error | null, metadata: RecordMetadata | null) => void;
