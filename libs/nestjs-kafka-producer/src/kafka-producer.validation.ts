import { producerConfigProblems } from '@app/kafka-producer';
import { getMetadataStorage, validateSync, type ValidationError } from 'class-validator';
import { KafkaProducerModuleOptionsDto } from './kafka-producer-options.dto';
import { KafkaProducerOptionsException } from './kafka-producer.exceptions';
import { MODULE_OWN_KEYS, splitModuleOptions, type KafkaProducerModuleOptions } from './kafka-producer.options';

/** The DTO's properties; only these are copied (plain values), so nothing the user passed is transformed. */
const DTO_KEYS = new Set(getMetadataStorage().getTargetValidationMetadatas(KafkaProducerModuleOptionsDto, '', true, false).map((m) => m.propertyName));

/**
 * Checks resolved module options before anything is built: their shapes with class-validator, then
 * what only the producer knows (unknown keys with suggestions, cross-field rules). One exception names
 * every problem, once per field; values are never printed (class-validator's errors carry the target
 * object and the value: only property names and constraint messages are kept), so a secret cannot
 * leak into a boot log.
 */
export function validateModuleOptions(name: string, options: KafkaProducerModuleOptions): void {
  if (options === null || typeof options !== 'object') throw new KafkaProducerOptionsException(name, ['options must be an object']);
  const dto = new KafkaProducerModuleOptionsDto();
  for (const [key, value] of Object.entries(options)) {
    if (DTO_KEYS.has(key) && typeof value !== 'function') (dto as unknown as Record<string, unknown>)[key] = value;
  }
  const problems = validateSync(dto, { forbidUnknownValues: false, validationError: { target: false, value: false } }).flatMap(messagesOf);
  const flagged = new Set(problems.map((p) => p.split(' ')[0]));
  const { own, producer } = splitModuleOptions(options);
  const pooled = typeof own.transactionalIdPrefix === 'string' && own.transactionalIdPrefix !== '';
  if (own.transactionalIdPrefix !== null && producer.transactionalId !== undefined) {
    problems.push('transactionalIdPrefix and transactionalId exclude each other: a pool names its members <prefix>-0, <prefix>-1, ... itself');
  }
  if (options.transactionPoolSize !== undefined && own.transactionalIdPrefix === null) {
    problems.push('transactionPoolSize needs transactionalIdPrefix (the members are named <prefix>-0, <prefix>-1, ...)');
  }
  // a pool member is a transactional producer: its rules (idempotence, acks, retries) apply to the options
  const checked = pooled && producer.transactionalId === undefined ? { ...producer, transactionalId: `${own.transactionalIdPrefix}-0` } : producer;
  for (const p of producerConfigProblems(checked)) {
    const field = p.split(' ')[0];
    // one message per field: the producer repeats what class-validator already said about a shape
    if (!flagged.has(field) && !MODULE_OWN_KEYS.includes(field as (typeof MODULE_OWN_KEYS)[number])) problems.push(p);
  }
  if (problems.length > 0) throw new KafkaProducerOptionsException(name, problems);
}

function messagesOf(error: ValidationError): string[] {
  const own = Object.values(error.constraints ?? {});
  // the first constraint is enough to fix the field; listing all of them reads like noise
  return [...(own.length > 0 ? [own[0]] : []), ...(error.children ?? []).flatMap(messagesOf)];
}
