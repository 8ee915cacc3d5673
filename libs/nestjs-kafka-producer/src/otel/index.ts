/**
 * Optional OpenTelemetry integration (loads `@opentelemetry/api`, an optional peer): a span per
 * record from send to acknowledgement, with W3C trace context in the record headers.
 */
export { instrumentKafkaProducer } from './kafka-producer-tracing';
export type { KafkaProducerTracingOptions, TraceableProducer } from './kafka-producer-tracing';
