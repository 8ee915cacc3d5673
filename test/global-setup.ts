/**
 * Jest globalSetup for the e2e suite: resolves the Kafka jars (once, cached in .kafka/) and starts the
 * 1-node cluster the test files share through sharedCluster(). Runs in Jest's parent process; test
 * files find the cluster through the state file named by KAFKA_TEST_SHARED_STATE. Set
 * KAFKA_TEST_SHARED_CLUSTER=off to skip it when running only files that start their own clusters.
 *
 * Relative import: moduleNameMapper does not apply to globalSetup modules.
 */
import { startSharedCluster } from '../libs/kafka-testing/src/test-cluster';

export default async function globalSetup(): Promise<void> {
  if (process.env.KAFKA_TEST_SHARED_CLUSTER === 'off') return;
  const started = Date.now();
  const cluster = await startSharedCluster({ log: (m) => process.stderr.write(`${m}\n`) });
  process.stderr.write(`\nshared Kafka for the e2e tests: ${cluster.bootstrap} (${Date.now() - started} ms)\n`);
}
