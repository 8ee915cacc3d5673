import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { TopicAdmin, TopicSpec } from './admin';
import { KafkaClusterBase } from './cluster-base';
import { DumpedSegment, dumpLogSegmentFiles } from './dump-log-segments';
import { FaultProxy } from './fault-proxy';
import { javaBinary, JavaToolOptions, runJavaTool, runJavaToolOrThrow, UTF8_JVM_ARGS } from './java-tools';
import { ensureKafkaJars, KafkaJars } from './maven-jars';
import { parentDeathWrapper, isRunning, pidMatches, trackPid, untrackPid } from './process-registry';
import { Endpoint, MetadataResult, MetadataTopic, pollUntil, probeApiVersions, probeMetadata } from './probe';
import { produceWithJava, ReferenceMetadata, ReferenceProduceOptions } from './reference-producer';
import { RunResult } from './run-process';
import { ConsumedRecord, ConsumeOptions, ConsumeResult, consumeWithJava, consumeWithJavaDetailed } from './verifier';
import { versionProfile } from './versions';

export interface KafkaClusterOptions {
  /** Combined broker+controller nodes. Default 1. */
  nodes?: 1 | 3;
  /** Extra server.properties entries for every node; applied last, so they win. */
  brokerConfig?: Record<string, string>;
  /** Default KAFKA_VERSION or 4.3.1. */
  version?: string;
  /**
   * Finalized feature levels set at format time (`kafka-storage format --feature name=level`), e.g.
   * { 'transaction.version': 0 } for a broker with only the first transaction protocol. Unset features
   * take the release's defaults (4.x formats transaction.version=2).
   */
  features?: Record<string, number>;
  /**
   * Puts a FaultProxy (see fault-proxy.ts) in front of every node: each node gets an extra client
   * listener whose advertised address is its proxy's, so a client bootstrapped from
   * `bootstrapServers` reaches every broker through the proxies, while inter-broker and controller
   * traffic, and the harness's own tools and probes, stay direct. `cluster.proxy(nodeId)` scripts the
   * faults. The proxies live in this process (they die with it).
   */
  faultProxy?: boolean;
  /**
   * More client listeners on every node, each on its own free port picked at start (see
   * KafkaNodeInfo.extraPorts). Names are upper-case; per-listener settings go in brokerConfig under
   * `listener.name.<lower-case name>.…`. The advertised host defaults to 127.0.0.1.
   */
  extraListeners?: ExtraListener[];
  /** Appended to `kafka-storage format` (e.g. `--add-scram`, which is how SCRAM users exist before the first start). */
  formatArgs?: string[];
  /** Already-resolved jars (skips the cache check). */
  jars?: KafkaJars;
  /** Parent of the per-run cluster folder. Default os.tmpdir(). */
  baseDir?: string;
  /** Max heap per node. Default 768m. */
  heap?: string;
  /** Appended to the node JVM flags (after the defaults, so they can override them). */
  jvmArgs?: string[];
  /**
   * 'fast-start' (default; C1 only, serial GC) suits functional tests that start many clusters;
   * 'throughput' uses the tarball's G1 flags with C2, for benchmarks. Env KAFKA_TESTING_JVM_PROFILE.
   */
  jvmProfile?: 'fast-start' | 'throughput';
  /** Per start/restart readiness deadline. Default 60 s (90 s for 3 nodes). */
  startupTimeoutMs?: number;
  /** Root log level of the node log files. Default KAFKA_TESTING_LOG_LEVEL or WARN. */
  logLevel?: 'ERROR' | 'WARN' | 'INFO' | 'DEBUG';
  /**
   * JVMs outlive this process (the CLI's `start`): own session, no parent-death signal, not killed by
   * the exit hooks. Stop them with `npm run kafka:stop` or KafkaCluster.stopFromStateFile().
   */
  detached?: boolean;
  admin?: TopicAdmin;
  log?: (message: string) => void;
}

export interface ExtraListener {
  name: string;
  securityProtocol: 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';
  advertisedHost?: string;
}

export interface KafkaNodeInfo {
  nodeId: number;
  host: string;
  /** The PLAINTEXT listener: inter-broker traffic, the harness's tools, and clients when there is no proxy. */
  port: number;
  controllerPort: number;
  /** With `faultProxy`: the broker's client listener, which only its proxy connects to. */
  clientPort?: number;
  /** With `faultProxy`: the proxy's port, the address the client listener advertises. */
  proxyPort?: number;
  /** With `extraListeners`: listener name → port. */
  extraPorts?: Record<string, number>;
  /** Node folder: config, logs. */
  dir: string;
  /** log.dirs: partition folders and the metadata log. */
  dataDir: string;
  configFile: string;
  logFile: string;
  stdoutFile: string;
}

export type NodeState = 'running' | 'paused' | 'stopped';

/** What cluster.json (the pidfile) holds; enough to re-attach from another process or kill leftovers. */
export interface ClusterState {
  format: 1;
  clusterId: string;
  version: string;
  clusterDir: string;
  bootstrapServers: string[];
  ownerPid: number;
  detached: boolean;
  startedAt: string;
  jars: Omit<KafkaJars, 'profile'>;
  nodes: Array<KafkaNodeInfo & { pid: number | null }>;
}

interface NodeRuntime {
  info: KafkaNodeInfo;
  child: ChildProcess | null;
  pid: number | null;
  state: NodeState;
  /** Set when the JVM exits; readiness polls use it to fail fast. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
}

const HOST = '127.0.0.1';
/** Kafka's error code for a topic the broker does not know (deleted). */
const UNKNOWN_TOPIC_OR_PARTITION = 3;
const CLUSTER_DIR_PREFIX = 'kafka-testing-';
const STATE_FILE = 'cluster.json';
const PID_FILE = 'pids';

/**
 * A real Apache Kafka cluster of KRaft combined nodes, each a `java kafka.Kafka` process on loopback
 * ports picked at start, with storage formatted in a fresh folder per run.
 */
export class KafkaCluster extends KafkaClusterBase {
  /** What a client under test bootstraps from: the proxies with `faultProxy`, else the brokers. */
  readonly bootstrapServers: string[];
  /** The brokers' own PLAINTEXT listeners, bypassing any proxy. */
  readonly directBootstrapServers: string[];
  protected readonly defaultReplicationFactor: number;
  readonly clusterId: string;
  readonly clusterDir: string;
  private readonly nodes = new Map<number, NodeRuntime>();
  private readonly faultProxies = new Map<number, FaultProxy>();
  private stopped = false;

  private constructor(
    jars: KafkaJars,
    private readonly options: KafkaClusterOptions,
    clusterId: string,
    clusterDir: string,
    infos: KafkaNodeInfo[],
    private readonly owned: boolean,
  ) {
    super(jars, options.admin);
    this.clusterId = clusterId;
    this.clusterDir = clusterDir;
    for (const info of infos) this.nodes.set(info.nodeId, { info, child: null, pid: null, state: 'stopped', exit: null });
    this.directBootstrapServers = infos.map((n) => `${n.host}:${n.port}`);
    // An attached handle has no proxies (they belong to the process that started the cluster).
    this.bootstrapServers = options.faultProxy === true ? infos.map((n) => `${n.host}:${n.proxyPort as number}`) : this.directBootstrapServers;
    this.defaultReplicationFactor = Math.min(3, infos.length);
  }

  static async start(options: KafkaClusterOptions = {}): Promise<KafkaCluster> {
    const log = options.log ?? ((): void => undefined);
    cleanupStaleClusters(options.baseDir ?? os.tmpdir(), log);
    const jars = options.jars ?? (await ensureKafkaJars({ version: options.version, log }));
    for (let attempt = 1; ; attempt++) {
      try {
        return await KafkaCluster.startOnce(jars, options, log);
      } catch (e) {
        // The ports were free when picked but are bound by the JVM only seconds later; another process
        // may take one meanwhile. That is the one failure worth a second try, with new ports.
        if (attempt >= 3 || !/BindException|Address already in use/i.test((e as Error).message)) throw e;
        log(`kafka-testing: a port was taken before the broker bound it; retrying with new ports`);
      }
    }
  }

  private static async startOnce(jars: KafkaJars, options: KafkaClusterOptions, log: (m: string) => void): Promise<KafkaCluster> {
    const n = options.nodes ?? 1;
    const clusterDir = fs.mkdtempSync(path.join(options.baseDir ?? os.tmpdir(), CLUSTER_DIR_PREFIX));
    const extra = options.extraListeners ?? [];
    const base = options.faultProxy === true ? 4 : 2;
    const perNode = base + extra.length;
    const ports = await freePorts(perNode * n);
    const infos: KafkaNodeInfo[] = [];
    for (let i = 0; i < n; i++) {
      const nodeId = i + 1;
      const dir = path.join(clusterDir, `node-${nodeId}`);
      const own = ports.slice(perNode * i, perNode * (i + 1));
      infos.push({
        nodeId,
        host: HOST,
        port: own[0],
        controllerPort: own[1],
        ...(options.faultProxy === true ? { clientPort: own[2], proxyPort: own[3] } : {}),
        ...(extra.length > 0 ? { extraPorts: Object.fromEntries(extra.map((l, j) => [l.name, own[base + j]])) } : {}),
        dir,
        dataDir: path.join(dir, 'data'),
        configFile: path.join(dir, 'server.properties'),
        logFile: path.join(dir, 'server.log'),
        stdoutFile: path.join(dir, 'stdout.log'),
      });
    }
    const cluster = new KafkaCluster(jars, options, newClusterId(), clusterDir, infos, true);
    const started = Date.now();
    try {
      await cluster.format();
      log(`kafka-testing: formatted ${n} node(s) in ${Date.now() - started} ms`);
      // Listening before the brokers start: they advertise these ports from their first Metadata answer.
      if (options.faultProxy === true) await cluster.startProxies();
      for (const node of cluster.nodes.values()) cluster.spawnNode(node);
      cluster.writeState();
      await cluster.waitReady([...cluster.nodes.keys()], cluster.startupTimeout());
      log(`kafka-testing: ${n}-node Kafka ${jars.version} ready at ${cluster.bootstrap} in ${Date.now() - started} ms (${clusterDir})`);
    } catch (e) {
      await cluster.stop({ graceMs: 0, keepDir: true }).catch(() => undefined);
      throw e;
    }
    return cluster;
  }

  /**
   * A handle on a cluster started elsewhere (jest global setup, the CLI). It can create topics, read
   * back, dump segments and signal the nodes by pid, but stop() leaves the cluster running unless
   * `{ owned: true }` was asked for.
   */
  static attach(state: ClusterState, options: { owned?: boolean; admin?: TopicAdmin } = {}): KafkaCluster {
    const jars: KafkaJars = { ...state.jars, profile: versionProfile(state.version) };
    const cluster = new KafkaCluster(jars, { detached: state.detached, admin: options.admin }, state.clusterId, state.clusterDir, state.nodes, options.owned ?? false);
    for (const n of state.nodes) {
      const node = cluster.node(n.nodeId);
      node.pid = n.pid;
      node.state = n.pid !== null && isRunning(n.pid) ? 'running' : 'stopped';
    }
    return cluster;
  }

  static readState(file: string): ClusterState {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ClusterState;
  }

  get nodeIds(): number[] {
    return [...this.nodes.keys()];
  }

  nodeInfo(nodeId: number): KafkaNodeInfo {
    return this.node(nodeId).info;
  }

  nodeState(nodeId: number): NodeState {
    return this.node(nodeId).state;
  }

  pids(): number[] {
    return [...this.nodes.values()].flatMap((n) => (n.pid !== null && n.state !== 'stopped' ? [n.pid] : []));
  }

  state(): ClusterState {
    const { profile: _profile, ...jars } = this.jars;
    return {
      format: 1,
      clusterId: this.clusterId,
      version: this.jars.version,
      clusterDir: this.clusterDir,
      // Direct: another process attaching to this state cannot reach this process's proxies.
      bootstrapServers: this.directBootstrapServers,
      ownerPid: process.pid,
      detached: this.options.detached === true,
      startedAt: new Date().toISOString(),
      jars,
      nodes: [...this.nodes.values()].map((n) => ({ ...n.info, pid: n.state === 'stopped' ? null : n.pid })),
    };
  }

  get stateFile(): string {
    return path.join(this.clusterDir, STATE_FILE);
  }

  // ---- fault proxies ---------------------------------------------------------------------------

  /** The node's FaultProxy (needs the `faultProxy` option). */
  proxy(nodeId: number): FaultProxy {
    this.node(nodeId);
    const proxy = this.faultProxies.get(nodeId);
    if (proxy === undefined) throw new Error('kafka-testing: this cluster has no fault proxies (start it with { faultProxy: true })');
    return proxy;
  }

  /** Every node's FaultProxy, by node id order; empty without the `faultProxy` option. */
  get proxies(): FaultProxy[] {
    return [...this.faultProxies.entries()].sort(([a], [b]) => a - b).map(([, p]) => p);
  }

  private async startProxies(): Promise<void> {
    for (const node of this.nodes.values()) {
      const { nodeId, host, clientPort, proxyPort } = node.info;
      try {
        this.faultProxies.set(nodeId, await FaultProxy.start({ host, port: proxyPort, target: { host, port: clientPort as number }, name: `node-${nodeId}` }));
      } catch (e) {
        // Same wording as a broker's bind failure, so start() retries with new ports.
        throw new Error(`kafka-testing: fault proxy for node ${nodeId} could not listen on ${host}:${proxyPort}: Address already in use (${(e as Error).message})`);
      }
    }
  }

  // ---- cluster state queries ---------------------------------------------------------------------

  /**
   * Metadata from a running node's direct listener: the harness observes the cluster, it never goes
   * through the faults it injects (nor through a node it knows is down).
   */
  override async metadata(topics: readonly string[] | null = [], timeoutMs = 3000): Promise<MetadataResult> {
    let lastError: unknown;
    for (const endpoint of this.directEndpoints()) {
      try {
        return await probeMetadata(endpoint, topics, timeoutMs);
      } catch (e) {
        lastError = e;
      }
    }
    throw new Error(`kafka-testing: no running node answered Metadata: ${(lastError as Error | undefined)?.message ?? 'no running nodes'}`);
  }

  /** The partition's leader as a running node reports it; -1 while it has none. */
  async leaderOf(topic: string, partition: number): Promise<number> {
    const md = await this.metadata([topic]);
    const p = md.topics.find((t) => t.name === topic && t.errorCode === 0)?.partitions.find((x) => x.partitionIndex === partition);
    if (p === undefined) throw new Error(`kafka-testing: no partition ${topic}-${partition} in the metadata`);
    return p.leaderId;
  }

  /**
   * Waits until every partition of the topic has its full replica set in sync, as seen by every
   * running node (metadata reaches each broker on its own schedule, and one stale view would let a
   * test kill a leader whose followers are not caught up). Returns the topic's metadata.
   */
  async waitInSync(topic: string, options: { timeoutMs?: number } = {}): Promise<MetadataTopic> {
    return pollUntil(
      `replicas of ${topic} in sync`,
      async () => {
        let last: MetadataTopic | undefined;
        for (const endpoint of this.directEndpoints()) {
          const md = await probeMetadata(endpoint, [topic], 2000);
          const t = md.topics.find((x) => x.name === topic);
          if (t === undefined || t.errorCode !== 0 || t.partitions.length === 0) throw new Error(`topic ${topic} unknown to ${endpoint.port}`);
          const lagging = t.partitions.filter((p) => p.leaderId < 0 || !sameMembers(p.isrNodes, p.replicaNodes));
          if (lagging.length > 0) throw new Error(`${lagging.map((p) => `${p.partitionIndex}: isr [${p.isrNodes}] of [${p.replicaNodes}]`).join(', ')} (node on ${endpoint.port})`);
          last = t;
        }
        return last;
      },
      { timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 200 },
    );
  }

  /** Running nodes first; the stopped ones only as a last resort (a restart may be under way). */
  private directEndpoints(): Endpoint[] {
    const all = [...this.nodes.values()];
    const running = all.filter((n) => n.state === 'running');
    return (running.length > 0 ? running : all).map((n) => ({ host: n.info.host, port: n.info.port }));
  }

  // ---- harness tools, always direct ---------------------------------------------------------------

  private get directBootstrap(): string {
    return this.directBootstrapServers.join(',');
  }

  override async createTopics(specs: readonly TopicSpec[], timeoutMs = 60_000): Promise<void> {
    const full = specs.map((s) => ({ ...s, partitions: s.partitions ?? 1, replicationFactor: s.replicationFactor ?? this.defaultReplicationFactor }));
    await this.admin.createTopics(this.directBootstrap, full);
    for (const spec of full) await this.waitForTopic(spec.name, spec.partitions, timeoutMs);
  }

  override async deleteTopic(name: string, timeoutMs = 60_000): Promise<void> {
    await this.admin.deleteTopics(this.directBootstrap, [name]);
    await pollUntil(
      `topic ${name} deletion`,
      async () => {
        for (const endpoint of this.directEndpoints()) {
          const t = (await probeMetadata(endpoint, [name])).topics.find((x) => x.name === name);
          if (t !== undefined && t.errorCode !== UNKNOWN_TOPIC_OR_PARTITION) return undefined;
        }
        return true;
      },
      { timeoutMs },
    );
  }

  override consumeWithJava(options: ConsumeOptions): Promise<ConsumedRecord[]> {
    return consumeWithJava(this.jars, this.directBootstrap, options);
  }

  override consumeWithJavaDetailed(options: ConsumeOptions): Promise<ConsumeResult> {
    return consumeWithJavaDetailed(this.jars, this.directBootstrap, options);
  }

  override produceWithJava(options: ReferenceProduceOptions): Promise<ReferenceMetadata[]> {
    return produceWithJava(this.jars, this.directBootstrap, options);
  }

  /** `{bootstrap}` in args becomes the direct bootstrap list. */
  override runJavaTool(className: string, args: readonly string[], options?: JavaToolOptions): Promise<RunResult> {
    return runJavaTool(
      this.jars,
      className,
      args.map((a) => a.split('{bootstrap}').join(this.directBootstrap)),
      options,
    );
  }

  // ---- fault controls --------------------------------------------------------------------------

  /** SIGKILL: no controlled shutdown, no flush; the node's partitions fail over after the session timeout. */
  async kill(nodeId: number): Promise<void> {
    const node = this.node(nodeId);
    if (node.state === 'stopped' || node.pid === null) return;
    signal(node.pid, 'SIGKILL');
    await this.waitExit(node, 10_000);
  }

  /** SIGSTOP: the JVM freezes with its sockets open, like a long GC pause or a hung host. */
  pause(nodeId: number): void {
    const node = this.node(nodeId);
    if (node.state !== 'running' || node.pid === null) throw new Error(`kafka-testing: node ${nodeId} is ${node.state}, cannot pause`);
    signal(node.pid, 'SIGSTOP');
    node.state = 'paused';
  }

  /**
   * Resolves once every thread of a paused node's JVM is stopped. SIGSTOP reaches the threads
   * asynchronously: on a loaded machine a network thread can still read and answer a request sent
   * right after pause() returned. Where /proc is missing (not Linux), it waits 200 ms instead.
   */
  async waitUntilPaused(nodeId: number, timeoutMs = 5000): Promise<void> {
    const node = this.node(nodeId);
    if (node.state !== 'paused' || node.pid === null) throw new Error(`kafka-testing: node ${nodeId} is ${node.state}, not paused`);
    const tasks = `/proc/${node.pid}/task`;
    if (!fs.existsSync(tasks)) {
      await new Promise((r) => setTimeout(r, 200));
      return;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let stopped = true;
      for (const tid of fs.readdirSync(tasks)) {
        try {
          // the state is the field after the parenthesised command name
          const stat = fs.readFileSync(`${tasks}/${tid}/stat`, 'utf8');
          const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
          if (state !== 'T' && state !== 't' && state !== 'Z' && state !== 'X') stopped = false;
        } catch {
          // a thread that exited meanwhile
        }
      }
      if (stopped) return;
      if (Date.now() > deadline) throw new Error(`kafka-testing: node ${nodeId} (pid ${node.pid}) did not stop within ${timeoutMs} ms of SIGSTOP`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  resume(nodeId: number): void {
    const node = this.node(nodeId);
    if (node.state !== 'paused' || node.pid === null) return;
    signal(node.pid, 'SIGCONT');
    node.state = 'running';
  }

  /** SIGTERM (controlled shutdown), then SIGKILL after `graceMs`. */
  async stopNode(nodeId: number, graceMs = 15_000): Promise<void> {
    const node = this.node(nodeId);
    if (node.state === 'stopped' || node.pid === null) return;
    // A stopped JVM would keep a SIGTERM pending forever.
    if (node.state === 'paused') this.resume(nodeId);
    signal(node.pid, 'SIGTERM');
    try {
      await this.waitExit(node, graceMs);
    } catch {
      signal(node.pid, 'SIGKILL');
      await this.waitExit(node, 10_000);
    }
  }

  /** Starts the node again on its existing data (a graceful stop first if it is still up) and waits until it serves. */
  async restart(nodeId: number): Promise<void> {
    this.assertOwnedProcesses('restart');
    const node = this.node(nodeId);
    if (node.state !== 'stopped') await this.stopNode(nodeId);
    this.spawnNode(node);
    this.writeState();
    await this.waitReady([nodeId], this.startupTimeout());
  }

  /** Starts a node that was killed or stopped; alias of restart for readability in tests. */
  startNode(nodeId: number): Promise<void> {
    return this.restart(nodeId);
  }

  /** Stops every node (SIGTERM in parallel, SIGKILL after the grace period) and removes the cluster folder. */
  async stop(options: { graceMs?: number; keepDir?: boolean } = {}): Promise<void> {
    if (!this.owned) return;
    if (this.stopped) return;
    this.stopped = true;
    const graceMs = options.graceMs ?? 5_000;
    const live = [...this.nodes.values()].filter((n) => n.state !== 'stopped' && n.pid !== null);
    for (const node of live) {
      if (node.state === 'paused') this.resume(node.info.nodeId);
      signal(node.pid as number, graceMs <= 0 ? 'SIGKILL' : 'SIGTERM');
    }
    // A node's controlled shutdown needs a controller quorum; once a majority of the voters is gone the
    // rest can only hang until the grace period ends, so they are killed at that point instead.
    const quorum = Math.floor(this.nodes.size / 2) + 1;
    const deadline = Date.now() + Math.max(0, graceMs);
    for (;;) {
      const running = live.filter((n) => (n.child !== null ? n.state !== 'stopped' : isRunning(n.pid as number)));
      if (running.length === 0) break;
      if (Date.now() >= deadline || (this.nodes.size > 1 && running.length < quorum)) {
        for (const n of running) signal(n.pid as number, 'SIGKILL');
        await Promise.all(running.map((n) => this.waitExit(n, 10_000)));
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const n of live) {
      n.state = 'stopped';
      if (n.pid !== null) untrackPid(n.pid);
    }
    await Promise.all(this.proxies.map((p) => p.close()));
    const keep = options.keepDir === true || process.env.KAFKA_TESTING_KEEP_DIRS === '1';
    if (!keep) fs.rmSync(this.clusterDir, { recursive: true, force: true });
    else this.writeState();
  }

  // ---- log segments ----------------------------------------------------------------------------

  /**
   * Runs DumpLogSegments (--deep-iteration --print-data-log) over the partition's segment files on
   * every node that hosts a replica, so a test can assert the broker's own tool reads our batches as valid.
   */
  async dumpLogSegments(topic: string, partition: number, options: { nodeIds?: number[]; timeoutMs?: number } = {}): Promise<DumpedSegment[]> {
    let nodeIds = options.nodeIds;
    if (nodeIds === undefined) {
      const md = await this.metadata([topic]);
      const p = md.topics.find((t) => t.name === topic)?.partitions.find((x) => x.partitionIndex === partition);
      nodeIds = p !== undefined ? p.replicaNodes : this.nodeIds;
    }
    const out: DumpedSegment[] = [];
    for (const nodeId of nodeIds) {
      const node = this.nodes.get(nodeId);
      if (node === undefined) continue;
      const dir = path.join(node.info.dataDir, `${topic}-${partition}`);
      if (!fs.existsSync(dir)) continue;
      const files = fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.log'))
        .sort()
        .map((f) => path.join(dir, f));
      out.push(...(await dumpLogSegmentFiles(this.jars, files, { nodeId, timeoutMs: options.timeoutMs })));
    }
    return out;
  }

  /** The last `lines` lines of a node's server.log and stdout (for error messages). */
  logTail(nodeId: number, lines = 40): string {
    const info = this.node(nodeId).info;
    return [`--- ${info.logFile} ---`, tailFile(info.logFile, lines), `--- ${info.stdoutFile} ---`, tailFile(info.stdoutFile, lines)].join('\n');
  }

  // ---- internals ----------------------------------------------------------------------------------

  private node(nodeId: number): NodeRuntime {
    const node = this.nodes.get(nodeId);
    if (node === undefined) throw new Error(`kafka-testing: no node ${nodeId} (nodes: ${this.nodeIds.join(', ')})`);
    return node;
  }

  /** Signals work on any pid we know, but only the owner may spawn JVMs: they die with their parent. */
  private assertOwnedProcesses(what: string): void {
    if (!this.owned) throw new Error(`kafka-testing: ${what} needs a cluster this process owns (start it here, not attach to it)`);
  }

  private startupTimeout(): number {
    return this.options.startupTimeoutMs ?? (this.nodes.size > 1 ? 90_000 : 60_000);
  }

  private async format(): Promise<void> {
    const infos = [...this.nodes.values()].map((n) => n.info);
    for (const info of infos) {
      fs.mkdirSync(info.dataDir, { recursive: true });
      fs.writeFileSync(info.configFile, this.serverProperties(info, infos));
      this.writeLoggingConfig(info);
    }
    // The formats are independent; two at a time keeps a 2-core machine busy without thrashing.
    const queue = [...infos];
    const worker = async (): Promise<void> => {
      for (let info = queue.shift(); info !== undefined; info = queue.shift()) {
        const args = ['format', '-t', this.clusterId, '-c', info.configFile];
        // One node: a dynamic single-voter quorum (what a 4.x quickstart does). Three nodes use static
        // controller.quorum.voters, which 3.9 and 4.x both format without any quorum flag.
        if (infos.length === 1) args.push('--standalone');
        for (const [name, level] of Object.entries(this.options.features ?? {})) args.push('--feature', `${name}=${level}`);
        args.push(...(this.options.formatArgs ?? []));
        await runJavaToolOrThrow(this.jars, this.jars.profile.classes.storageTool, args, { timeoutMs: 120_000 });
      }
    };
    await Promise.all([worker(), worker()]);
  }

  private serverProperties(info: KafkaNodeInfo, all: KafkaNodeInfo[]): string {
    const n = all.length;
    const rf = String(Math.min(3, n));
    const minIsr = String(Math.min(2, n));
    const props: Record<string, string> = {
      'process.roles': 'broker,controller',
      'node.id': String(info.nodeId),
      'controller.listener.names': 'CONTROLLER',
      listeners: `PLAINTEXT://${HOST}:${info.port},CONTROLLER://${HOST}:${info.controllerPort}`,
      'inter.broker.listener.name': 'PLAINTEXT',
      'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      'log.dirs': info.dataDir,
      'num.partitions': '1',
      'default.replication.factor': '1',
      'auto.create.topics.enable': 'true',
      // Internal topics sized to the cluster: with the defaults (3 / min ISR 2) InitProducerId for a
      // transactional id never succeeds on one broker.
      'offsets.topic.replication.factor': rf,
      'transaction.state.log.replication.factor': rf,
      'transaction.state.log.min.isr': minIsr,
      'share.coordinator.state.topic.replication.factor': rf,
      'share.coordinator.state.topic.min.isr': minIsr,
      // 50 partitions each (the default) take seconds to create on first use on two cores; 5 still
      // spreads coordinators over three nodes.
      'offsets.topic.num.partitions': '5',
      'transaction.state.log.num.partitions': '5',
      'group.initial.rebalance.delay.ms': '0',
      // Two cores: fewer threads than the defaults (3 network, 8 I/O) contend less.
      'num.network.threads': '2',
      'num.io.threads': '2',
      'num.recovery.threads.per.data.dir': '1',
      'background.threads': '4',
      // The cleaner's dedupe buffer (128 MiB by default) would take a big bite of a small heap.
      'log.cleaner.dedupe.buffer.size': String(16 * 1024 * 1024),
    };
    if (n === 1) {
      props['controller.quorum.bootstrap.servers'] = `${HOST}:${info.controllerPort}`;
      props['advertised.listeners'] = `PLAINTEXT://${HOST}:${info.port},CONTROLLER://${HOST}:${info.controllerPort}`;
    } else {
      props['controller.quorum.voters'] = all.map((x) => `${x.nodeId}@${HOST}:${x.controllerPort}`).join(',');
      props['advertised.listeners'] = `PLAINTEXT://${HOST}:${info.port}`;
    }
    if (info.clientPort !== undefined && info.proxyPort !== undefined) {
      // A broker answers Metadata with the endpoints of the listener the request came in on, so a
      // client that bootstraps from a proxy is only ever told about proxies.
      props.listeners += `,CLIENT://${HOST}:${info.clientPort}`;
      props['advertised.listeners'] += `,CLIENT://${HOST}:${info.proxyPort}`;
      props['listener.security.protocol.map'] += ',CLIENT:PLAINTEXT';
    }
    for (const l of this.options.extraListeners ?? []) {
      const port = info.extraPorts?.[l.name];
      if (port === undefined) continue;
      // Each listener advertises its own address: a client that bootstraps on it must be sent back to it.
      props.listeners += `,${l.name}://${HOST}:${port}`;
      props['advertised.listeners'] += `,${l.name}://${l.advertisedHost ?? HOST}:${port}`;
      props['listener.security.protocol.map'] += `,${l.name}:${l.securityProtocol}`;
    }
    Object.assign(props, this.options.brokerConfig ?? {});
    return `# generated by libs/kafka-testing for cluster ${this.clusterId}\n${Object.entries(props)
      .map(([k, v]) => `${k}=${escapeProperty(v)}`)
      .join('\n')}\n`;
  }

  private logLevel(): string {
    return this.options.logLevel ?? (process.env.KAFKA_TESTING_LOG_LEVEL as KafkaClusterOptions['logLevel']) ?? 'WARN';
  }

  /**
   * Quiet by default (WARN) but keeps the few INFO lines that tell when a node started, registered
   * and shut down, which is what one needs when a start-up times out.
   */
  private writeLoggingConfig(info: KafkaNodeInfo): void {
    const level = this.logLevel();
    const milestones = ['kafka.server.KafkaRaftServer', 'kafka.server.BrokerServer', 'kafka.server.ControllerServer', 'kafka.server.SharedServer'];
    if (this.jars.profile.logging === 'log4j2') {
      const lines = [
        'status = error',
        'appender.file.type = File',
        'appender.file.name = FILE',
        `appender.file.fileName = ${info.logFile}`,
        'appender.file.layout.type = PatternLayout',
        'appender.file.layout.pattern = [%d] %p %m (%c)%n',
        `rootLogger.level = ${level}`,
        'rootLogger.appenderRef.file.ref = FILE',
      ];
      milestones.forEach((name, i) => {
        lines.push(`logger.m${i}.name = ${name}`, `logger.m${i}.level = ${level === 'DEBUG' ? 'DEBUG' : 'INFO'}`);
      });
      fs.writeFileSync(path.join(info.dir, 'log4j2.properties'), `${lines.join('\n')}\n`);
    } else {
      const lines = [
        `log4j.rootLogger=${level}, file`,
        'log4j.appender.file=org.apache.log4j.FileAppender',
        `log4j.appender.file.File=${info.logFile}`,
        'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
        'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
        ...milestones.map((name) => `log4j.logger.${name}=${level === 'DEBUG' ? 'DEBUG' : 'INFO'}`),
      ];
      fs.writeFileSync(path.join(info.dir, 'log4j.properties'), `${lines.join('\n')}\n`);
    }
  }

  private jvmArgs(info: KafkaNodeInfo): string[] {
    const heap = this.options.heap ?? '768m';
    const logging =
      this.jars.profile.logging === 'log4j2'
        ? [`-Dlog4j2.configurationFile=${path.join(info.dir, 'log4j2.properties')}`]
        : [`-Dlog4j.configuration=file:${path.join(info.dir, 'log4j.properties')}`];
    const extra = this.options.jvmArgs ?? [];
    const profile = this.options.jvmProfile ?? (process.env.KAFKA_TESTING_JVM_PROFILE === 'throughput' ? 'throughput' : 'fast-start');
    // Two -XX:+Use*GC flags abort the JVM, so a collector in jvmArgs replaces the profile's.
    const callerGc = extra.some((a) => /^-XX:\+Use\w+GC$/.test(a));
    const tuning =
      profile === 'throughput'
        ? // kafka-run-class.sh's flags: G1 and full tiered compilation.
          callerGc
          ? []
          : ['-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:InitiatingHeapOccupancyPercent=35', '-XX:+ExplicitGCInvokesConcurrent']
        : // C1 only and the serial collector: no C2 compile threads and no GC threads competing for two
          // cores while three JVMs start; measured about a third faster to ready than the G1 profile.
          ['-XX:TieredStopAtLevel=1', ...(callerGc ? [] : ['-XX:+UseSerialGC'])];
    return [
      `-Xms${heap}`,
      `-Xmx${heap}`,
      ...tuning,
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      ...UTF8_JVM_ARGS,
      `-Dkafka.logs.dir=${info.dir}`,
      ...logging,
      ...extra,
    ];
  }

  /** Spawns java directly (no shell in between, so signals reach the JVM and the pid is the JVM's). */
  private spawnNode(node: NodeRuntime): void {
    const info = node.info;
    const detached = this.options.detached === true;
    const out = fs.openSync(info.stdoutFile, 'a');
    const argv = [...(detached ? [] : parentDeathWrapper()), javaBinary(), ...this.jvmArgs(info), '-cp', this.jars.classpath, this.jars.profile.classes.broker, info.configFile];
    let child: ChildProcess;
    try {
      child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', out, out], detached, cwd: info.dir });
    } finally {
      fs.closeSync(out);
    }
    if (child.pid === undefined) throw new Error(`kafka-testing: could not start java for node ${info.nodeId} (is java on PATH?)`);
    const pid = child.pid;
    node.child = child;
    node.pid = pid;
    node.state = 'running';
    node.exit = null;
    if (!detached) trackPid(pid, `kafka node ${info.nodeId}`);
    // Never keep the event loop alive for a broker: a test run that forgets stop() still ends, and the
    // exit hook then kills the JVM.
    child.unref();
    child.on('exit', (code, sig) => {
      if (node.pid === pid) {
        node.exit = { code, signal: sig };
        node.state = 'stopped';
        node.child = null;
      }
      untrackPid(pid);
    });
    child.on('error', () => undefined);
  }

  private async waitExit(node: NodeRuntime, timeoutMs: number): Promise<void> {
    const pid = node.pid;
    if (pid === null) return;
    const deadline = Date.now() + timeoutMs;
    // Attached handles have no ChildProcess to hear 'exit' from; /proc works for both.
    while (node.child !== null ? node.state !== 'stopped' : isRunning(pid)) {
      if (Date.now() > deadline) throw new Error(`kafka-testing: node ${node.info.nodeId} (pid ${pid}) did not exit within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
    node.state = 'stopped';
    untrackPid(pid);
    this.writeState();
  }

  /**
   * Ready = every listed node accepts TCP, answers ApiVersions, and is itself listed as a live broker
   * in Metadata by every running node (so the controller has unfenced it and the news has spread).
   */
  private async waitReady(nodeIds: number[], timeoutMs: number): Promise<void> {
    const started = Date.now();
    for (const nodeId of nodeIds) {
      const node = this.node(nodeId);
      const endpoint = { host: node.info.host, port: node.info.port };
      const abort = (): string | undefined => (node.exit !== null || (node.child === null && node.pid !== null && !isRunning(node.pid)) ? `node ${nodeId} exited (${JSON.stringify(node.exit)})` : undefined);
      try {
        await pollUntil(
          `kafka node ${nodeId} on ${endpoint.host}:${endpoint.port}`,
          async () => {
            const av = await probeApiVersions(endpoint, 2000);
            if (av.errorCode !== 0) throw new Error(`ApiVersions error ${av.errorCode}`);
            return true;
          },
          { timeoutMs: Math.max(1000, timeoutMs - (Date.now() - started)), intervalMs: 250, abort },
        );
        await pollUntil(
          `kafka node ${nodeId} registration`,
          async () => {
            for (const other of this.nodes.values()) {
              if (other.state !== 'running') continue;
              const md = await probeMetadata({ host: other.info.host, port: other.info.port }, [], 2000);
              if (!md.brokers.some((b) => b.nodeId === nodeId)) throw new Error(`node ${other.info.nodeId} does not list node ${nodeId} yet`);
            }
            return true;
          },
          { timeoutMs: Math.max(1000, timeoutMs - (Date.now() - started)), intervalMs: 250, abort },
        );
      } catch (e) {
        throw new Error(`${(e as Error).message}\n${this.logTail(nodeId)}`);
      }
    }
  }

  private writeState(): void {
    if (this.stopped && !fs.existsSync(this.clusterDir)) return;
    try {
      const state = this.state();
      fs.writeFileSync(`${this.stateFile}.tmp`, JSON.stringify(state, null, 2));
      fs.renameSync(`${this.stateFile}.tmp`, this.stateFile);
      // A plain pidfile for shell use: "nodeId pid" per running node.
      fs.writeFileSync(
        path.join(this.clusterDir, PID_FILE),
        state.nodes
          .filter((n) => n.pid !== null)
          .map((n) => `${n.nodeId} ${n.pid}\n`)
          .join(''),
      );
    } catch {
      // The folder was removed under us (stop raced a restart): nothing left to record.
    }
  }
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  const other = new Set(b);
  return a.length === b.length && a.every((x) => other.has(x));
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

/** A KRaft cluster id: 16 random bytes, URL-safe base64 without padding, never starting with '-'. */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** Free loopback ports: bind them all to port 0 at once (so they differ), read them, release them. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, HOST, () => resolve());
      });
      servers.push(server);
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

/**
 * Kafka reads server.properties with Properties.load(InputStream), which is ISO-8859-1: anything
 * outside ASCII (a password with 'Ø' in a JAAS line) must travel as a \uXXXX escape.
 */
function escapeProperty(v: string): string {
  return v
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function tailFile(file: string, lines: number): string {
  try {
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, 'r');
    try {
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      return buf.toString('utf8').split('\n').slice(-lines).join('\n');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '(no output)';
  }
}

/**
 * Kills JVMs left by a crashed run: any cluster folder whose owning Node process is gone (and that was
 * not started detached on purpose) still names its node pids; a pid is only killed if /proc shows it is
 * still the java process reading that node's config, so a recycled pid is never hit.
 */
export function cleanupStaleClusters(baseDir: string = os.tmpdir(), log: (m: string) => void = () => undefined): number {
  let killed = 0;
  let entries: string[];
  try {
    entries = fs.readdirSync(baseDir).filter((e) => e.startsWith(CLUSTER_DIR_PREFIX));
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const dir = path.join(baseDir, entry);
    const file = path.join(dir, STATE_FILE);
    let state: ClusterState;
    try {
      state = KafkaCluster.readState(file);
    } catch {
      continue;
    }
    if (state.detached || isRunning(state.ownerPid)) continue;
    killed += killClusterProcesses(state);
    fs.rmSync(dir, { recursive: true, force: true });
    log(`kafka-testing: removed stale cluster ${dir}`);
  }
  return killed;
}

/** SIGKILLs the node JVMs named in a state file (verified through /proc); returns how many were killed. */
export function killClusterProcesses(state: ClusterState): number {
  let killed = 0;
  for (const n of state.nodes) {
    if (n.pid === null || !isRunning(n.pid) || !pidMatches(n.pid, n.configFile)) continue;
    try {
      process.kill(n.pid, 'SIGCONT');
      process.kill(n.pid, 'SIGKILL');
      killed++;
    } catch {
      // gone meanwhile
    }
  }
  return killed;
}
