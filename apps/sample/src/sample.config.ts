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
 * - KAFKA_TRANSACTIONAL_ID (default `orders-sample-shipping`): the transactionalId of the shipping
 *   producer. It must be stable across restarts of one app instance (a restarted instance fences its
 *   predecessor and aborts what it left open) and different for every instance running at once (two
 *   instances with one id fence each other).
 * - SAMPLE_SHIPMENTS_TOPIC (default `shipments`), SAMPLE_INVOICES_TOPIC (default `invoices`): the two
 *   topics POST /orders/:id/ship writes to in one transaction.
 *
 * It is also the KAFKA_PRODUCE_CONFIG source, so `@Produce({ topic: { config: 'SAMPLE_TOPIC' } })` gets
 * the same topic as everything else.
 */
export class SampleConfig implements KafkaProduceConfigSource {
  constructor(
    readonly bootstrapServers: string,
    readonly port: number,
    readonly topic: string,
    readonly transactionalId: string = 'orders-sample-shipping',
    readonly shipmentsTopic: string = 'shipments',
    readonly invoicesTopic: string = 'invoices',
  ) {}

  static fromEnv(env: NodeJS.ProcessEnv = process.env): SampleConfig {
    const problems: string[] = [];
    const bootstrapServers = env.KAFKA_BOOTSTRAP_SERVERS?.trim() ?? '';
    if (bootstrapServers === '') problems.push('KAFKA_BOOTSTRAP_SERVERS is not set (e.g. KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092, or use `npm run start:sample`, which starts a local Kafka)');
    const portText = env.PORT?.trim() || '3000';
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`PORT must be an integer from 0 to 65535, not "${portText}"`);
    const topic = env.SAMPLE_TOPIC?.trim() || 'orders';
    const transactionalId = env.KAFKA_TRANSACTIONAL_ID?.trim() || 'orders-sample-shipping';
    const shipmentsTopic = env.SAMPLE_SHIPMENTS_TOPIC?.trim() || 'shipments';
    const invoicesTopic = env.SAMPLE_INVOICES_TOPIC?.trim() || 'invoices';
    if (problems.length > 0) throw new SampleConfigException(problems);
    return new SampleConfig(bootstrapServers, port, topic, transactionalId, shipmentsTopic, invoicesTopic);
  }

  get(key: string): unknown {
    const values: Record<string, string> = { SAMPLE_TOPIC: this.topic, SAMPLE_SHIPMENTS_TOPIC: this.shipmentsTopic, SAMPLE_INVOICES_TOPIC: this.invoicesTopic };
    return values[key];
  }
}
