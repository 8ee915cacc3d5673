export * from './kafka-error';
