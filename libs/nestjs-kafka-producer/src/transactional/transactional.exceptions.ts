import { KafkaError } from '@app/kafka-producer';

function forRootOf(producerName: string): string {
  return producerName === 'default' ? 'KafkaProducerModule.forRoot({ transactionalId, ... })' : `KafkaProducerModule.forRoot({ name: '${producerName}', transactionalId, ... })`;
}

function decoratorOf(producerName: string): string {
  return producerName === 'default' ? '@Transactional()' : `@Transactional('${producerName}')`;
}

/**
 * send() on a transactional producer outside any transaction. Java's producer throws here too: a
 * record outside a transaction has no commit to wait for, and on a producer that serves several
 * requests it would otherwise slip into whichever transaction happens to be open.
 */
export class KafkaTransactionRequiredException extends KafkaError {
  constructor(readonly producerName: string) {
    super(
      `producer '${producerName}' is transactional, so send() must run inside a transaction: call it from a ${decoratorOf(producerName)} method ` +
        `or inside transaction(async (tx) => ...) of that producer. Records that belong to no transaction need a second, non-transactional producer (KafkaProducerModule.forRoot({ name, ... }) without transactionalId).`,
      { code: 'TRANSACTION_REQUIRED', retriable: false },
    );
  }
}

/** A send made through a transaction whose function already returned (an un-awaited send, or a timer started inside it). */
export class KafkaTransactionClosedException extends KafkaError {
  constructor(readonly producerName: string) {
    super(
      `producer '${producerName}': send() after its transaction's function returned; the transaction is committing or over, and the record would land in the next one. ` +
        'Await every send inside the transactional method.',
      { code: 'TRANSACTION_CLOSED', retriable: false },
    );
  }
}

/**
 * The outer function returned normally although a nested transactional call inside it threw and the
 * outer one caught the error. Both belong to one Kafka transaction, which is aborted rather than
 * committed half-done (Spring's UnexpectedRollbackException, for the same reason).
 */
export class KafkaTransactionRollbackOnlyException extends KafkaError {
  constructor(
    readonly producerName: string,
    cause: unknown,
  ) {
    super(
      `producer '${producerName}': the transaction was aborted because a nested transactional call inside it failed` +
        `${cause instanceof Error ? ` (${cause.message})` : ''}, although the outer function caught that error and returned normally`,
      { code: 'TRANSACTION_ROLLBACK_ONLY', retriable: false, cause },
    );
  }
}

/** A @Transactional method ran in an instance no KafkaProducerModule bound (wrong name, module not imported, or called before onModuleInit). */
export class KafkaTransactionalNotBoundException extends KafkaError {
  constructor(where: string, producerName: string) {
    super(
      `${decoratorOf(producerName)} on ${where} has no producer '${producerName}': did you import ${forRootOf(producerName)} in this application? ` +
        'Calls before onModuleInit, and on instances Nest did not create, are not bound either.',
      { code: 'TRANSACTIONAL_NOT_BOUND' },
    );
  }
}

/** A @Transactional method names a producer without transactionalId: the application does not boot. */
export class KafkaTransactionalConfigException extends KafkaError {
  constructor(where: string, producerName: string) {
    super(`${decoratorOf(producerName)} on ${where}: producer '${producerName}' has no transactionalId; set it (${forRootOf(producerName)})`, { code: 'TRANSACTIONAL_NOT_TRANSACTIONAL' });
  }
}

/** A @Transactional method returned an Observable: the transaction would commit before the Observable's work ran. */
export class KafkaTransactionalResultException extends KafkaError {
  constructor(where: string) {
    super(`@Transactional on ${where} returned an Observable; return a value or a Promise (e.g. lastValueFrom) so the transaction covers the work`, { code: 'TRANSACTIONAL_OBSERVABLE_RESULT' });
  }
}
