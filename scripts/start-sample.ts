/**
 * `npm run start:sample`: runs the sample app (apps/sample) against KAFKA_BOOTSTRAP_SERVERS when it is
 * set; otherwise starts a local one-node Kafka first (jars from Maven Central on first use), creates
 * SAMPLE_TOPIC (default `orders`), runs the app, and stops Kafka once the app has exited. The app itself
 * never starts Kafka: this wrapper does, so the app stays what a deployment would run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { KafkaCluster } from '@app/kafka-testing';

const REPO = path.resolve(__dirname, '..');
export const SAMPLE_MAIN = path.join(REPO, 'apps', 'sample', 'src', 'main.ts');
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** The app as a child process, TypeScript compiled on the fly (as `npm run start:sample` runs it). */
export function spawnSample(env: NodeJS.ProcessEnv, stdio: 'inherit' | 'pipe' = 'inherit'): ChildProcess {
  return spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', SAMPLE_MAIN], {
    cwd: REPO,
    env: { TS_NODE_PROJECT: path.join(REPO, 'tsconfig.json'), ...env },
    stdio: ['ignore', stdio, stdio],
  });
}

/** Resolves with the app's exit code, or 128 + the signal number when a signal ended it (as a shell reports it). */
export function exitCodeOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal === null ? 0 : os.constants.signals[signal])));
  });
}

async function main(): Promise<void> {
  const topic = process.env.SAMPLE_TOPIC?.trim() || 'orders';
  let cluster: KafkaCluster | null = null;
  let bootstrap = process.env.KAFKA_BOOTSTRAP_SERVERS?.trim() ?? '';
  if (bootstrap === '') {
    console.log('KAFKA_BOOTSTRAP_SERVERS is not set: starting a local Kafka (the first run fetches the jars from Maven Central)...');
    cluster = await KafkaCluster.start({ nodes: 1, log: (m) => console.log(`  ${m}`) });
    bootstrap = cluster.bootstrap;
    await cluster.createTopic({ name: topic, partitions: 3, replicationFactor: 1 });
    console.log(`Kafka is up at ${bootstrap} with topic ${topic} (3 partitions); it stops when the app does.`);
  }

  const app = spawnSample({ ...process.env, KAFKA_BOOTSTRAP_SERVERS: bootstrap, SAMPLE_TOPIC: topic });
  // kafka-testing kills its JVMs at once on these signals; while the app runs, the signal goes to the
  // app instead, so it can flush to a broker that is still there, and Kafka stops after it. A second
  // signal falls back to the immediate kill.
  const saved = new Map(FORWARDED.map((s) => [s, process.listeners(s)]));
  let signalled = false;
  const forward = (signal: NodeJS.Signals): void => {
    if (signalled) {
      for (const listener of saved.get(signal as (typeof FORWARDED)[number]) ?? []) (listener as (s: NodeJS.Signals) => void)(signal);
      process.exit(128 + os.constants.signals[signal]);
    }
    signalled = true;
    app.kill(signal);
  };
  for (const s of FORWARDED) {
    process.removeAllListeners(s);
    process.on(s, forward);
  }

  const code = await exitCodeOf(app);
  if (cluster !== null) {
    console.log('The app exited; stopping Kafka.');
    await cluster.stop();
  }
  process.exit(code);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
