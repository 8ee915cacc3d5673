import * as readline from 'node:readline';
import { KafkaError, KafkaProducer } from '@app/kafka-producer';

/**
 * A transactional producer in a process of its own, so a scenario can SIGKILL it mid-transaction
 * (nothing in the producer gets to run: no abort on close, no flush) and then start another one with
 * the same transactionalId. It takes one JSON command per stdin line and answers each with one JSON
 * line on stdout, in order; the producer logs to stderr.
 *
 *   node -r ts-node/register/transpile-only -r tsconfig-paths/register test/reliability/support/txn-driver.ts \
 *     '{"bootstrapServers":["127.0.0.1:9092"],"transactionalId":"t-1"}'
 *
 * Commands: init, begin, send {topic, records: [{value, partition}]}, commit, abort, state, close.
 * A send answers once every record of it settled, with each record's offset or error.
 */

export interface DriverOptions {
  bootstrapServers: string[];
  transactionalId: string;
  transactionTimeoutMs?: number;
}

export type DriverCommand =
  | { op: 'init' | 'begin' | 'commit' | 'abort' | 'state' | 'close' }
  | { op: 'send'; topic: string; records: Array<{ value: string; partition: number }> };

export interface DriverError {
  name: string;
  code: string | null;
  message: string;
}

export interface DriverReply {
  seq: number;
  op: DriverCommand['op'];
  ok: boolean;
  error?: DriverError;
  /** The producer's transaction state after the command. */
  state: string;
  /** For send: each record's outcome, in command order. */
  records?: Array<{ value: string; partition?: number; offset?: string; error?: DriverError }>;
}

function describe(e: unknown): DriverError {
  return { name: (e as Error)?.name ?? typeof e, code: e instanceof KafkaError ? e.code : null, message: (e as Error)?.message ?? String(e) };
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as DriverOptions;
  const producer = new KafkaProducer({
    bootstrapServers: options.bootstrapServers,
    transactionalId: options.transactionalId,
    transactionTimeoutMs: options.transactionTimeoutMs ?? 60_000,
    lingerMs: 5,
    logger: { warn: (m) => process.stderr.write(`warn ${m}\n`), error: (m) => process.stderr.write(`error ${m}\n`) },
  });
  const state = (): string => producer.transactionState ?? 'none';
  let seq = 0;
  // one command at a time, in arrival order: the scenario reasons about what happened before what
  let chain: Promise<void> = Promise.resolve();
  const run = async (command: DriverCommand): Promise<DriverReply> => {
    const base = { seq: seq++, op: command.op };
    try {
      switch (command.op) {
        case 'init':
          await producer.initTransactions();
          break;
        case 'begin':
          producer.beginTransaction();
          break;
        case 'commit':
          await producer.commitTransaction();
          break;
        case 'abort':
          await producer.abortTransaction();
          break;
        case 'state':
          break;
        case 'close':
          await producer.close({ timeoutMs: 10_000 });
          break;
        case 'send': {
          const records = await Promise.all(
            command.records.map((r) =>
              producer.send({ topic: command.topic, partition: r.partition, key: null, value: r.value }).then(
                (md) => ({ value: r.value, partition: md.partition, offset: md.offset.toString() }),
                (e: unknown) => ({ value: r.value, error: describe(e) }),
              ),
            ),
          );
          const failed = records.find((r) => 'error' in r);
          return { ...base, ok: failed === undefined, ...(failed !== undefined && 'error' in failed ? { error: failed.error } : {}), state: state(), records };
        }
      }
      return { ...base, ok: true, state: state() };
    } catch (e) {
      return { ...base, ok: false, error: describe(e), state: state() };
    }
  };
  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() === '') return;
    const command = JSON.parse(line) as DriverCommand;
    chain = chain.then(async () => {
      const reply = await run(command);
      process.stdout.write(`${JSON.stringify(reply)}\n`);
      if (command.op === 'close') process.exit(0);
    });
  });
  // the scenario's end: stdin closes when the test process lets go of it
  lines.on('close', () => {
    void chain.then(() => producer.close({ timeoutMs: 5_000 })).finally(() => process.exit(0));
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`txn-driver failed: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
