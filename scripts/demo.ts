/**
 * `npm run demo`: starts a local Kafka (fetching its jars from Maven Central on first use), runs the
 * sample Nest application against it, then reads the topic back with the Java consumer so you can see
 * what was produced. Set KAFKA_BOOTSTRAP_SERVERS to use an existing cluster instead.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { KafkaCluster, type KafkaClusterBase, externalCluster } from '@app/kafka-testing';

async function main(): Promise<void> {
  const topic = `orders-${Date.now().toString(36)}`;
  let cluster: KafkaClusterBase;
  let owned: KafkaCluster | null = null;
  if (process.env.KAFKA_BOOTSTRAP_SERVERS) {
    cluster = await externalCluster(process.env.KAFKA_BOOTSTRAP_SERVERS);
  } else {
    console.log('Starting a local Kafka (first run fetches the jars from Maven Central)...');
    owned = await KafkaCluster.start({ nodes: 1, log: (m) => console.log(`  ${m}`) });
    cluster = owned;
  }
  try {
    console.log(`Kafka is up at ${cluster.bootstrap}; creating topic ${topic} with 3 partitions`);
    await cluster.createTopic({ name: topic, partitions: 3, replicationFactor: 1 });

    console.log('\nRunning the sample app (apps/sample):');
    await run(process.execPath, ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', path.join('apps', 'sample', 'src', 'main.ts')], {
      ...process.env,
      KAFKA_BOOTSTRAP_SERVERS: cluster.bootstrap,
      SAMPLE_TOPIC: topic,
    });

    console.log('\nReading the topic back with the Java consumer:');
    const records = await cluster.consumeWithJava({ topic, expectedCount: 9, timeoutMs: 60_000 });
    for (const r of records) {
      const headers = r.headers.map(([k, v]) => `${k}=${v?.toString() ?? 'null'}`).join(', ');
      console.log(`  ${topic}[${r.partition}]@${r.offset} key=${r.key?.toString()} value=${r.value?.toString()} headers={${headers}}`);
    }
    console.log(`\n${records.length} records produced by the sample and read back by Java.`);
  } finally {
    await owned?.stop();
  }
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', env });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the sample app exited with code ${code}`))));
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
