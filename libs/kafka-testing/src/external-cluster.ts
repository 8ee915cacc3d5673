import { TopicAdmin } from './admin';
import { KafkaClusterBase } from './cluster-base';
import { ensureKafkaJars, KafkaJars } from './maven-jars';
import { parseEndpoint, probeMetadata } from './probe';

/**
 * A cluster this process did not start: one named by KAFKA_BOOTSTRAP_SERVERS, a container, or the
 * shared cluster seen from a test file. Topics and the Java verifier work (through the bootstrap
 * servers); there are no fault controls and no access to log files.
 */
export class ExternalKafkaCluster extends KafkaClusterBase {
  readonly bootstrapServers: string[];
  protected readonly defaultReplicationFactor: number;

  constructor(
    jars: KafkaJars,
    bootstrapServers: readonly string[],
    options: { defaultReplicationFactor?: number; admin?: TopicAdmin; onStop?: () => Promise<void> } = {},
  ) {
    super(jars, options.admin);
    this.bootstrapServers = [...bootstrapServers];
    this.defaultReplicationFactor = options.defaultReplicationFactor ?? 1;
    this.onStop = options.onStop;
  }

  private readonly onStop: (() => Promise<void>) | undefined;

  /** Leaves an existing cluster running; a container is stopped through `onStop`. */
  async stop(): Promise<void> {
    await this.onStop?.();
  }
}

export function splitBootstrap(bootstrap: string | readonly string[]): string[] {
  const list = typeof bootstrap === 'string' ? bootstrap.split(',') : [...bootstrap];
  const out = list.map((s) => s.trim()).filter((s) => s !== '');
  if (out.length === 0) throw new Error('kafka-testing: empty bootstrap server list');
  for (const s of out) parseEndpoint(s);
  return out;
}

/**
 * Connects to an existing cluster: checks it answers Metadata, sizes the default replication factor
 * to its broker count (capped at 3), and resolves the jars for the Java tools.
 */
export async function externalCluster(
  bootstrap: string | readonly string[],
  options: { version?: string; admin?: TopicAdmin; onStop?: () => Promise<void>; log?: (m: string) => void } = {},
): Promise<ExternalKafkaCluster> {
  const servers = splitBootstrap(bootstrap);
  const jars = await ensureKafkaJars({ version: options.version, log: options.log });
  let brokers = 0;
  let lastError: unknown;
  for (const s of servers) {
    try {
      brokers = (await probeMetadata(parseEndpoint(s), [], 5000)).brokers.length;
      break;
    } catch (e) {
      lastError = e;
    }
  }
  if (brokers === 0) throw new Error(`kafka-testing: no broker at ${servers.join(',')} answered Metadata: ${(lastError as Error | undefined)?.message ?? 'no brokers listed'}`);
  return new ExternalKafkaCluster(jars, servers, { defaultReplicationFactor: Math.min(3, brokers), admin: options.admin, onStop: options.onStop });
}
