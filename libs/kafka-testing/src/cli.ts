/**
 * `npm run kafka:fetch | kafka:start | kafka:stop` (and `status`): a local Kafka for development.
 * `start` leaves the JVMs running detached after this process exits; their state (cluster.json with
 * pids) lives under .kafka/run/, which is what `stop` and `status` read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ClusterState, KafkaCluster, killClusterProcesses } from './kafka-cluster';
import { ensureKafkaJars } from './maven-jars';
import { runDir } from './paths';
import { probeMetadata } from './probe';
import { isRunning } from './process-registry';

const CURRENT = 'current.json';

interface Args {
  command: string;
  nodes: 1 | 3;
  version?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { command: argv[0] ?? 'help', nodes: 1 };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--nodes' || a.startsWith('--nodes=')) {
      const n = Number(value());
      if (n !== 1 && n !== 3) throw new Error('--nodes must be 1 or 3');
      args.nodes = n;
    } else if (a === '--version' || a.startsWith('--version=')) {
      args.version = value();
    } else {
      throw new Error(`unknown argument ${a}`);
    }
  }
  return args;
}

/** Every cluster folder the CLI ever started under .kafka/run/, newest first. */
function cliClusters(): Array<{ dir: string; state: ClusterState }> {
  let entries: string[];
  try {
    entries = fs.readdirSync(runDir()).filter((e) => e.startsWith('kafka-testing-'));
  } catch {
    return [];
  }
  const out: Array<{ dir: string; state: ClusterState }> = [];
  for (const e of entries) {
    const dir = path.join(runDir(), e);
    try {
      out.push({ dir, state: KafkaCluster.readState(path.join(dir, 'cluster.json')) });
    } catch {
      out.push({ dir, state: null as unknown as ClusterState });
    }
  }
  return out.sort((a, b) => (b.state?.startedAt ?? '').localeCompare(a.state?.startedAt ?? ''));
}

function runningNodes(state: ClusterState): number {
  return state.nodes.filter((n) => n.pid !== null && isRunning(n.pid)).length;
}

async function start(args: Args): Promise<void> {
  const current = path.join(runDir(), CURRENT);
  if (fs.existsSync(current)) {
    const state = KafkaCluster.readState(current);
    if (runningNodes(state) > 0) {
      console.log(`Kafka is already running (${runningNodes(state)}/${state.nodes.length} nodes): ${state.bootstrapServers.join(',')}`);
      console.log('Stop it first with `npm run kafka:stop`.');
      return;
    }
  }
  await stop(true);
  fs.mkdirSync(runDir(), { recursive: true });
  const cluster = await KafkaCluster.start({
    nodes: args.nodes,
    version: args.version,
    baseDir: runDir(),
    detached: true,
    log: (m) => console.error(m),
  });
  fs.writeFileSync(current, JSON.stringify(cluster.state(), null, 2));
  console.log(cluster.bootstrap);
  console.error(`Kafka ${cluster.jars.version}, ${args.nodes} node(s); logs in ${cluster.clusterDir}/node-*/server.log. Stop with \`npm run kafka:stop\`.`);
}

/** Graceful first (SIGTERM, as kafka-server-stop does), then SIGKILL whatever is left. */
async function stop(quiet = false): Promise<void> {
  const clusters = cliClusters();
  let stopped = 0;
  for (const { dir, state } of clusters) {
    if (state !== null) {
      const alive = runningNodes(state);
      if (alive > 0) {
        const handle = KafkaCluster.attach(state, { owned: true });
        await handle.stop({ graceMs: 10_000 }).catch(() => killClusterProcesses(state));
        stopped += alive;
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  fs.rmSync(path.join(runDir(), CURRENT), { force: true });
  if (!quiet) console.log(stopped > 0 ? `Stopped ${stopped} Kafka node(s).` : 'No Kafka started by kafka:start is running.');
}

async function status(): Promise<void> {
  const current = path.join(runDir(), CURRENT);
  if (!fs.existsSync(current)) {
    console.log('No Kafka started by kafka:start.');
    return;
  }
  const state = KafkaCluster.readState(current);
  console.log(`Kafka ${state.version} (${state.clusterDir}), bootstrap ${state.bootstrapServers.join(',')}`);
  for (const n of state.nodes) {
    const alive = n.pid !== null && isRunning(n.pid);
    let serving = 'not answering';
    if (alive) {
      try {
        const md = await probeMetadata({ host: n.host, port: n.port }, [], 2000);
        serving = `serving, sees brokers [${md.brokers.map((b) => b.nodeId).join(',')}], controller ${md.controllerId}`;
      } catch (e) {
        serving = `not answering (${(e as Error).message})`;
      }
    }
    console.log(`  node ${n.nodeId}: pid ${n.pid ?? '-'} ${alive ? 'running' : 'stopped'}, ${n.host}:${n.port}, ${serving}`);
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  switch (args.command) {
    case 'fetch': {
      const jars = await ensureKafkaJars({ version: args.version, log: (m) => console.error(m) });
      console.log(`Kafka ${jars.version} jars: ${jars.libDir}`);
      return;
    }
    case 'start':
      return start(args);
    case 'stop':
      return stop();
    case 'status':
      return status();
    default:
      console.log('usage: cli.ts fetch [--version V] | start [--nodes 1|3] [--version V] | stop | status   (KAFKA_VERSION also sets the version)');
  }
}

main().then(
  // The detached JVMs hold no handles in this process, so nothing keeps it alive; exit explicitly anyway.
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
