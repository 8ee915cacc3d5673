import type { MetadataResponse } from '../protocol/messages/metadata.generated';
import type { BrokerAddress, ClusterConnections, NodeConnection } from './cluster-connections';
import { InvalidRecordError, KafkaTimeoutError } from './errors';
import { Metadata, validateTopicName } from './metadata';

/** A cluster whose Metadata answers come from the test. */
function fakeCluster(answer: (topics: string[]) => MetadataResponse): { connections: ClusterConnections; requests: string[][] } {
  const requests: string[][] = [];
  const node = {
    versionFor: () => 12,
    connection: {
      request: async (_api: unknown, _v: number, body: { topics: Array<{ name: string }> }) => {
        const names = body.topics.map((t) => t.name);
        requests.push(names);
        return answer(names);
      },
    },
  } as unknown as NodeConnection;
  const connections: ClusterConnections = {
    ready: () => node,
    any: async () => node,
    updateNodes: (_nodes: readonly BrokerAddress[]) => undefined,
    connectedNodeIds: () => [1],
    close: async () => undefined,
  };
  return { connections, requests };
}

const options = { metadataMaxAgeMs: 300000, metadataMaxIdleMs: 5000, retryBackoffMs: 10, retryBackoffMaxMs: 20, requestTimeoutMs: 1000, allowAutoCreateTopics: true };
const broker = { nodeId: 1, host: '127.0.0.1', port: 9092, rack: null };
const topicAnswer = (name: string, partitions: number, errorCode = 0, leaderId = 1) => ({
  errorCode,
  name,
  topicId: Buffer.alloc(16, 1),
  isInternal: false,
  partitions: Array.from({ length: partitions }, (_, i) => ({ errorCode: 0, partitionIndex: i, leaderId, leaderEpoch: 3, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] })),
  topicAuthorizedOperations: 0,
});

describe('Metadata', () => {
  it('fetches a topic on first use, then answers from memory and indexes partitions by leader', async () => {
    const { connections, requests } = fakeCluster((topics) => ({ brokers: [broker], topics: topics.map((t) => topicAnswer(t, 3)), throttleTimeMs: 0, clusterId: 'c', controllerId: 1, errorCode: 0 }));
    const md = new Metadata(connections, options, () => undefined);
    const info = await md.waitForTopic('orders', undefined, 1000, Date.now());
    expect(info.partitions).toHaveLength(3);
    expect(md.touch('orders', Date.now())).toBe(info);
    expect(md.leaderFor('orders', 2)).toBe(1);
    expect(md.partitionsLedBy(1).map((tp) => tp.partition)).toEqual([0, 1, 2]);
    expect(requests).toEqual([['orders']]);
    md.close(new Error('closed'));
  });

  it('keeps waiting through retriable topic errors (auto-creation) and times out naming the topic', async () => {
    const { connections } = fakeCluster((topics) => ({ brokers: [broker], topics: topics.map((t) => topicAnswer(t, 0, 5)), throttleTimeMs: 0, errorCode: 0 }));
    const md = new Metadata(connections, options, () => undefined);
    const error = await md.waitForTopic('pending', undefined, 100, Date.now()).catch((e: Error) => e);
    expect(error).toBeInstanceOf(KafkaTimeoutError);
    expect((error as Error).message).toBe('Topic pending not present in metadata after 100 ms.');
    md.close(new Error('closed'));
  });

  it('fails at once for a topic the broker calls invalid', async () => {
    const { connections } = fakeCluster((topics) => ({ brokers: [broker], topics: topics.map((t) => topicAnswer(t, 0, 17)), throttleTimeMs: 0, errorCode: 0 }));
    const md = new Metadata(connections, options, () => undefined);
    await expect(md.waitForTopic('bad', undefined, 5000, Date.now())).rejects.toThrow(/INVALID_TOPIC_EXCEPTION/);
    md.close(new Error('closed'));
  });

  it('fails fast for a partition that fresh metadata says does not exist', async () => {
    const { connections } = fakeCluster((topics) => ({ brokers: [broker], topics: topics.map((t) => topicAnswer(t, 2)), throttleTimeMs: 0, errorCode: 0 }));
    const md = new Metadata(connections, options, () => undefined);
    await expect(md.waitForTopic('t', 7, 5000, Date.now())).rejects.toThrow(InvalidRecordError);
    md.close(new Error('closed'));
  });

  it('applies newer leader hints and ignores stale ones', async () => {
    const { connections } = fakeCluster((topics) => ({ brokers: [broker, { ...broker, nodeId: 2, port: 9093 }], topics: topics.map((t) => topicAnswer(t, 1)), throttleTimeMs: 0, errorCode: 0 }));
    const md = new Metadata(connections, options, () => undefined);
    await md.waitForTopic('t', undefined, 1000, Date.now());
    md.updateLeader('t', 0, 2, 2);
    expect(md.leaderFor('t', 0)).toBe(1);
    md.updateLeader('t', 0, 2, 4);
    expect(md.leaderFor('t', 0)).toBe(2);
    expect(md.partitionsLedBy(2)).toEqual([{ topic: 't', partition: 0 }]);
    md.close(new Error('closed'));
  });

  it('drops topics idle for metadataMaxIdleMs', async () => {
    const { connections } = fakeCluster((topics) => ({ brokers: [broker], topics: topics.map((t) => topicAnswer(t, 1)), throttleTimeMs: 0, errorCode: 0 }));
    const md = new Metadata(connections, options, () => undefined);
    const t0 = Date.now();
    await md.waitForTopic('idle', undefined, 1000, t0);
    md.maybeRefreshForAge(t0 + 4000);
    expect(md.topic('idle')).toBeDefined();
    md.maybeRefreshForAge(t0 + 5001);
    expect(md.topic('idle')).toBeUndefined();
    md.close(new Error('closed'));
  });

  it('validates topic names like Java', () => {
    expect(validateTopicName('orders.v1_x-y')).toBeNull();
    expect(validateTopicName('')).toMatch(/empty/);
    expect(validateTopicName('..')).toMatch(/not allowed/);
    expect(validateTopicName('a'.repeat(250))).toMatch(/more than 249/);
    expect(validateTopicName('a b')).toMatch(/characters other than/);
    expect(validateTopicName(42)).toMatch(/must be a string/);
  });
});
