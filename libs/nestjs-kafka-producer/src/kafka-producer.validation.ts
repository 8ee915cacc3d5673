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
  const flagged = problems.map(fieldOf);
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
    const field = fieldOf(p);
    // one message per field: the producer repeats what class-validator already said about a shape, and
    // its "ssl: the key could not be loaded" is the same fault as a flagged ssl.key or ssl.passphrase
    if (!flagged.some((f) => sameField(f, field)) && !MODULE_OWN_KEYS.includes(field as (typeof MODULE_OWN_KEYS)[number])) problems.push(withoutValue(p));
  }
  if (problems.length > 0) throw new KafkaProducerOptionsException(name, problems);
}

/** `ssl.key must be ...` → `ssl.key`; `ssl: the CA ... could not be loaded` → `ssl`. */
function fieldOf(problem: string): string {
  return problem.split(' ')[0].replace(/:$/, '');
}

function sameField(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
}

/**
 * Node's argument errors, which the producer passes on when TLS material does not load, end with the
 * value ("Received type number (123456)", "Received type string ('-----BEGIN ...')"): cut it, the field
 * name before it says what to fix.
 */
function withoutValue(problem: string): string {
  return problem.replace(/\.? Received [\s\S]*$/, '');
}

function messagesOf(error: ValidationError): string[] {
  const own = Object.values(error.constraints ?? {});
  // the first constraint is enough to fix the field; listing all of them reads like noise
  return [...(own.length > 0 ? [own[0]] : []), ...(error.children ?? []).flatMap(messagesOf)];
}
