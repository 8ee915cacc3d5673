export * from './record-batch';
export * from './record-batch-builder';
export * from './record-batch-decoder';
