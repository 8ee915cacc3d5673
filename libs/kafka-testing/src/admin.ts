import { runJavaToolOrThrow } from './java-tools';
import { KafkaJars } from './maven-jars';

export interface TopicSpec {
  name: string;
  /** Default 1. */
  partitions?: number;
  /** Default: the cluster's broker count, capped at 3. */
  replicationFactor?: number;
  /** Topic-level configs, e.g. { 'min.insync.replicas': '2' }. */
  configs?: Record<string, string>;
}

/**
 * The seam through which the harness creates and deletes topics. Today it shells out to Kafka's own
 * TopicCommand; it can later be swapped for the project's CreateTopics/DeleteTopics codec without
 * touching the tests. Implementations only submit the change: the cluster waits for metadata.
 */
export interface TopicAdmin {
  createTopics(bootstrap: string, specs: readonly TopicSpec[]): Promise<void>;
  deleteTopics(bootstrap: string, names: readonly string[]): Promise<void>;
}

/**
 * TopicCommand creates one topic per invocation, so each topic costs one JVM start (about 1–2 s on
 * two cores). Topics are created one after another: parallel JVMs would only fight for the cores.
 */
export class TopicCommandAdmin implements TopicAdmin {
  constructor(private readonly jars: KafkaJars) {}

  async createTopics(bootstrap: string, specs: readonly TopicSpec[]): Promise<void> {
    for (const spec of specs) {
      const args = [
        '--bootstrap-server',
        bootstrap,
        '--create',
        '--if-not-exists',
        '--topic',
        spec.name,
        '--partitions',
        String(spec.partitions ?? 1),
        '--replication-factor',
        String(spec.replicationFactor ?? 1),
      ];
      for (const [k, v] of Object.entries(spec.configs ?? {})) args.push('--config', `${k}=${v}`);
      await runJavaToolOrThrow(this.jars, this.jars.profile.classes.topicCommand, args, { timeoutMs: 60_000 });
    }
  }

  async deleteTopics(bootstrap: string, names: readonly string[]): Promise<void> {
    for (const name of names) {
      // For --delete, --topic is a regular expression; '.' is the only legal topic character that means
      // something there, and unescaped it would also delete e.g. "aXb" for "a.b".
      const exact = name.replace(/\./g, '\\.');
      await runJavaToolOrThrow(this.jars, this.jars.profile.classes.topicCommand, ['--bootstrap-server', bootstrap, '--delete', '--if-exists', '--topic', exact], {
        timeoutMs: 60_000,
      });
    }
  }
}
