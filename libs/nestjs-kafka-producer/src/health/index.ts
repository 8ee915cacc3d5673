/**
 * Terminus health for KafkaProducerModule producers (`@app/nestjs-kafka-producer/health`). The only
 * entry point that loads @nestjs/terminus, which stays an optional peer.
 */
export { KafkaProducerHealthIndicator, downReasons, toHealthDetails } from './kafka-producer-health.indicator';
export type { KafkaProducerHealthCheckOptions, KafkaProducerHealthDetails } from './kafka-producer-health.indicator';
export { KafkaProducerHealthModule, InjectKafkaProducerHealthIndicator, getKafkaProducerHealthIndicatorToken } from './kafka-producer-health.module';
export type { KafkaProducerHealthModuleOptions } from './kafka-producer-health.module';
