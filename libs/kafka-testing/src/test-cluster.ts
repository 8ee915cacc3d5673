import * as fs from 'node:fs';
import * as path from 'node:path';
import { KafkaClusterBase } from './cluster-base';
import { containerCluster } from './container-cluster';
import { ExternalKafkaCluster, externalCluster, splitBootstrap } from './external-cluster';
import { ClusterState, KafkaCluster, KafkaClusterOptions } from './kafka-cluster';
import { KafkaJars } from './maven-jars';
import { runDir } from './paths';
import { isRunning } from './process-registry';
import { versionProfile } from './versions';

/** Path of the shared cluster's state file; set by the Jest global setup for the test files. */
export const SHARED_STATE_ENV = 'KAFKA_TEST_SHARED_STATE';
/** The shared cluster's bootstrap list, for code that only needs an address. */
export const SHARED_BOOTSTRAP_ENV = 'KAFKA_TEST_SHARED_BOOTSTRAP';

export type TestClusterKind = 'external' | 'container' | 'local';

/** Which cluster getTestCluster() will give, from the environment. */
export function testClusterKind(): TestClusterKind {
  if ((process.env.KAFKA_BOOTSTRAP_SERVERS ?? '') !== '') return 'external';
  if (process.env.KAFKA_TEST_BROKER === 'container') return 'container';
  return 'local';
}

/**
 * A cluster for tests, chosen in this order: KAFKA_BOOTSTRAP_SERVERS (an existing cluster, no fault
 * controls), KAFKA_TEST_BROKER=container (Testcontainers, optional package), else local JVMs.
 */
export async function getTestCluster(options: KafkaClusterOptions = {}): Promise<KafkaClusterBase> {
  switch (testClusterKind()) {
    case 'external':
      return externalCluster(process.env.KAFKA_BOOTSTRAP_SERVERS ?? '', { version: options.version, log: options.log });
    case 'container':
      return containerCluster({ version: options.version, log: options.log });
    default:
      return KafkaCluster.start(options);
  }
}

/** What the state file of the shared cluster holds. */
export interface SharedClusterState {
  kind: TestClusterKind;
  ownerPid: number;
  bootstrapServers: string[];
  defaultReplicationFactor: number;
  jars: Omit<KafkaJars, 'profile'>;
  /** Only for kind 'local': node folders and pids, so test files can dump segments. */
  local?: ClusterState;
}

interface SharedHandle {
  cluster: KafkaClusterBase;
  stateFile: string;
}

const HANDLE_KEY = '__kafkaTestingSharedCluster';
type GlobalWithHandle = typeof globalThis & { [HANDLE_KEY]?: SharedHandle };

/**
 * For Jest globalSetup: starts (or connects to) the cluster every test file shares and publishes it
 * through a state file named by KAFKA_TEST_SHARED_STATE (test files run in other module registries or
 * worker processes, which inherit the environment but not objects).
 */
export async function startSharedCluster(options: KafkaClusterOptions = {}): Promise<KafkaClusterBase> {
  cleanupStaleSharedStates();
  const cluster = await getTestCluster({ nodes: 1, ...options });
  const { profile: _profile, ...jars } = cluster.jars;
  const state: SharedClusterState = {
    kind: testClusterKind(),
    ownerPid: process.pid,
    bootstrapServers: cluster.bootstrapServers,
    defaultReplicationFactor: cluster instanceof KafkaCluster ? Math.min(3, cluster.nodeIds.length) : 1,
    jars,
    local: cluster instanceof KafkaCluster ? cluster.state() : undefined,
  };
  fs.mkdirSync(runDir(), { recursive: true });
  const stateFile = path.join(runDir(), `shared-${process.pid}.json`);
  fs.writeFileSync(stateFile, JSON.stringify(state, null, 2));
  process.env[SHARED_STATE_ENV] = stateFile;
  process.env[SHARED_BOOTSTRAP_ENV] = cluster.bootstrap;
  (globalThis as GlobalWithHandle)[HANDLE_KEY] = { cluster, stateFile };
  return cluster;
}

/** For Jest globalTeardown: stops what startSharedCluster started and removes its state file. */
export async function stopSharedCluster(): Promise<void> {
  const g = globalThis as GlobalWithHandle;
  const handle = g[HANDLE_KEY];
  if (handle === undefined) return;
  g[HANDLE_KEY] = undefined;
  try {
    await handle.cluster.stop();
  } finally {
    fs.rmSync(handle.stateFile, { force: true });
    delete process.env[SHARED_STATE_ENV];
    delete process.env[SHARED_BOOTSTRAP_ENV];
  }
}

let cached: { file: string; cluster: KafkaClusterBase } | undefined;

/**
 * The shared cluster from a test file: synchronous, so it can be called in a describe() body. A local
 * cluster comes back as a KafkaCluster attached to the running JVMs (topics, verifier, dumpLogSegments;
 * its stop() leaves the cluster up for the other files); an external one as an ExternalKafkaCluster.
 */
export function sharedCluster(): KafkaClusterBase {
  const file = process.env[SHARED_STATE_ENV];
  if (file === undefined || file === '') {
    throw new Error(
      `kafka-testing: no shared cluster (${SHARED_STATE_ENV} is not set). Run through test/jest-e2e.config.js, whose globalSetup starts it, or start a cluster in the test with KafkaCluster.start().`,
    );
  }
  if (cached !== undefined && cached.file === file) return cached.cluster;
  const state = JSON.parse(fs.readFileSync(file, 'utf8')) as SharedClusterState;
  const jars: KafkaJars = { ...state.jars, profile: versionProfile(state.jars.version) };
  const cluster =
    state.local !== undefined
      ? KafkaCluster.attach(state.local)
      : new ExternalKafkaCluster(jars, splitBootstrap(state.bootstrapServers), { defaultReplicationFactor: state.defaultReplicationFactor });
  cached = { file, cluster };
  return cluster;
}

/** Removes state files of Jest runs that died without their teardown (their JVMs are reaped by cleanupStaleClusters). */
function cleanupStaleSharedStates(): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(runDir()).filter((f) => /^shared-\d+\.json$/.test(f));
  } catch {
    return;
  }
  for (const f of entries) {
    const pid = Number(/\d+/.exec(f)?.[0]);
    if (!isRunning(pid)) fs.rmSync(path.join(runDir(), f), { force: true });
  }
}
