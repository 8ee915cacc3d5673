export * from './sasl-mechanism';
export * from './sasl-authenticator';
export * from './plain';
export * from './scram';
export * from './oauthbearer';
