import { ExternalKafkaCluster, externalCluster } from './external-cluster';
import { kafkaVersionFromEnv } from './versions';

/**
 * The slice of @testcontainers/kafka (testcontainers ^11) used here, typed structurally so the
 * package stays optional: it is loaded with require() only when KAFKA_TEST_BROKER=container.
 */
interface StartedKafkaContainerLike {
  getHost(): string;
  getMappedPort(port: number): number;
  stop(): Promise<unknown>;
}

interface KafkaContainerLike {
  withKraft?(): KafkaContainerLike;
  start(): Promise<StartedKafkaContainerLike>;
}

interface KafkaModuleLike {
  KafkaContainer: new (image: string) => KafkaContainerLike;
}

/** The container's PLAINTEXT listener for clients outside Docker (both the Apache and Confluent flavours). */
const CLIENT_PORT = 9093;
const PACKAGE = '@testcontainers/kafka';

function loadModule(): KafkaModuleLike {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(PACKAGE) as KafkaModuleLike;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'MODULE_NOT_FOUND') {
      throw new Error(`kafka-testing: KAFKA_TEST_BROKER=container needs the optional package ${PACKAGE} (and a Docker engine): npm i -D ${PACKAGE} testcontainers`);
    }
    throw e;
  }
}

/**
 * Starts a single Kafka broker in Docker through Testcontainers. The image defaults to the official
 * apache/kafka image of the harness's Kafka version; KAFKA_TEST_CONTAINER_IMAGE overrides it.
 */
export async function containerCluster(options: { image?: string; version?: string; log?: (m: string) => void } = {}): Promise<ExternalKafkaCluster> {
  const { KafkaContainer } = loadModule();
  const image = options.image ?? process.env.KAFKA_TEST_CONTAINER_IMAGE ?? `apache/kafka:${options.version ?? kafkaVersionFromEnv()}`;
  let container = new KafkaContainer(image);
  // Confluent images start in ZooKeeper mode unless told otherwise; apache/kafka is KRaft only.
  if (image.includes('confluentinc/') && typeof container.withKraft === 'function') container = container.withKraft();
  options.log?.(`kafka-testing: starting ${image} with Testcontainers…`);
  const started = await container.start();
  const bootstrap = `${started.getHost()}:${started.getMappedPort(CLIENT_PORT)}`;
  try {
    return await externalCluster(bootstrap, { version: options.version, log: options.log, onStop: async () => void (await started.stop()) });
  } catch (e) {
    await started.stop().catch(() => undefined);
    throw e;
  }
}
