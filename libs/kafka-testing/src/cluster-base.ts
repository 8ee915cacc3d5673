import { TopicAdmin, TopicCommandAdmin, TopicSpec } from './admin';
import { JavaToolOptions, runJavaTool } from './java-tools';
import { KafkaJars } from './maven-jars';
import { MetadataResult, parseEndpoint, pollUntil, probeMetadata } from './probe';
import { produceWithJava, ReferenceMetadata, ReferenceProduceOptions } from './reference-producer';
import { RunResult } from './run-process';
import { ConsumedRecord, ConsumeOptions, ConsumeResult, consumeWithJava, consumeWithJavaDetailed } from './verifier';

/** Kafka error codes the topic waits care about. */
const UNKNOWN_TOPIC_OR_PARTITION = 3;

/**
 * What every test cluster offers, wherever the brokers run (local JVMs, an existing cluster, a
 * container): topics, the Java verifier and arbitrary Kafka tools. Fault controls and log-segment
 * dumps need local processes and live on KafkaCluster only.
 */
export abstract class KafkaClusterBase {
  abstract readonly bootstrapServers: string[];
  /** Default replication factor for createTopic. */
  protected abstract readonly defaultReplicationFactor: number;
  readonly admin: TopicAdmin;

  protected constructor(
    readonly jars: KafkaJars,
    admin?: TopicAdmin,
  ) {
    this.admin = admin ?? new TopicCommandAdmin(jars);
  }

  /** 'host:port,host:port' for tools and client configs. */
  get bootstrap(): string {
    return this.bootstrapServers.join(',');
  }

  abstract stop(): Promise<void>;

  /** Metadata from the first bootstrap server that answers. */
  async metadata(topics: readonly string[] | null = [], timeoutMs = 3000): Promise<MetadataResult> {
    let lastError: unknown;
    for (const server of this.bootstrapServers) {
      try {
        return await probeMetadata(parseEndpoint(server), topics, timeoutMs);
      } catch (e) {
        lastError = e;
      }
    }
    throw new Error(`kafka-testing: no bootstrap server answered Metadata: ${(lastError as Error | undefined)?.message ?? 'no servers'}`);
  }

  async createTopic(spec: TopicSpec): Promise<void> {
    await this.createTopics([spec]);
  }

  /** Creates the topics and waits until every live broker reports a leader for every partition. */
  async createTopics(specs: readonly TopicSpec[], timeoutMs = 60_000): Promise<void> {
    const full = specs.map((s) => ({ ...s, partitions: s.partitions ?? 1, replicationFactor: s.replicationFactor ?? this.defaultReplicationFactor }));
    await this.admin.createTopics(this.bootstrap, full);
    for (const spec of full) await this.waitForTopic(spec.name, spec.partitions, timeoutMs);
  }

  async deleteTopic(name: string, timeoutMs = 60_000): Promise<void> {
    await this.admin.deleteTopics(this.bootstrap, [name]);
    await pollUntil(
      `topic ${name} deletion`,
      async () => {
        for (const endpoint of await this.liveBrokerEndpoints()) {
          const md = await probeMetadata(endpoint, [name]);
          const t = md.topics.find((x) => x.name === name);
          if (t !== undefined && t.errorCode !== UNKNOWN_TOPIC_OR_PARTITION) return undefined;
        }
        return true;
      },
      { timeoutMs },
    );
  }

  /**
   * Every broker must know the topic with a leader per partition: a producer may ask any of them, and
   * metadata reaches each broker asynchronously.
   */
  async waitForTopic(name: string, partitions?: number, timeoutMs = 60_000): Promise<void> {
    await pollUntil(
      `topic ${name}`,
      async () => {
        for (const endpoint of await this.liveBrokerEndpoints()) {
          const md = await probeMetadata(endpoint, [name]);
          const t = md.topics.find((x) => x.name === name);
          if (t === undefined || t.errorCode !== 0) return undefined;
          if (partitions !== undefined && t.partitions.length !== partitions) return undefined;
          if (t.partitions.length === 0 || t.partitions.some((p) => p.leaderId < 0 || p.errorCode !== 0)) return undefined;
        }
        return true;
      },
      { timeoutMs },
    );
  }

  /** The brokers to check for metadata propagation: those the cluster itself lists as alive. */
  protected async liveBrokerEndpoints(): Promise<Array<{ host: string; port: number }>> {
    const md = await this.metadata([]);
    return md.brokers.map((b) => ({ host: b.host, port: b.port }));
  }

  consumeWithJava(options: ConsumeOptions): Promise<ConsumedRecord[]> {
    return consumeWithJava(this.jars, this.bootstrap, options);
  }

  consumeWithJavaDetailed(options: ConsumeOptions): Promise<ConsumeResult> {
    return consumeWithJavaDetailed(this.jars, this.bootstrap, options);
  }

  /** Writes exact bytes with the Java producer (a reference writer independent of ours). */
  produceWithJava(options: ReferenceProduceOptions): Promise<ReferenceMetadata[]> {
    return produceWithJava(this.jars, this.bootstrap, options);
  }

  /** Any main class from the Kafka jars; `{bootstrap}` in args is replaced by the bootstrap list. */
  runJavaTool(className: string, args: readonly string[], options?: JavaToolOptions): Promise<RunResult> {
    return runJavaTool(
      this.jars,
      className,
      args.map((a) => a.split('{bootstrap}').join(this.bootstrap)),
      options,
    );
  }
}
