import type { ProducerRecord, RecordMetadata } from '@app/kafka-producer';

/**
 * A producer interceptor written as a Nest provider (`@Injectable()`, singleton; it may inject other
 * services). Same semantics as the producer's own interceptors, as in Java: `onSend` may return a
 * changed record; `onAcknowledgement` sees every outcome; whatever either throws is logged and never
 * breaks the send. Request context is reachable through AsyncLocalStorage (onSend runs inside the
 * caller's send()); a request-scoped dependency would make the producer request-scoped.
 */
export interface KafkaProducerInterceptor<K = any, V = any> {
  onSend?(record: ProducerRecord<K, V>): ProducerRecord<K, V> | void;
  onAcknowledgement?(metadata: RecordMetadata | null, error: Error | null): void;
}
