import { KafkaCluster } from '@app/kafka-testing';
import { pipelineSuite } from './support/pipeline-suite';
import { roundTrip, uniqueTopic } from './support/round-trip';

/** The same promise on a 3-node cluster with replicated topics: records spread over three leaders. */
describe('producing to a 3-node cluster, verified by the Java consumer', () => {
  let cluster: KafkaCluster;

  beforeAll(async () => {
    cluster = await KafkaCluster.start({ nodes: 3 });
  }, 240_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('round-trips every record shape to partitions led by different brokers, acks=all with min.insync.replicas=2', async () => {
    const topic = uniqueTopic('three-node');
    await cluster.createTopic({ name: topic, partitions: 6, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
    const meta = await cluster.metadata([topic]);
    const leaders = new Set(meta.topics[0].partitions.map((p) => p.leaderId));
    expect(leaders.size).toBeGreaterThan(1);
    const { sent } = await roundTrip(cluster, topic, 6);
    expect(new Set(sent.map((s) => s.metadata.partition)).size).toBeGreaterThan(1);
  });

  describe('the producer pipeline on 3 nodes', () => {
    pipelineSuite(() => cluster);
  });
});
