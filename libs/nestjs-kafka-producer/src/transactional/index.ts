export { Transactional, TRANSACTIONAL_METADATA } from './transactional.decorator';
export type { KafkaTransaction } from './transaction-context';
export {
  KafkaTransactionRequiredException,
  KafkaTransactionClosedException,
  KafkaTransactionRollbackOnlyException,
  KafkaTransactionalNotBoundException,
  KafkaTransactionalConfigException,
  KafkaTransactionalResultException,
} from './transactional.exceptions';
