import type { KafkaProduceConfigSource } from '@app/nestjs-kafka-producer';

/** Boot stops with this when the environment cannot configure the app; the message names every bad variable. */
export class SampleConfigException extends Error {
  constructor(readonly problems: string[]) {
    super(`the sample app cannot start: ${problems.join('; ')}`);
    this.name = 'SampleConfigException';
  }
}

/**
 * The sample's configuration, read from the environment once, when Nest builds the provider (so a test
 * sets the variables before it compiles the module):
 * - KAFKA_BOOTSTRAP_SERVERS (required): `host:port[,host:port...]`; the app never guesses a broker, so a
 *   forgotten variable fails at boot instead of producing into somebody's local Kafka.
 * - PORT (default 3000), SAMPLE_TOPIC (default `orders`).
 *
 * It is also the KAFKA_PRODUCE_CONFIG source, so `@Produce({ topic: { config: 'SAMPLE_TOPIC' } })` gets
 * the same topic as everything else.
 */
export class SampleConfig implements KafkaProduceConfigSource {
  constructor(
    readonly bootstrapServers: string,
    readonly port: number,
    readonly topic: string,
  ) {}

  static fromEnv(env: NodeJS.ProcessEnv = process.env): SampleConfig {
    const problems: string[] = [];
    const bootstrapServers = env.KAFKA_BOOTSTRAP_SERVERS?.trim() ?? '';
    if (bootstrapServers === '') problems.push('KAFKA_BOOTSTRAP_SERVERS is not set (e.g. KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092, or use `npm run start:sample`, which starts a local Kafka)');
    const portText = env.PORT?.trim() || '3000';
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`PORT must be an integer from 0 to 65535, not "${portText}"`);
    const topic = env.SAMPLE_TOPIC?.trim() || 'orders';
    if (problems.length > 0) throw new SampleConfigException(problems);
    return new SampleConfig(bootstrapServers, port, topic);
  }

  get(key: string): unknown {
    return key === 'SAMPLE_TOPIC' ? this.topic : undefined;
  }
}
