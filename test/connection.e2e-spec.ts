import { KafkaProducer } from '@app/kafka-producer';
import { Connection } from '@app/kafka-producer/network/connection';
import { ConnectionError } from '@app/kafka-producer/network/errors';
import { ApiVersionsApi } from '@app/kafka-producer/protocol/messages/api-versions.generated';
import { MetadataApi } from '@app/kafka-producer/protocol/messages/metadata.generated';
import { KafkaCluster } from '@app/kafka-testing';
import { uniqueTopic } from './support/round-trip';

/** The connection layer against a real broker that dies, and bootstrap over a list with dead entries. */
describe('connections to a real broker', () => {
  let cluster: KafkaCluster;

  beforeAll(async () => {
    cluster = await KafkaCluster.start({ nodes: 1 });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('uses the next bootstrap address when the first host is unknown or refuses connections', async () => {
    const topic = uniqueTopic('bootstrap');
    await cluster.createTopic({ name: topic, partitions: 1, replicationFactor: 1 });
    const producer = new KafkaProducer({
      bootstrapServers: ['no-such-broker.invalid:9092', '127.0.0.1:1', ...cluster.bootstrapServers],
      socketConnectionSetupTimeoutMs: 3000,
    });
    try {
      await expect(producer.send({ topic, value: 'via the third address' })).resolves.toMatchObject({ topic, offset: 0n });
    } finally {
      await producer.close();
    }
  });

  it('fails with one error naming every address when no bootstrap server answers', async () => {
    const producer = new KafkaProducer({ bootstrapServers: ['no-such-broker.invalid:9092', '127.0.0.1:1'], maxBlockMs: 3000 });
    try {
      await expect(producer.connect()).rejects.toThrow(/no-such-broker\.invalid:9092.*127\.0\.0\.1:1/s);
    } finally {
      await producer.close();
    }
  });

  it('rejects every pending request promptly with a ConnectionError when the broker is killed mid-request', async () => {
    const [host, port] = cluster.bootstrapServers[0].split(':');
    const connection = new Connection({ host, port: Number(port), clientId: 'e2e', requestTimeoutMs: 60_000 });
    await connection.connect();
    const versions = await connection.request(ApiVersionsApi, 3, { clientSoftwareName: 'e2e', clientSoftwareVersion: '1' });
    expect(versions.errorCode).toBe(0);
    const metadataVersion = Math.min(12, versions.apiKeys.find((k) => k.apiKey === 3)!.maxVersion);

    // freeze the broker so the requests stay unanswered, then kill it
    cluster.pause(1);
    await cluster.waitUntilPaused(1);
    const pending = Array.from({ length: 5 }, () =>
      connection.request(MetadataApi, metadataVersion, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }),
    );
    const outcomes = Promise.allSettled(pending);
    await new Promise((r) => setTimeout(r, 300));
    expect(connection.inFlightCount).toBe(5);
    const killedAt = Date.now();
    await cluster.kill(1);
    const results = await outcomes;
    const elapsed = Date.now() - killedAt;
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const reason = (r as PromiseRejectedResult).reason;
      expect(reason).toBeInstanceOf(ConnectionError);
      expect(reason.retriable).toBe(true);
      expect(String(reason.message)).toContain(`${host}:${port}`);
    }
    // promptly: on the socket close, long before the 60 s request timeout
    expect(elapsed).toBeLessThan(10_000);
    await expect(connection.request(ApiVersionsApi, 3, { clientSoftwareName: 'e2e', clientSoftwareVersion: '1' })).rejects.toBeInstanceOf(ConnectionError);
    await cluster.restart(1);
  }, 120_000);
});
