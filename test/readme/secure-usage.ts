// The code of README.md's "Connecting to a secured cluster" section. The typecheck compiles it, and
// test/nest-security-readme.e2e-spec.ts checks that the README's code blocks are copied from here (with
// the package names the README uses in place of the workspace aliases). Nothing imports it: its
// producers read certificates that exist only on the reader's machine.

// readme:begin tls
import * as fs from 'node:fs';
import { KafkaProducer } from '@app/kafka-producer';

// TLS, the brokers' certificates checked against your CA (leave `ca` out for the system's CAs)
export const overTls = new KafkaProducer({
  bootstrapServers: ['broker-1.example.com:9093', 'broker-2.example.com:9093'],
  ssl: { ca: fs.readFileSync('/etc/kafka/ca.pem') },
});

// mutual TLS: the brokers also check the client's certificate
export const mutualTls = new KafkaProducer({
  bootstrapServers: ['broker-1.example.com:9093'],
  ssl: {
    ca: fs.readFileSync('/etc/kafka/ca.pem'),
    cert: fs.readFileSync('/etc/kafka/client.pem'),
    key: fs.readFileSync('/etc/kafka/client.key'),
    passphrase: process.env.KAFKA_SSL_KEY_PASSPHRASE, // when the key is encrypted
    minVersion: 'TLSv1.3',
  },
});
// readme:end

// readme:begin sasl
// SCRAM over TLS; PLAIN and SCRAM-SHA-256 are spelled the same way
export const scram = new KafkaProducer({
  bootstrapServers: ['broker-1.example.com:9094'],
  securityProtocol: 'SASL_SSL', // optional: implied by ssl + sasl, and checked against them when given
  ssl: { ca: fs.readFileSync('/etc/kafka/ca.pem') },
  sasl: { mechanism: 'SCRAM-SHA-512', username: 'orders', password: process.env.KAFKA_SASL_PASSWORD ?? '' },
});

// a rotated password: the provider is asked at every authentication (new connection or re-authentication)
export const rotating = new KafkaProducer({
  bootstrapServers: ['broker-1.example.com:9094'],
  ssl: true,
  sasl: {
    mechanism: 'SCRAM-SHA-256',
    credentials: async () => ({ username: 'orders', password: (await fs.promises.readFile('/run/secrets/kafka-password', 'utf8')).trim() }),
  },
});
// readme:end

/** Your identity provider's client (an OAuth 2 client-credentials grant, a workload identity, ...). */
declare function fetchAccessToken(): Promise<{ accessToken: string; expiresInSeconds: number }>;

// readme:begin oauthbearer
export const oauth = new KafkaProducer({
  bootstrapServers: ['broker-1.example.com:9094'],
  ssl: true,
  sasl: {
    mechanism: 'OAUTHBEARER',
    // reused until 80% of lifetimeMs has passed, then asked again; without lifetimeMs, asked every time
    oauthBearerProvider: async () => {
      const token = await fetchAccessToken();
      return { value: token.accessToken, lifetimeMs: token.expiresInSeconds * 1000 };
    },
  },
});
// readme:end

// readme:begin errors
import {
  BootstrapError,
  ConnectionError,
  SaslAuthenticationError,
  TopicAuthorizationError,
  TransactionalIdAuthorizationError,
  UnsupportedSaslMechanismError,
} from '@app/kafka-producer';

export function explain(err: unknown): string {
  // connect() names every bootstrap server it tried; the last one's error is the cause
  const e = err instanceof BootstrapError ? err.cause : err;
  if (e instanceof SaslAuthenticationError) return `login refused (${e.mechanism}): ${e.brokerMessage ?? 'no reason given'}`;
  if (e instanceof UnsupportedSaslMechanismError) return `${e.mechanism} is not enabled; the broker offers ${e.enabledMechanisms.join(', ')}`;
  if (e instanceof ConnectionError && e.code === 'TLS_HANDSHAKE_FAILED') return `TLS failed${e.retriable ? '' : ' (fix the certificate or TLS settings)'}: ${e.message}`;
  if (e instanceof TopicAuthorizationError) return `no ACL lets this principal write the topic: ${e.message}`;
  if (e instanceof TransactionalIdAuthorizationError) return `no ACL lets this principal use the transactionalId: ${e.message}`;
  return String(err);
}
// readme:end

// readme:begin nest
import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from './nestjs-config';
import { KafkaProducerModule } from '@app/nestjs-kafka-producer';

const kafkaConfig = () => ({
  kafka: {
    bootstrapServers: (process.env.KAFKA_BOOTSTRAP_SERVERS ?? '').split(','),
    username: process.env.KAFKA_SASL_USERNAME,
    password: process.env.KAFKA_SASL_PASSWORD,
    caFile: process.env.KAFKA_SSL_CA_FILE,
  },
});

@Module({
  imports: [
    ConfigModule.forRoot({ load: [kafkaConfig] }),
    KafkaProducerModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        bootstrapServers: config.getOrThrow<string[]>('kafka.bootstrapServers'),
        securityProtocol: 'SASL_SSL',
        // a Buffer or a PEM string reaches the producer as it is: the module validates it in place
        ssl: { ca: fs.readFileSync(config.getOrThrow<string>('kafka.caFile')) },
        sasl: { mechanism: 'SCRAM-SHA-512', username: config.getOrThrow<string>('kafka.username'), password: config.getOrThrow<string>('kafka.password') },
      }),
    }),
  ],
})
export class AppModule {}
// readme:end
