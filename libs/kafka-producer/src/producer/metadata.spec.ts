import type { MetadataResponse } from '../protocol/messages/metadata.generated';
import type { BrokerAddress, ClusterConnections, NodeConnection } from './cluster-connections';
import { Metadata, validateTopicName, type MetadataListener } from './metadata';
import { ProducerTopics, type TopicState } from './topic-state';

/** A cluster whose Metadata answers come from the test. */
function fakeCluster(answer: (topics: string[]) => MetadataResponse): { connections: ClusterConnections; requests: string[][] } {
  const requests: string[][] = [];
  const node = {
    versionFor: () => 12,
    request: async (_api: unknown, _v: number, body: { topics: Array<{ name: string }> }) => {
      const names = body.topics.map((t) => t.name);
      requests.push(names);
      return answer(names);
    },
  } as unknown as NodeConnection;
  const connections: ClusterConnections = {
    ready: () => node,
    any: async () => node,
    updateNodes: (_nodes: readonly BrokerAddress[]) => undefined,
    connectedNodeIds: () => [1],
    nodeError: () => null,
    connectionDelay: () => 0,
    close: async () => undefined,
  };
  return { connections, requests };
}

const options = { metadataMaxAgeMs: 300000, metadataMaxIdleMs: 5000, retryBackoffMs: 10, retryBackoffMaxMs: 20, requestTimeoutMs: 1000, allowAutoCreateTopics: true };
const broker = { nodeId: 1, host: '127.0.0.1', port: 9092, rack: null };
const topicAnswer = (name: string, partitions: number, errorCode = 0, leaderId = 1, leaderEpoch = 3) => ({
  errorCode,
  name,
  topicId: Buffer.alloc(16, 1),
  isInternal: false,
  partitions: Array.from({ length: partitions }, (_, i) => ({ errorCode: 0, partitionIndex: i, leaderId, leaderEpoch, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] })),
  topicAuthorizedOperations: 0,
});
const response = (topics: MetadataResponse['topics'], brokers = [broker]): MetadataResponse => ({ brokers, topics, throttleTimeMs: 0, clusterId: 'c', controllerId: 1, errorCode: 0 });

/** Metadata over a fake cluster, with its listener calls recorded; `update()` refreshes and waits. */
function setup(answer: (topics: string[]) => MetadataResponse) {
  const { connections, requests } = fakeCluster(answer);
  const topics = new ProducerTopics();
  const events = { updates: 0, topicErrors: [] as Array<[string, Error]>, refreshErrors: [] as Error[], expired: [] as string[] };
  let updated: () => void = () => undefined;
  const listener: MetadataListener = {
    onUpdate: () => {
      events.updates++;
      updated();
    },
    onTopicError: (t: TopicState, e) => {
      events.topicErrors.push([t.name, e]);
      updated();
    },
    onRefreshError: (e) => {
      events.refreshErrors.push(e);
      updated();
    },
    onTopicExpired: (t) => events.expired.push(t),
  };
  const md = new Metadata(connections, topics, options, listener);
  const update = (): Promise<void> =>
    new Promise((resolve) => {
      updated = resolve;
      md.requestUpdate();
    });
  return { md, topics, events, requests, update };
}

describe('Metadata', () => {
  it('fetches the topics in use and indexes their partitions by leader', async () => {
    const { md, topics, requests, update } = setup((names) => response(names.map((t) => topicAnswer(t, 3))));
    const orders = topics.getOrCreate('orders');
    for (const p of [0, 1, 2]) orders.partition(p);
    await update();
    expect(md.topic('orders')!.partitions).toHaveLength(3);
    expect(topics.leaderFor('orders', 2)).toBe(1);
    expect(topics.partitionsLedBy(1).map((ps) => ps.partition)).toEqual([0, 1, 2]);
    expect(requests).toEqual([['orders']]);
    md.close();
  });

  it('reports a topic the broker calls invalid to the listener, and keeps retrying retriable ones', async () => {
    const { md, topics, events, update } = setup((names) => response(names.map((t) => topicAnswer(t, 0, t === 'bad' ? 17 : 5))));
    topics.getOrCreate('bad');
    topics.getOrCreate('pending');
    await update();
    expect(events.topicErrors.map(([t, e]) => [t, e.message.includes('INVALID_TOPIC_EXCEPTION')])).toEqual([['bad', true]]);
    expect(md.topic('pending')).toBeUndefined();
    md.close();
  });

  it('never moves a partition back to an older leader epoch (KIP-320)', async () => {
    let epoch = 3;
    let leader = 1;
    const brokers = [broker, { ...broker, nodeId: 2, port: 9093 }];
    const { md, topics, update } = setup((names) => response(names.map((t) => topicAnswer(t, 1, 0, leader, epoch)), brokers));
    topics.getOrCreate('t').partition(0);
    await update();
    // a Produce response's leader hint: node 2 leads at epoch 5
    md.updateLeader('t', 0, 2, 5);
    expect(topics.leaderFor('t', 0)).toBe(2);
    // a broker that has not heard of the change still answers epoch 4 with node 1
    epoch = 4;
    await update();
    expect(topics.leaderFor('t', 0)).toBe(2);
    // a newer answer moves it
    epoch = 6;
    leader = 1;
    await update();
    expect(topics.leaderFor('t', 0)).toBe(1);
    md.close();
  });

  it('applies newer leader hints and ignores stale ones', async () => {
    const { md, topics, update } = setup((names) => response(names.map((t) => topicAnswer(t, 1)), [broker, { ...broker, nodeId: 2, port: 9093 }]));
    topics.getOrCreate('t').partition(0);
    await update();
    md.updateLeader('t', 0, 2, 2);
    expect(topics.leaderFor('t', 0)).toBe(1);
    md.updateLeader('t', 0, 2, 4);
    expect(topics.leaderFor('t', 0)).toBe(2);
    expect(topics.partitionsLedBy(2).map((ps) => `${ps.topic}-${ps.partition}`)).toEqual(['t-0']);
    md.close();
  });

  it('drops topics idle for metadataMaxIdleMs, unless records wait for them', async () => {
    const { md, topics, events, update } = setup((names) => response(names.map((t) => topicAnswer(t, 1))));
    const t0 = Date.now();
    topics.getOrCreate('idle').lastUsedMs = t0;
    topics.getOrCreate('awaited').lastUsedMs = t0;
    await update();
    const waiting = (t: TopicState): boolean => t.name === 'awaited';
    md.maybeRefreshForAge(t0 + 4000, waiting);
    expect(md.topic('idle')).toBeDefined();
    md.maybeRefreshForAge(t0 + 5001, waiting);
    expect(md.topic('idle')).toBeUndefined();
    expect(topics.get('awaited')).toBeDefined();
    expect(events.expired).toEqual(['idle']);
    md.close();
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
