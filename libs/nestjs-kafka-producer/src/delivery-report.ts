import type { DeliveryFailure, RecordMetadata } from '@app/kafka-producer';

/**
 * A delivery report that survives JSON.stringify: the offset is a decimal string (a bigint would throw),
 * everything else as the producer reports it. This is what the Nest layer hands out (send(), send$(),
 * deliveries$), since reports end up in HTTP bodies, SSE streams and health details.
 */
export interface KafkaDeliveryReport {
  readonly topic: string;
  readonly partition: number;
  /** The record's offset as a decimal string; "-1" with acks=0. */
  readonly offset: string;
  readonly timestamp: number;
  readonly serializedKeySize: number;
  readonly serializedValueSize: number;
}

/** A record that failed for good. */
export interface KafkaDeliveryError {
  readonly topic: string;
  /** -1 when the record failed before a partition was chosen. */
  readonly partition: number;
  readonly error: Error;
}

export function toDeliveryReport(m: RecordMetadata): KafkaDeliveryReport {
  return {
    topic: m.topic,
    partition: m.partition,
    offset: m.offset.toString(),
    timestamp: m.timestamp,
    serializedKeySize: m.serializedKeySize,
    serializedValueSize: m.serializedValueSize,
  };
}

export function toDeliveryError(f: DeliveryFailure): KafkaDeliveryError {
  return { topic: f.topic, partition: f.partition, error: f.error };
}
