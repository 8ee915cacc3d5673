import { KafkaCluster } from '@app/kafka-testing';
import { roundTrip, uniqueTopic } from './support/round-trip';

/**
 * Version negotiation against an older broker: Kafka 3.9.1 still accepts protocol versions that 4.x
 * removed and has no Produce v13, so the same round trip proves we pick what both sides speak.
 * Runs when the 3.9.1 jars are fetched (`KAFKA_VERSION=3.9.1 npm run kafka:fetch`; CI does) or when
 * KAFKA_COMPAT_VERSION names another version.
 */
const version = process.env.KAFKA_COMPAT_VERSION ?? '3.9.1';

describe(`producing to a Kafka ${version} broker (older protocol versions)`, () => {
  let cluster: KafkaCluster;

  beforeAll(async () => {
    cluster = await KafkaCluster.start({ nodes: 1, version });
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('negotiates versions both sides speak and round-trips every record shape', async () => {
    const topic = uniqueTopic('compat');
    await cluster.createTopic({ name: topic, partitions: 2, replicationFactor: 1 });
    const { sent } = await roundTrip(cluster, topic, 2);
    expect(sent.length).toBeGreaterThan(500);
  });
});
