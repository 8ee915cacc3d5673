import { EventEmitter } from 'node:events';
import { KafkaError } from '../../src/errors';
import type { KafkaApi } from '../../src/protocol/messages/kafka-api';
import { MetadataApi, type MetadataRequest, type MetadataResponse } from '../../src/protocol/messages/metadata.generated';
import { AddOffsetsToTxnApi } from '../../src/protocol/messages/add-offsets-to-txn.generated';
import { AddPartitionsToTxnApi, type AddPartitionsToTxnRequest } from '../../src/protocol/messages/add-partitions-to-txn.generated';
import { EndTxnApi, type EndTxnRequest } from '../../src/protocol/messages/end-txn.generated';
import { FindCoordinatorApi, type FindCoordinatorRequest } from '../../src/protocol/messages/find-coordinator.generated';
import { InitProducerIdApi, type InitProducerIdRequest } from '../../src/protocol/messages/init-producer-id.generated';
import { TxnOffsetCommitApi, type TxnOffsetCommitRequest } from '../../src/protocol/messages/txn-offset-commit.generated';
import { ProduceApi, type ProduceResponse } from '../../src/protocol/messages/produce.generated';
import { Reader } from '../../src/protocol/primitives/reader';
import { Writer } from '../../src/protocol/primitives/writer';
import { decompressRecords } from '../../src/protocol/records/compression';
import { decodeRecordBatches } from '../../src/protocol/records/record-batch-decoder';
import type { BrokerAddress, ClusterConnections, NodeConnection } from '../../src/network/cluster-connections';
import type { NoResponseOptions, RequestApi, RequestOptions } from '../../src/network/connection';
import { ConnectionError, RequestTimeoutError, UnsupportedVersionError } from '../../src/network/errors';
import type { BodyEncoder } from '../../src/network/request-encoder';
import type { ApiDescriptor } from '../../src/network/version-negotiation';
import type { ProducerInternals } from '../../src/producer/internals';
import { KafkaProducer, type KafkaProducerOptions } from '../../src/producer/kafka-producer';
import type { ResolvedProducerConfig } from '../../src/producer/producer-config';

export interface BrokerSpec {
  readonly nodeId: number;
  readonly host?: string;
  readonly port?: number;
  readonly rack?: string | null;
}

export interface TopicSpec {
  readonly partitions: number;
  /** Leader node id per partition; default the brokers in turn. */
  readonly leaders?: readonly number[];
  /** Leader epoch per partition; default 0. */
  readonly epochs?: readonly number[];
}

export interface ScriptedClusterOptions {
  /** Node ids or full specs; default one broker, node 1. */
  readonly brokers?: ReadonlyArray<number | BrokerSpec>;
  /** Topic name to partition count or spec. */
  readonly topics?: Readonly<Record<string, number | TopicSpec>>;
  /**
   * Version the brokers negotiate per API key. Default: Produce 12 and Metadata 12, what a 4.3 broker
   * agrees with this client short of topic ids in Produce (v13 would need them in every answer).
   */
  readonly versions?: Readonly<Record<number, number>>;
  /** False: a broker is connected on the first ready() call instead of one macrotask later. */
  readonly asyncConnect?: boolean;
  /** The finalized transaction.version the brokers report (default 2). */
  readonly transactionVersion?: number;
}

/** How the broker answers one partition of a Produce request. */
export type PartitionOutcome =
  | 'ok'
  | {
      readonly errorCode: number;
      readonly message?: string;
      /** The leader hint of v10+ responses; its node goes into nodeEndpoints. */
      readonly currentLeader?: { readonly leaderId: number; readonly leaderEpoch: number };
    };

/** What happens to a whole request. */
export type RequestOutcome =
  /** Answered from the cluster's state and the partition scripts. */
  | 'answer'
  /** The connection drops: the request rejects with a retriable ConnectionError and nothing is written. */
  | 'disconnect'
  /** The broker handles the request (a Produce is written) but the connection drops before the answer. */
  | 'written-then-disconnect'
  /** No answer ever; like a real connection, it rejects with RequestTimeoutError after the request's timeout. */
  | 'never'
  | { readonly reject: Error };

export interface RequestMatch {
  readonly api?: 'Produce' | 'Metadata' | 'InitProducerId' | 'FindCoordinator' | 'AddPartitionsToTxn' | 'AddOffsetsToTxn' | 'TxnOffsetCommit' | 'EndTxn';
  readonly node?: number;
}

export interface RecordedPartition {
  readonly topic: string;
  readonly partition: number;
  readonly records: number;
  readonly values: Array<string | null>;
  /** The error code the broker answered for this partition; undefined until answered. */
  errorCode?: number;
}

export interface RecordedRequest {
  /** Arrival order over all requests, from 0. */
  readonly seq: number;
  readonly api: string;
  readonly apiKey: number;
  readonly version: number;
  readonly node: number;
  readonly at: number;
  /** Produce: acks of the request. */
  readonly acks?: number;
  /** Metadata: the topics asked for (null: all). */
  readonly topics?: string[] | null;
  /** Produce: what each partition carried. */
  readonly partitions: RecordedPartition[];
  /** Produce: the producer id, epoch and base sequence of each partition's batch, in order. */
  readonly batches?: Array<{ topic: string; partition: number; producerId: bigint; producerEpoch: number; baseSequence: number; isTransactional: boolean }>;
  /** Produce: the transactionalId of the request. Other APIs: the decoded body. */
  readonly transactionalId?: string | null;
  readonly body?: unknown;
  state: 'pending' | 'held' | 'answered' | 'disconnected' | 'rejected' | 'timed-out' | 'closed' | 'unanswered';
}

export interface LoggedRecord {
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly timestamp: bigint;
}

/** What a broker keeps per producer id and partition (ProducerStateEntry): the epoch and the last 5 batches. */
interface ProducerStateModel {
  epoch: number;
  batches: Array<{ firstSeq: number; lastSeq: number; baseOffset: number }>;
}

interface PartitionModel {
  readonly producers: Map<bigint, ProducerStateModel>;
  leader: number;
  epoch: number;
  /** What Metadata answers say; differs from the real leader while the answering broker is behind. */
  announcedLeader: number;
  announcedEpoch: number;
  readonly log: LoggedRecord[];
  readonly script: PartitionOutcome[];
}

interface TopicModel {
  readonly name: string;
  readonly topicId: Buffer;
  readonly partitions: PartitionModel[];
}

interface NodeModel {
  readonly address: BrokerAddress;
  up: boolean;
  connected: boolean;
  connecting: boolean;
  /** connectionDelay() while down. */
  downDelayMs: number;
  error: KafkaError | null;
  needsDrain: boolean;
  drainWaiters: Array<() => void>;
  readonly connection: ScriptedNodeConnection;
}

interface Pending {
  readonly request: RecordedRequest;
  readonly process: () => void;
  readonly fail: (error: Error) => void;
  timer: NodeJS.Timeout | null;
  done: boolean;
}

const UNKNOWN_TOPIC_OR_PARTITION = 3;
const NOT_LEADER_OR_FOLLOWER = 6;

/** Responses held until the test lets them go; see ScriptedCluster.hold. */
export class Hold {
  private readonly queue: Pending[] = [];
  private active = true;

  constructor(
    readonly match: RequestMatch,
    private readonly cluster: ScriptedCluster,
  ) {}

  /** Requests held right now. */
  get held(): number {
    return this.queue.filter((p) => !p.done).length;
  }

  get isActive(): boolean {
    return this.active;
  }

  /** @internal */
  take(p: Pending): boolean {
    if (!this.active) return false;
    p.request.state = 'held';
    this.queue.push(p);
    this.cluster.changed();
    return true;
  }

  /** Resolves once at least `n` requests are held. */
  waitForHeld(n: number, timeoutMs = 10_000): Promise<void> {
    return this.cluster.waitUntil(() => this.held >= n, () => `${n} held request(s) (held: ${this.held})`, timeoutMs);
  }

  /** Answers the oldest held request (as the script says); later ones stay held. */
  releaseNext(): void {
    for (;;) {
      const p = this.queue.shift();
      if (p === undefined) throw new Error('releaseNext: no request is held');
      if (p.done) continue;
      p.process();
      return;
    }
  }

  /** Answers every held request in arrival order and stops holding. */
  release(): void {
    this.active = false;
    for (const p of this.queue.splice(0)) if (!p.done) p.process();
  }
}

/**
 * A Kafka cluster played in memory behind the producer's ClusterConnections seam, so Sender and
 * KafkaProducer behaviour can be specified without sockets. Requests go through the real codecs both
 * ways (the body the producer encodes is decoded as a broker would, and the answer is encoded and then
 * decoded by the producer's own decoder), so a spec also catches a request the broker could not read.
 *
 * By default every broker is up, connects one macrotask after the producer first asks for it (and
 * then calls `onChange`, as the connection pool does), answers one macrotask after a request, and
 * appends every produced record to its partition's log. Scripts change that per partition, per
 * request, per node.
 */
export class ScriptedCluster implements ClusterConnections {
  /** Every request, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  /** Calls of ready(), for specs about how often the sender looks. */
  readyCalls = 0;
  /** Calls of any(). */
  anyCalls = 0;
  private readonly nodes = new Map<number, NodeModel>();
  private readonly topicModels = new Map<string, TopicModel>();
  private readonly versions: Map<number, number>;
  private readonly versionFailures: Array<{ apiKey: number; error: Error }> = [];
  private readonly requestScripts: Array<{ match: RequestMatch; outcome: RequestOutcome }> = [];
  private readonly holds: Hold[] = [];
  private readonly pending = new Set<Pending>();
  private readonly events = new EventEmitter();
  private readonly asyncConnect: boolean;
  readonly transactionVersion: number;
  private anyError: Error | null = null;
  private onChange: () => void = () => undefined;
  private config: ResolvedProducerConfig | null = null;
  private nextTopicId = 1;
  private closed = false;
  closeCalls = 0;

  constructor(options: ScriptedClusterOptions = {}) {
    this.events.setMaxListeners(0);
    this.asyncConnect = options.asyncConnect ?? true;
    this.transactionVersion = options.transactionVersion ?? 2;
    this.versions = new Map([
      [ProduceApi.apiKey, 12],
      [MetadataApi.apiKey, 12],
    ]);
    for (const [k, v] of Object.entries(options.versions ?? {})) this.versions.set(Number(k), v);
    for (const b of options.brokers ?? [1]) {
      const spec: BrokerSpec = typeof b === 'number' ? { nodeId: b } : b;
      const address: BrokerAddress = { nodeId: spec.nodeId, host: spec.host ?? `broker-${spec.nodeId}`, port: spec.port ?? 9092, rack: spec.rack ?? null };
      this.nodes.set(spec.nodeId, {
        address,
        up: true,
        connected: false,
        connecting: false,
        downDelayMs: Number.POSITIVE_INFINITY,
        error: null,
        needsDrain: false,
        drainWaiters: [],
        connection: new ScriptedNodeConnection(this, spec.nodeId, `${address.host}:${address.port}`),
      });
    }
    for (const [name, spec] of Object.entries(options.topics ?? {})) this.createTopic(name, spec);
  }

  /** The ProducerInternals that make a KafkaProducer use this cluster. */
  get internals(): ProducerInternals {
    return {
      connections: (config, onChange) => {
        this.config = config;
        this.onChange = onChange;
        return this;
      },
    };
  }


  createTopic(name: string, spec: number | TopicSpec): void {
    const s: TopicSpec = typeof spec === 'number' ? { partitions: spec } : spec;
    const brokerIds = [...this.nodes.keys()];
    const id = Buffer.alloc(16);
    id.writeUInt32BE(this.nextTopicId++, 12);
    const partitions: PartitionModel[] = [];
    for (let p = 0; p < s.partitions; p++) {
      const leader = s.leaders?.[p] ?? brokerIds[p % brokerIds.length];
      const epoch = s.epochs?.[p] ?? 0;
      partitions.push({ producers: new Map(), leader, epoch, announcedLeader: leader, announcedEpoch: epoch, log: [], script: [] });
    }
    this.topicModels.set(name, { name, topicId: id, partitions });
  }

  /**
   * Moves a partition's leadership. With `announce: false` Metadata answers keep naming the old
   * leader and epoch (the broker that answers is behind), while Produce requests to the old leader
   * get NOT_LEADER_OR_FOLLOWER with the new leader as hint.
   */
  moveLeader(topic: string, partition: number, leader: number, epoch: number, options: { announce?: boolean } = {}): void {
    const p = this.partitionModel(topic, partition);
    p.leader = leader;
    p.epoch = epoch;
    if (options.announce ?? true) {
      p.announcedLeader = leader;
      p.announcedEpoch = epoch;
    }
  }

  leaderOf(topic: string, partition: number): { leader: number; epoch: number } {
    const p = this.partitionModel(topic, partition);
    return { leader: p.leader, epoch: p.epoch };
  }

  /** Values written to a partition, in offset order (null values as null). */
  log(topic: string, partition: number): Array<string | null> {
    return this.partitionModel(topic, partition).log.map((r) => r.value);
  }

  logRecords(topic: string, partition: number): readonly LoggedRecord[] {
    return this.partitionModel(topic, partition).log;
  }

  /** Every value written to the topic, per partition. */
  logs(topic: string): Array<Array<string | null>> {
    const t = this.topicModels.get(topic);
    if (t === undefined) throw new Error(`no topic ${topic} in the scripted cluster`);
    return t.partitions.map((p) => p.log.map((r) => r.value));
  }


  /** The next Produce answers for this partition, one per request carrying it; then 'ok' again. */
  scriptPartition(topic: string, partition: number, ...outcomes: PartitionOutcome[]): void {
    this.partitionModel(topic, partition).script.push(...outcomes);
  }

  /** The next matching requests get these outcomes, one each, in order; then 'answer' again. */
  scriptRequests(match: RequestMatch, ...outcomes: RequestOutcome[]): void {
    for (const outcome of outcomes) this.requestScripts.push({ match, outcome });
  }

  /** Drops the request scripts no request has used yet: later requests are answered normally. */
  clearRequestScripts(): void {
    this.requestScripts.length = 0;
  }

  /** From now on, matching requests wait for the returned Hold to release them. */
  hold(match: RequestMatch = {}): Hold {
    const h = new Hold(match, this);
    this.holds.push(h);
    return h;
  }

  /** The next versionFor() of the API throws `error` (once per call of this). */
  failVersionFor(api: ApiDescriptor, error: Error): void {
    this.versionFailures.push({ apiKey: api.apiKey, error });
  }

  /** The node stops being reachable: ready() returns null, connectionDelay() says `delayMs`. */
  setDown(nodeId: number, delayMs = Number.POSITIVE_INFINITY): void {
    const n = this.node(nodeId);
    n.up = false;
    n.connected = false;
    n.connecting = false;
    n.downDelayMs = delayMs;
    this.failPendingOn(nodeId, new ConnectionError(n.connection.address, 'CONNECTION_CLOSED', 'scripted: broker went down'));
    this.changed();
  }

  /** The node is reachable again and connects at once; onChange fires as the pool's events do. */
  bringUp(nodeId: number): void {
    const n = this.node(nodeId);
    n.up = true;
    n.error = null;
    n.connecting = false;
    n.connected = true;
    this.changed();
    this.onChange();
  }

  /** A failure retrying cannot fix (e.g. an AuthenticationError); null clears it. */
  setNodeError(nodeId: number, error: KafkaError | null): void {
    const n = this.node(nodeId);
    n.error = error;
    if (error !== null) n.connected = false;
    this.changed();
  }

  /** any() rejects with `error` until cleared with null. */
  failAny(error: Error | null): void {
    this.anyError = error;
  }

  /** Socket backpressure on the node's connection; clearing it resolves waitForDrain(). */
  setNeedsDrain(nodeId: number, needsDrain: boolean): void {
    const n = this.node(nodeId);
    n.needsDrain = needsDrain;
    if (!needsDrain) for (const w of n.drainWaiters.splice(0)) w();
  }

  drainWaiters(nodeId: number): number {
    return this.node(nodeId).drainWaiters.length;
  }


  /** Resolves once `condition` holds, checked after every cluster event and every few ms; rejects after `timeoutMs`. */
  waitUntil(condition: () => boolean, what: string | (() => string), timeoutMs = 10_000): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!condition()) return;
        cleanup();
        resolve();
      };
      const poll = setInterval(check, 5);
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`scripted cluster: timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearInterval(poll);
        clearTimeout(timer);
        this.events.off('change', check);
      };
      this.events.on('change', check);
    });
  }

  /** Resolves once every tracked promise settled. */
  waitForSettled(tracked: ReadonlyArray<Tracked<unknown>>, timeoutMs = 10_000): Promise<void> {
    return this.waitUntil(() => tracked.every((t) => t.state !== 'pending'), () => `${tracked.filter((t) => t.state === 'pending').length} of ${tracked.length} promise(s) to settle`, timeoutMs);
  }

  produceRequests(filter: { node?: number; topic?: string; partition?: number } = {}): RecordedRequest[] {
    return this.requests.filter(
      (r) =>
        r.api === 'Produce' &&
        (filter.node === undefined || r.node === filter.node) &&
        (filter.topic === undefined || r.partitions.some((p) => p.topic === filter.topic && (filter.partition === undefined || p.partition === filter.partition))),
    );
  }

  metadataRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.api === 'Metadata');
  }

  /** Resolves once `count` requests match. */
  waitForRequests(predicate: (r: RecordedRequest) => boolean, count = 1, timeoutMs = 10_000): Promise<RecordedRequest[]> {
    return this.waitUntil(() => this.requests.filter(predicate).length >= count, `${count} matching request(s)`, timeoutMs).then(() => this.requests.filter(predicate));
  }

  /** @internal */
  changed(): void {
    this.events.emit('change');
  }


  ready(address: BrokerAddress): NodeConnection | null {
    this.readyCalls++;
    if (this.closed) return null;
    const n = this.nodes.get(address.nodeId);
    if (n === undefined || !n.up || n.error !== null) return null;
    if (n.connected) return n.connection;
    if (!this.asyncConnect) {
      n.connected = true;
      this.changed();
      return n.connection;
    }
    if (!n.connecting) {
      n.connecting = true;
      setImmediate(() => {
        if (!n.connecting || !n.up || this.closed) return;
        n.connecting = false;
        n.connected = true;
        this.changed();
        this.onChange();
      });
    }
    return null;
  }

  async any(): Promise<NodeConnection> {
    this.anyCalls++;
    if (this.closed) throw new KafkaError('the cluster connections were closed', { code: 'CONNECTIONS_CLOSED', retriable: false });
    if (this.anyError !== null) throw this.anyError;
    for (const n of this.nodes.values()) {
      if (n.up && n.error === null) {
        n.connected = true;
        n.connecting = false;
        this.changed();
        return n.connection;
      }
    }
    throw new ConnectionError([...this.nodes.values()].map((n) => n.connection.address).join(','), 'CONNECT_FAILED', 'scripted: no broker is up');
  }

  updateNodes(_nodes: readonly BrokerAddress[]): void {
    // the scripted brokers are fixed; metadata naming them is all the producer needs
  }

  connectedNodeIds(): number[] {
    return [...this.nodes.values()].filter((n) => n.connected && n.up && n.error === null).map((n) => n.address.nodeId);
  }

  nodeError(nodeId: number): KafkaError | null {
    return this.nodes.get(nodeId)?.error ?? null;
  }

  connectionDelay(nodeId: number): number {
    const n = this.nodes.get(nodeId);
    if (n === undefined) return 0;
    if (n.error !== null) return this.config?.reconnectBackoffMaxMs ?? 1000;
    if (!n.up) return n.downDelayMs;
    if (n.connecting) return Number.POSITIVE_INFINITY;
    return 0;
  }

  async close(): Promise<void> {
    this.closeCalls++;
    if (this.closed) return;
    this.closed = true;
    for (const n of this.nodes.values()) {
      n.connected = false;
      for (const w of n.drainWaiters.splice(0)) w();
    }
    for (const p of [...this.pending]) this.finish(p, 'closed', new ConnectionError(this.node(p.request.node).connection.address, 'CONNECTION_CLOSED', 'scripted: connections closed'));
  }

  get isClosed(): boolean {
    return this.closed;
  }


  /** @internal */
  nodeNeedsDrain(nodeId: number): boolean {
    return this.node(nodeId).needsDrain;
  }

  /** @internal */
  waitForDrain(nodeId: number): Promise<void> {
    const n = this.node(nodeId);
    if (!n.needsDrain || this.closed) return Promise.resolve();
    return new Promise((resolve) => n.drainWaiters.push(resolve));
  }

  /** @internal */
  isConnected(nodeId: number): boolean {
    const n = this.node(nodeId);
    return n.connected && n.up && !this.closed;
  }

  /** @internal */
  versionFor(nodeId: number, api: ApiDescriptor, cap?: number): number {
    const i = this.versionFailures.findIndex((f) => f.apiKey === api.apiKey);
    if (i >= 0) throw this.versionFailures.splice(i, 1)[0].error;
    const brokerMax = this.versions.get(api.apiKey) ?? api.maxVersion;
    const v = Math.min(brokerMax, api.maxVersion, cap ?? Number.POSITIVE_INFINITY);
    if (v < api.minVersion) {
      throw new UnsupportedVersionError(this.node(nodeId).connection.address, api.apiKey, api.name, api, { minVersion: 0, maxVersion: brokerMax });
    }
    return v;
  }

  /** @internal A request whose body is already bytes (Produce). */
  serveRaw<T>(nodeId: number, api: RequestApi, version: number, body: Buffer, decodeBody: (r: Reader) => T, options: RequestOptions | undefined): Promise<T | undefined> {
    if (api.apiKey !== ProduceApi.apiKey) return Promise.reject(new Error(`scripted cluster: requestRaw for api key ${api.apiKey} is not scripted`));
    const request = ProduceApi.decodeRequest(new Reader(body), version);
    const partitions: RecordedPartition[] = [];
    const decoded: DecodedPartition[] = [];
    const batchInfo: NonNullable<RecordedRequest['batches']> = [];
    for (const t of request.topicData) {
      for (const p of t.partitionData) {
        const batches = decodeRecordBatches(p.records ?? Buffer.alloc(0), decompressRecords);
        const first = batches[0];
        if (first !== undefined) {
          batchInfo.push({ topic: t.name ?? '', partition: p.index, producerId: first.producerId, producerEpoch: first.producerEpoch, baseSequence: first.baseSequence, isTransactional: first.attributes.isTransactional });
        }
        const records: LoggedRecord[] = batches.flatMap((b) =>
          b.records.map((r) => ({ offset: -1, key: r.key === null ? null : r.key.toString('utf8'), value: r.value === null ? null : r.value.toString('utf8'), timestamp: r.timestamp })),
        );
        partitions.push({ topic: t.name ?? '', partition: p.index, records: records.length, values: records.map((r) => r.value) });
        decoded.push({
          topic: t.name ?? '',
          partition: p.index,
          records,
          producerId: first?.producerId ?? -1n,
          producerEpoch: first?.producerEpoch ?? -1,
          baseSequence: first?.baseSequence ?? -1,
        });
      }
    }
    const recorded = this.record({ api: 'Produce', apiKey: api.apiKey, version, node: nodeId, acks: request.acks, partitions, batches: batchInfo, transactionalId: request.transactionalId ?? null });
    const answer = (): T | undefined => {
      const response = this.produce(nodeId, decoded, recorded);
      if (request.acks === 0) return undefined;
      const w = new Writer(256);
      ProduceApi.encodeResponse(w, response, version);
      return decodeBody(new Reader(w.toBuffer()));
    };
    if (request.acks === 0 || options?.expectResponse === false) {
      // the broker writes and never answers; the connection resolves once the bytes are out
      return new Promise((resolve) =>
        setImmediate(() => {
          answer();
          resolve(undefined);
        }),
      );
    }
    return this.dispatch(recorded, answer, options);
  }

  /** @internal A request given as an object (Metadata). */
  serve<Req, Res>(nodeId: number, api: KafkaApi<Req, Res>, version: number, body: Req, options: RequestOptions | undefined): Promise<Res | undefined> {
    if (TXN_APIS.has(api.apiKey)) return this.serveTxn(nodeId, api, version, body, options);
    if (api.apiKey !== MetadataApi.apiKey) return Promise.reject(new Error(`scripted cluster: ${api.name} is not scripted`));
    // through the wire format, so a body the broker could not read fails here as it would there
    const w = new Writer(256);
    api.encodeRequest(w, body, version);
    const request = MetadataApi.decodeRequest(new Reader(w.toBuffer()), version);
    const topics = request.topics === null ? null : request.topics.map((t) => t.name ?? '');
    const recorded = this.record({ api: 'Metadata', apiKey: api.apiKey, version, node: nodeId, topics, partitions: [] });
    const answer = (): Res => {
      const response = this.metadata(request);
      const out = new Writer(256);
      MetadataApi.encodeResponse(out, response, version);
      return api.decodeResponse(new Reader(out.toBuffer()), version);
    };
    return this.dispatch(recorded, answer, options);
  }

  /** The next answers' error codes for a coordinator API (InitProducerId, EndTxn, ...), one per request; then 0. */
  scriptApi(api: NonNullable<RequestMatch['api']>, ...errorCodes: number[]): void {
    const list = this.apiScripts.get(api) ?? [];
    list.push(...errorCodes);
    this.apiScripts.set(api, list);
  }

  /** Requests of one API, in arrival order. */
  requestsOf(api: NonNullable<RequestMatch['api']>): RecordedRequest[] {
    return this.requests.filter((r) => r.api === api);
  }

  /** What the broker holds for a producer id on a partition (epoch and last batches), if anything. */
  producerState(topic: string, partition: number, producerId: bigint): { epoch: number; lastSequence: number } | undefined {
    const st = this.partitionModel(topic, partition).producers.get(producerId);
    return st === undefined ? undefined : { epoch: st.epoch, lastSequence: st.batches.length === 0 ? -1 : st.batches[st.batches.length - 1].lastSeq };
  }

  /** The broker forgets every producer's state on the partition (as after retention removed it). */
  forgetProducers(topic: string, partition: number): void {
    this.partitionModel(topic, partition).producers.clear();
  }

  /** Producer ids handed out, and the epoch per transactional id. */
  private nextProducerId = 1000n;
  private readonly transactionalIds = new Map<string, { producerId: bigint; epoch: number }>();
  private readonly apiScripts = new Map<string, number[]>();

  private serveTxn<Req, Res>(nodeId: number, api: KafkaApi<Req, Res>, version: number, body: Req, options: RequestOptions | undefined): Promise<Res | undefined> {
    const w = new Writer(256);
    api.encodeRequest(w, body, version);
    const decoded = api.decodeRequest(new Reader(w.toBuffer()), version);
    const name = api.name as NonNullable<RequestMatch['api']>;
    const recorded = this.record({ api: name, apiKey: api.apiKey, version, node: nodeId, partitions: [], body: decoded });
    const answer = (): Res => {
      const code = this.apiScripts.get(name)?.shift() ?? 0;
      const response = this.txnResponse(api.apiKey, decoded as never, code, nodeId, version);
      const out = new Writer(256);
      api.encodeResponse(out, response as Res, version);
      return api.decodeResponse(new Reader(out.toBuffer()), version);
    };
    return this.dispatch(recorded, answer, options);
  }

  private txnResponse(apiKey: number, request: unknown, code: number, nodeId: number, version: number): unknown {
    switch (apiKey) {
      case InitProducerIdApi.apiKey: {
        const r = request as InitProducerIdRequest;
        if (code !== 0) return { throttleTimeMs: 0, errorCode: code, producerId: -1n, producerEpoch: -1 };
        if (r.transactionalId === null) return { throttleTimeMs: 0, errorCode: 0, producerId: this.nextProducerId++, producerEpoch: 0 };
        const known = this.transactionalIds.get(r.transactionalId);
        const next = known === undefined ? { producerId: this.nextProducerId++, epoch: 0 } : { producerId: known.producerId, epoch: known.epoch + 1 };
        this.transactionalIds.set(r.transactionalId, next);
        return { throttleTimeMs: 0, errorCode: 0, producerId: next.producerId, producerEpoch: next.epoch };
      }
      case FindCoordinatorApi.apiKey: {
        const r = request as FindCoordinatorRequest;
        const n = this.nodes.get(nodeId)!.address;
        const keys = r.coordinatorKeys ?? [r.key ?? ''];
        // v4 batched the keys into a coordinators list; before it the answer is one coordinator's fields
        if (version >= 4) return { throttleTimeMs: 0, coordinators: keys.map((key) => ({ key, nodeId: n.nodeId, host: n.host, port: n.port, errorCode: code, errorMessage: null })) };
        return { throttleTimeMs: 0, errorCode: code, errorMessage: null, nodeId: n.nodeId, host: n.host, port: n.port };
      }
      case AddPartitionsToTxnApi.apiKey: {
        const r = request as AddPartitionsToTxnRequest;
        return {
          throttleTimeMs: 0,
          resultsByTopicV3AndBelow: (r.v3AndBelowTopics ?? []).map((t) => ({ name: t.name, resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: code })) })),
        };
      }
      case AddOffsetsToTxnApi.apiKey:
        return { throttleTimeMs: 0, errorCode: code };
      case TxnOffsetCommitApi.apiKey: {
        const r = request as TxnOffsetCommitRequest;
        return { throttleTimeMs: 0, topics: r.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code })) })) };
      }
      case EndTxnApi.apiKey: {
        const r = request as EndTxnRequest;
        if (code !== 0) return { throttleTimeMs: 0, errorCode: code, producerId: -1n, producerEpoch: -1 };
        // transactions v2: the coordinator bumps the epoch on every end
        const known = this.transactionalIds.get(r.transactionalId);
        if (known !== undefined && this.transactionVersion >= 2) {
          known.epoch = r.producerEpoch + 1;
          return { throttleTimeMs: 0, errorCode: 0, producerId: known.producerId, producerEpoch: known.epoch };
        }
        return { throttleTimeMs: 0, errorCode: 0, producerId: -1n, producerEpoch: -1 };
      }
      default:
        throw new Error(`scripted cluster: api key ${apiKey} is not scripted`);
    }
  }

  private record(fields: Omit<RecordedRequest, 'seq' | 'at' | 'state'>): RecordedRequest {
    const r: RecordedRequest = { ...fields, seq: this.requests.length, at: Date.now(), state: 'pending' };
    this.requests.push(r);
    this.changed();
    return r;
  }

  private dispatch<T>(request: RecordedRequest, answer: () => T, options: RequestOptions | undefined): Promise<T> {
    const outcome = this.takeRequestOutcome(request);
    return new Promise<T>((resolve, reject) => {
      const p: Pending = {
        request,
        timer: null,
        done: false,
        process: () => {
          if (p.done) return;
          try {
            const value = answer();
            this.finish(p, 'answered');
            // a response arrives on a later turn of the event loop, as from a socket
            setImmediate(() => resolve(value));
          } catch (e) {
            this.finish(p, 'rejected');
            reject(e);
          }
        },
        fail: reject,
      };
      this.pending.add(p);
      const timeoutMs = options?.timeoutMs ?? this.config?.requestTimeoutMs;
      if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
        p.timer = setTimeout(() => this.finish(p, 'timed-out', new RequestTimeoutError(this.node(request.node).connection.address, request.apiKey, request.version, request.seq, timeoutMs)), timeoutMs);
        p.timer.unref();
      }
      if (outcome === 'written-then-disconnect') {
        setImmediate(() => {
          try {
            answer();
          } catch {
            // the answer is lost anyway
          }
          this.finish(p, 'disconnected', new ConnectionError(this.node(request.node).connection.address, 'CONNECTION_CLOSED', 'scripted: the broker closed the connection after writing'));
        });
        return;
      }
      if (outcome === 'disconnect') {
        setImmediate(() => this.finish(p, 'disconnected', new ConnectionError(this.node(request.node).connection.address, 'CONNECTION_CLOSED', 'scripted: the broker closed the connection')));
        return;
      }
      if (typeof outcome === 'object') {
        const error = outcome.reject;
        setImmediate(() => this.finish(p, 'rejected', error));
        return;
      }
      if (outcome === 'never') {
        request.state = 'unanswered';
        this.changed();
        return;
      }
      for (const h of this.holds) if (h.isActive && matches(h.match, request) && h.take(p)) return;
      setImmediate(() => p.process());
    });
  }

  private finish(p: Pending, state: RecordedRequest['state'], error?: Error): void {
    if (p.done) return;
    p.done = true;
    if (p.timer !== null) clearTimeout(p.timer);
    this.pending.delete(p);
    p.request.state = state;
    if (error !== undefined) p.fail(error);
    this.changed();
  }

  private failPendingOn(nodeId: number, error: Error): void {
    for (const p of [...this.pending]) if (p.request.node === nodeId) this.finish(p, 'disconnected', error);
  }

  private takeRequestOutcome(request: RecordedRequest): RequestOutcome {
    const i = this.requestScripts.findIndex((s) => matches(s.match, request));
    if (i < 0) return 'answer';
    return this.requestScripts.splice(i, 1)[0].outcome;
  }

  private produce(nodeId: number, decoded: DecodedPartition[], recorded: RecordedRequest): ProduceResponse {
    const byTopic = new Map<string, ProduceResponse['responses'][number]>();
    const endpoints = new Map<number, BrokerAddress>();
    decoded.forEach((d, i) => {
      let t = byTopic.get(d.topic);
      if (t === undefined) byTopic.set(d.topic, (t = { name: d.topic, partitionResponses: [] }));
      const model = this.topicModels.get(d.topic)?.partitions[d.partition];
      let errorCode = 0;
      let message: string | null = null;
      let currentLeader: { leaderId: number; leaderEpoch: number } | undefined;
      let baseOffset = -1n;
      const scripted = model?.script.shift();
      if (model === undefined) {
        errorCode = UNKNOWN_TOPIC_OR_PARTITION;
      } else if (scripted !== undefined && scripted !== 'ok') {
        errorCode = scripted.errorCode;
        message = scripted.message ?? null;
        currentLeader = scripted.currentLeader;
      } else if (model.leader !== nodeId) {
        errorCode = NOT_LEADER_OR_FOLLOWER;
        currentLeader = { leaderId: model.leader, leaderEpoch: model.epoch };
      } else {
        const checked = checkProducerState(model, d);
        if (typeof checked === 'number' && checked !== 0) {
          errorCode = checked;
        } else if (typeof checked === 'object') {
          baseOffset = BigInt(checked.duplicateOf); // a duplicate of a retained batch: its original offset
        } else {
          baseOffset = BigInt(model.log.length);
          for (const r of d.records) model.log.push({ ...r, offset: model.log.length });
          if (d.producerId >= 0n && d.records.length > 0) {
            const st = model.producers.get(d.producerId) ?? { epoch: d.producerEpoch, batches: [] };
            if (d.producerEpoch > st.epoch) st.batches = [];
            st.epoch = d.producerEpoch;
            st.batches.push({ firstSeq: d.baseSequence, lastSeq: seqPlus(d.baseSequence, d.records.length - 1), baseOffset: Number(baseOffset) });
            if (st.batches.length > 5) st.batches.shift();
            model.producers.set(d.producerId, st);
          }
        }
      }
      if (currentLeader !== undefined) {
        const n = this.nodes.get(currentLeader.leaderId);
        if (n !== undefined) endpoints.set(n.address.nodeId, n.address);
      }
      recorded.partitions[i].errorCode = errorCode;
      t.partitionResponses.push({
        index: d.partition,
        errorCode,
        baseOffset,
        logAppendTimeMs: -1n,
        logStartOffset: 0n,
        recordErrors: [],
        errorMessage: message,
        currentLeader: currentLeader ?? { leaderId: -1, leaderEpoch: -1 },
      });
    });
    return {
      responses: [...byTopic.values()],
      throttleTimeMs: 0,
      nodeEndpoints: [...endpoints.values()].map((a) => ({ nodeId: a.nodeId, host: a.host, port: a.port, rack: a.rack ?? null })),
    };
  }

  private metadata(request: MetadataRequest): MetadataResponse {
    const names = request.topics === null ? [...this.topicModels.keys()] : request.topics.map((t) => t.name ?? '');
    return {
      throttleTimeMs: 0,
      brokers: [...this.nodes.values()].map((n) => ({ nodeId: n.address.nodeId, host: n.address.host, port: n.address.port, rack: n.address.rack ?? null })),
      clusterId: 'scripted-cluster',
      controllerId: [...this.nodes.keys()][0],
      topics: names.map((name) => {
        const t = this.topicModels.get(name);
        if (t === undefined) return { errorCode: UNKNOWN_TOPIC_OR_PARTITION, name, topicId: Buffer.alloc(16), isInternal: false, partitions: [], topicAuthorizedOperations: -2147483648 };
        return {
          errorCode: 0,
          name,
          topicId: t.topicId,
          isInternal: false,
          partitions: t.partitions.map((p, index) => ({
            errorCode: 0,
            partitionIndex: index,
            leaderId: p.announcedLeader,
            leaderEpoch: p.announcedEpoch,
            replicaNodes: [p.announcedLeader],
            isrNodes: [p.announcedLeader],
            offlineReplicas: [],
          })),
          topicAuthorizedOperations: -2147483648,
        };
      }),
    };
  }

  private node(nodeId: number): NodeModel {
    const n = this.nodes.get(nodeId);
    if (n === undefined) throw new Error(`no node ${nodeId} in the scripted cluster`);
    return n;
  }

  private partitionModel(topic: string, partition: number): PartitionModel {
    const p = this.topicModels.get(topic)?.partitions[partition];
    if (p === undefined) throw new Error(`no partition ${topic}-${partition} in the scripted cluster`);
    return p;
  }
}

interface DecodedPartition {
  readonly topic: string;
  readonly partition: number;
  readonly records: LoggedRecord[];
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
}

const TXN_APIS = new Set([InitProducerIdApi.apiKey, FindCoordinatorApi.apiKey, AddPartitionsToTxnApi.apiKey, AddOffsetsToTxnApi.apiKey, TxnOffsetCommitApi.apiKey, EndTxnApi.apiKey]);

function seqPlus(seq: number, n: number): number {
  const v = seq + n;
  return v > 2147483647 ? v - 2147483648 : v;
}

/**
 * The broker's checks of an idempotent batch (ProducerAppendInfo): 0 to append, an error code, or the
 * offset of the retained batch it duplicates.
 */
function checkProducerState(model: PartitionModel, d: DecodedPartition): number | { duplicateOf: number } {
  if (d.producerId < 0n || d.records.length === 0) return 0;
  const st = model.producers.get(d.producerId);
  if (st === undefined) return 0;
  if (d.producerEpoch < st.epoch) return 47; // INVALID_PRODUCER_EPOCH
  const lastSeq = seqPlus(d.baseSequence, d.records.length - 1);
  if (d.producerEpoch === st.epoch) {
    const dup = st.batches.find((b) => b.firstSeq === d.baseSequence && b.lastSeq === lastSeq);
    if (dup !== undefined) return { duplicateOf: dup.baseOffset };
    const last = st.batches.length === 0 ? -1 : st.batches[st.batches.length - 1].lastSeq;
    if (d.baseSequence !== seqPlus(last, 1)) return 45; // OUT_OF_ORDER_SEQUENCE_NUMBER
    return 0;
  }
  return d.baseSequence === 0 ? 0 : 45;
}

function matches(match: RequestMatch, r: RecordedRequest): boolean {
  return (match.api === undefined || match.api === r.api) && (match.node === undefined || match.node === r.node);
}

/** One broker's connection as the producer sees it; every call goes to the cluster's script. */
class ScriptedNodeConnection implements NodeConnection {
  constructor(
    private readonly cluster: ScriptedCluster,
    readonly nodeId: number,
    readonly address: string,
  ) {}

  get isConnected(): boolean {
    return this.cluster.isConnected(this.nodeId);
  }

  get needsDrain(): boolean {
    return this.cluster.nodeNeedsDrain(this.nodeId);
  }

  waitForDrain(): Promise<void> {
    return this.cluster.waitForDrain(this.nodeId);
  }

  versionFor(api: ApiDescriptor, cap?: number): number {
    return this.cluster.versionFor(this.nodeId, api, cap);
  }

  featureLevel(name: string): number {
    return name === 'transaction.version' ? this.cluster.transactionVersion : 0;
  }

  send<Req, Res>(api: KafkaApi<Req, Res>, body: Req, options: NoResponseOptions): Promise<undefined>;
  send<Req, Res>(api: KafkaApi<Req, Res>, body: Req, options?: RequestOptions): Promise<Res>;
  send<Req, Res>(api: KafkaApi<Req, Res>, body: Req, options?: RequestOptions): Promise<Res | undefined> {
    return this.cluster.serve(this.nodeId, api, this.versionFor(api), body, options);
  }

  request<Req, Res>(api: KafkaApi<Req, Res>, version: number, body: Req, options: NoResponseOptions): Promise<undefined>;
  request<Req, Res>(api: KafkaApi<Req, Res>, version: number, body: Req, options?: RequestOptions): Promise<Res>;
  request<Req, Res>(api: KafkaApi<Req, Res>, version: number, body: Req, options?: RequestOptions): Promise<Res | undefined> {
    if (!this.isConnected) return handled(Promise.reject(new ConnectionError(this.address, 'NOT_CONNECTED', 'scripted: not connected')));
    return this.cluster.serve(this.nodeId, api, version, body, options);
  }

  requestRaw<T>(api: RequestApi, version: number, encodeBody: BodyEncoder, decodeBody: (r: Reader) => T, options: NoResponseOptions): Promise<undefined>;
  requestRaw<T>(api: RequestApi, version: number, encodeBody: BodyEncoder, decodeBody: (r: Reader) => T, options?: RequestOptions): Promise<T>;
  requestRaw<T>(api: RequestApi, version: number, encodeBody: BodyEncoder, decodeBody: (r: Reader) => T, options?: RequestOptions): Promise<T | undefined> {
    // as a real connection: a closed one or a body that cannot be encoded rejects, with nothing sent
    if (!this.isConnected) return handled(Promise.reject(new ConnectionError(this.address, 'NOT_CONNECTED', 'scripted: not connected')));
    const w = new Writer(512);
    try {
      encodeBody(w, { attach: (bytes) => void w.raw(bytes) });
    } catch (e) {
      return handled(Promise.reject(e));
    }
    return this.cluster.serveRaw(this.nodeId, api, version, w.toBuffer(), decodeBody, options);
  }
}

/** A rejection the caller may never look at, as the real connection marks its early refusals. */
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

export interface Tracked<T> {
  state: 'pending' | 'fulfilled' | 'rejected';
  value?: T;
  error?: Error;
  /** Date.now() when it settled. */
  settledAt?: number;
}

/** A promise's state, readable synchronously (updated in the order settlements happen). */
export function track<T>(promise: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { state: 'pending' };
  promise.then(
    (value) => Object.assign(t, { state: 'fulfilled', value, settledAt: Date.now() }),
    (error: Error) => Object.assign(t, { state: 'rejected', error, settledAt: Date.now() }),
  );
  return t;
}

/** Lets `n` turns of the event loop pass (each after the I/O and immediates queued before it). */
export async function turns(n = 1): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A logger whose calls a spec can inspect, and which keeps provoked errors off the console. */
export function recordingLogger(): { debug: jest.Mock; info: jest.Mock; warn: jest.Mock; error: jest.Mock } {
  return { debug: jest.fn(), info: jest.fn(), warn: jest.fn(), error: jest.fn() };
}

const producers: KafkaProducer<string, string>[] = [];

/** A string producer on `cluster`, logging to a {@link recordingLogger}; {@link closeProducers} closes it. */
export function producerOn(cluster: ScriptedCluster, options: Partial<KafkaProducerOptions<string, string>> = {}): KafkaProducer<string, string> {
  const p = new KafkaProducer<string, string>({ bootstrapServers: 'broker-1:9092', logger: recordingLogger(), ...options }, cluster.internals);
  producers.push(p);
  return p;
}

/** Closes every producer {@link producerOn} made since the last call, without waiting for sends (timeoutMs 0): for a spec's afterEach. */
export async function closeProducers(): Promise<void> {
  await Promise.all(producers.splice(0).map((p) => p.close({ timeoutMs: 0 })));
}
