export * from './address';
export * from './errors';
export * from './connection';
export * from './version-negotiation';
export * from './broker-connection';
export * from './bootstrap';
export * from './connection-pool';
