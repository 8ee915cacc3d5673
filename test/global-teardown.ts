/**
 * Jest globalTeardown: stops the shared cluster (same process as globalSetup). Even when this does not
 * run (a crash, Ctrl-C), the harness's exit hooks, the JVMs' parent-death signal and the stale-cluster
 * cleanup of the next run make sure no broker JVM outlives the test run.
 */
import { stopSharedCluster } from '../libs/kafka-testing/src/test-cluster';

export default async function globalTeardown(): Promise<void> {
  await stopSharedCluster();
}
