import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BadInputRow, ScenarioRow } from './support/rows';

/** Renders docs/reliability.md from the rows the scenarios wrote (see support/rows.ts). */

export interface FuzzStats {
  cases: number;
  decoded: number;
  rejected: number;
  seconds: number;
  multiplier: number;
  seed: number | null;
}

export interface ReportInput {
  scale: 'ci' | 'full';
  scenarios: ScenarioRow[];
  badInput: BadInputRow[];
  fuzz: FuzzStats | null;
  /** Scenario files whose test failed without writing a row, or jest's own failures. */
  jestFailed: boolean;
  commit: string;
  startedAt: string;
  wallSeconds: number;
  machine: string;
}

interface StoredRow<T> {
  kind: string;
  row: T;
}

export function readRows(dir: string): { scenarios: ScenarioRow[]; badInput: BadInputRow[] } {
  const scenarios: ScenarioRow[] = [];
  const badInput: BadInputRow[] = [];
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []) {
    if (!f.endsWith('.json') || f === 'fuzz.json') continue;
    const stored = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as StoredRow<unknown>;
    if (stored.kind === 'scenario') scenarios.push(stored.row as ScenarioRow);
    else if (stored.kind === 'bad-input') badInput.push(stored.row as BadInputRow);
  }
  const order = (id: string): [string, number] => [id.replace(/[0-9].*$/, ''), Number(id.replace(/^[A-Za-z]+/, '').replace(/[^0-9.].*$/, '')) || 0];
  const byId = (a: { id: string }, b: { id: string }): number => {
    const [pa, na] = order(a.id);
    const [pb, nb] = order(b.id);
    return pa.localeCompare(pb) || na - nb || a.id.localeCompare(b.id);
  };
  return { scenarios: scenarios.sort(byId), badInput: badInput.sort(byId) };
}

const cell = (s: string | number | boolean | null | undefined): string => String(s ?? '–').replace(/\|/g, '\\|').replace(/\n/g, ' ');
const num = (n: number): string => n.toLocaleString('en-US');
const ms = (n: number | null): string => (n === null ? '–' : n < 10_000 ? `${num(Math.round(n))} ms` : `${(n / 1000).toFixed(1)} s`);

export function renderReport(input: ReportInput): string {
  const out: string[] = [];
  const failing = input.scenarios.filter((r) => !r.passed).length + input.badInput.filter((r) => !r.passed).length;
  out.push('# Reliability under faults and bad input');
  out.push('');
  out.push(
    `Written by \`npm run test:reliability\`${input.scale === 'ci' ? ' (CI scale: small counts, the fast scenarios)' : ''} at ${input.commit} on ${input.startedAt}, ` +
      `${input.machine}; the run took ${(input.wallSeconds / 60).toFixed(1)} min. ` +
      `Every count below comes from reading the topic back with the Java consumer (libs/kafka-testing), which shares no code with the producer. ` +
      (failing === 0 && !input.jestFailed ? 'Every scenario and bad-input case passed.' : `**${failing} row(s) failed${input.jestFailed ? ', and jest reported failures' : ''}.**`),
  );
  out.push('');
  out.push('## Scenarios');
  out.push('');
  out.push('Lost (acknowledged, not in the log) must be 0 everywhere; duplicates and order violations must be 0 where the producer is idempotent (the default). ' +
    '"Failed" are sends that ended in a typed error; "written anyway" counts the failed ones the log holds all the same (allowed only for errors that say the record may have been written). ' +
    'Time to recover: for a fault that stops every partition (all brokers paused or down, the quorum lost), from the end of the fault to the next acknowledgement; for a fault on one broker or connection, the longest one partition went without an acknowledgement while the others went on (the failover). Throughput is acknowledged records per second of sending, on a 2-core machine that also runs the brokers. ' +
    'Peak RSS is the test process (producer and harness), not the brokers.');
  out.push('');
  out.push('| ID | Scenario | Sent | Acknowledged | Failed | Written anyway | Lost | Duplicates | Order violations | Offset mismatches | Faults injected | Time to recover | Longest ack gap | Throughput (rec/s) | Peak RSS (MiB) | Result |');
  out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|');
  for (const r of input.scenarios) {
    out.push(
      `| ${cell(r.id)} | ${cell(r.name)} | ${num(r.sent)} | ${num(r.acked)} | ${num(r.failed)} | ${num(r.failedButWritten)} | ${num(r.lost)} | ${num(r.duplicates)} | ${num(r.orderViolations)} | ${num(r.offsetMismatches)} | ${cell(r.faults)} | ${ms(r.timeToRecoverMs)} | ${ms(r.longestAckGapMs)} | ${num(Math.round(r.throughput))} | ${r.peakRssMiB.toFixed(0)} | ${r.passed ? 'pass' : '**FAIL**'} |`,
    );
  }
  out.push('');
  out.push('### Per scenario');
  out.push('');
  for (const r of input.scenarios) {
    const parts = [`**${r.id} ${r.name}.** ${r.setup}; producer: ${r.producer}. ${r.durationMs > 0 ? `Ran ${ms(r.durationMs)}.` : ''}`];
    if (r.failures !== undefined && Object.keys(r.failures).length > 0) parts.push(`Failures: ${Object.entries(r.failures).map(([k, v]) => `${k} × ${num(v)}`).join(', ')}.`);
    if (r.extra !== undefined && Object.keys(r.extra).length > 0) parts.push(`Also measured: ${Object.entries(r.extra).map(([k, v]) => `${k} ${typeof v === 'number' ? num(v) : v}`).join('; ')}.`);
    if (r.notes !== undefined) parts.push(r.notes);
    out.push(`- ${parts.join(' ')}`);
  }
  out.push('');
  out.push('## Decoder fuzzing');
  out.push('');
  if (input.fuzz === null) out.push('Not run.');
  else
    out.push(
      `${num(input.fuzz.cases)} cases in ${input.fuzz.seconds} s (FUZZ_MULTIPLIER=${input.fuzz.multiplier}${input.fuzz.seed === null ? '' : `, seed ${input.fuzz.seed}`}): ` +
        `${num(input.fuzz.decoded)} decoded, ${num(input.fuzz.rejected)} rejected with a typed ProtocolDecodeError, no other outcome. ` +
        'Every response decoder at every version the producer speaks, the RecordBatch decoder (compressed batches included) and frame reassembly; ' +
        'mutations: bit flips, truncation at every offset, lengths of -1, -2 and INT32_MAX, overlong varints, huge compact-array counts, unknown tagged fields, bad CRCs. ' +
        'Each case must finish within 1 s and allocate no Buffer larger than its input (libs/kafka-producer/src/protocol/decoder-fuzz.spec.ts). ' +
        'Allocations inside the native codecs are not visible to that check. The unit run (CI) runs 1× on every change.',
    );
  out.push('');
  out.push('## Bad input');
  out.push('');
  out.push('Each case on a running producer: the error must arrive within its bound, and a send after it on the same producer must be acknowledged.');
  out.push('');
  out.push('| ID | Input | Surfaced | Error | Code | Retriable | Time | Bound | Producer still works | Nothing written | Result |');
  out.push('|---|---|---|---|---|---|---:|---:|---|---|---|');
  for (const r of input.badInput) {
    out.push(
      `| ${cell(r.id)} | ${cell(r.input)} | ${r.surfaced} | ${cell(r.errorName)} | ${cell(r.errorCode)} | ${cell(r.retriable)} | ${ms(r.ms)} | ${ms(r.boundMs)} | ${r.producerStillWorks ? 'yes' : '**no**'} | ${r.nothingWritten === null ? '–' : r.nothingWritten ? 'yes' : '**no**'} | ${r.passed ? 'pass' : '**FAIL**'} |`,
    );
  }
  if (input.badInput.length > 0) {
    out.push('');
    out.push('Messages:');
    out.push('');
    for (const r of input.badInput) out.push(`- ${r.id}: ${cell(r.message)}`);
  }
  out.push('');
  return out.join('\n');
}
