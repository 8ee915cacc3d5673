import { producerConfigProblems } from '@app/kafka-producer';
import { KafkaProducerOptionsException } from './kafka-producer.exceptions';
import { splitModuleOptions, type KafkaProducerModuleOptions } from './kafka-producer.options';

/**
 * Checks resolved module options before anything is built: the module's own keys here, the producer's
 * configuration by the producer's own rules (unknown keys, ranges, cross-field rules). One exception
 * names every problem; values are never printed, so a secret cannot leak into a boot log.
 */
export function validateModuleOptions(name: string, options: KafkaProducerModuleOptions): void {
  const problems: string[] = [];
  if (options === null || typeof options !== 'object') throw new KafkaProducerOptionsException(name, ['options must be an object']);
  const { own, producer } = splitModuleOptions(options);
  if (own.connect !== 'fail-fast' && own.connect !== 'background') problems.push("connect must be 'fail-fast' or 'background'");
  for (const key of ['connectTimeoutMs', 'shutdownTimeoutMs'] as const) {
    const v = own[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) problems.push(`${key} must be a non-negative integer of milliseconds`);
  }
  if (own.interceptors !== undefined && !Array.isArray(own.interceptors)) problems.push('interceptors must be an array of interceptor classes or objects');
  problems.push(...producerConfigProblems(producer));
  if (problems.length > 0) throw new KafkaProducerOptionsException(name, problems);
}
