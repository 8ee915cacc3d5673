import type { ProducerRecord, RecordMetadata } from './types';

/**
 * Java's ProducerInterceptor: `onSend` sees (and may replace) each record before serialization;
 * `onAcknowledgement` sees every record's outcome. A throwing interceptor is logged and skipped.
 */
export interface ProducerInterceptor<K = unknown, V = unknown> {
  onSend?(record: ProducerRecord<K, V>): ProducerRecord<K, V>;
  onAcknowledgement?(metadata: RecordMetadata | null, error: Error | null): void;
  close?(): void;
}
