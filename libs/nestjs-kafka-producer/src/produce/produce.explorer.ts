import { type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, type ModuleRef } from '@nestjs/core';
import type { KafkaProducerService } from '../kafka-producer.service';
import { bindTransactional, transactionalEntriesOf, type TransactionalProducer } from '../transactional/transactional.decorator';
import { KafkaTransactionalConfigException } from '../transactional/transactional.exceptions';
import { bindProduce, produceEntriesOf, type ProduceEntry, type ProduceTopicFromConfig } from './produce.decorator';
import { KafkaProduceTopicConfigException } from './produce.exceptions';

/**
 * Where `@Produce({ topic: { config: KEY } })` reads KEY at startup: provide any object with
 * `get(key)` under this token, e.g. `{ provide: KAFKA_PRODUCE_CONFIG, useExisting: ConfigService }`
 * for @nestjs/config. Without such a provider, `process.env` is read.
 */
export const KAFKA_PRODUCE_CONFIG = 'KAFKA_PRODUCE_CONFIG';

export interface KafkaProduceConfigSource {
  get(key: string): unknown;
}

/** What the explorer binds: the real service, or the testing double. */
export type ExplorableProducer = Pick<KafkaProducerService, 'send'> & TransactionalProducer;

/**
 * One per KafkaProducerModule registration (and per KafkaProducerTestingModule): at onModuleInit it
 * binds its producer to every controller and provider instance whose @Produce or @Transactional
 * methods name it. Bindings live on the instances, not in a process-wide registry, so several
 * applications in one process (tests) stay apart. A @Transactional naming a producer without
 * transactionalId stops boot.
 */
export class KafkaProduceExplorer implements OnModuleInit {
  constructor(
    private readonly producerName: string,
    private readonly producer: ExplorableProducer,
    private readonly serializeValues: boolean,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly moduleRef: ModuleRef,
  ) {}

  onModuleInit(): void {
    const config = this.configSource();
    for (const wrapper of [...this.discovery.getControllers(), ...this.discovery.getProviders()]) {
      const instance: unknown = wrapper.instance;
      if (wrapper.isAlias || instance === null || typeof instance !== 'object') continue;
      const prototype = Object.getPrototypeOf(instance) as object | null;
      if (prototype === null || prototype === Object.prototype) continue;
      // per-request instances do not exist yet: bind their prototype, which every such instance inherits
      const target = wrapper.isDependencyTreeStatic() ? instance : prototype;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        for (const entry of produceEntriesOf((prototype as Record<string, unknown>)[method])) {
          if (entry.producerName !== this.producerName) continue;
          bindProduce(target, entry, { producer: this.producer, serializeValues: this.serializeValues, topic: topicFromConfig(entry, config) });
        }
        for (const entry of transactionalEntriesOf((prototype as Record<string, unknown>)[method])) {
          if (entry.producerName !== this.producerName) continue;
          if (this.producer.transactionalId === null) throw new KafkaTransactionalConfigException(entry.where, entry.producerName);
          bindTransactional(target, entry, this.producer);
        }
      }
    }
  }

  private configSource(): { source: string; get: (key: string) => unknown } {
    let provided: KafkaProduceConfigSource | undefined;
    try {
      provided = this.moduleRef.get<KafkaProduceConfigSource>(KAFKA_PRODUCE_CONFIG, { strict: false });
    } catch {
      provided = undefined;
    }
    if (provided !== undefined && typeof provided.get === 'function') return { source: `the ${KAFKA_PRODUCE_CONFIG} provider`, get: (key) => provided!.get(key) };
    return { source: 'process.env', get: (key) => process.env[key] };
  }
}

function topicFromConfig(entry: ProduceEntry, config: { source: string; get: (key: string) => unknown }): string | undefined {
  const topic = entry.options.topic;
  if (typeof topic !== 'object' || topic === null) return undefined;
  const { config: key, default: fallback } = topic as ProduceTopicFromConfig;
  const value = config.get(key);
  if (typeof value === 'string' && value !== '') return value;
  if (fallback !== undefined) return fallback;
  throw new KafkaProduceTopicConfigException(entry.where, key, config.source);
}
