import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readRows, renderReport, type FuzzStats } from './report';

/**
 * npm run test:reliability       the whole matrix at full counts (up to two hours), then the long
 *                                fuzz run; writes docs/reliability.md
 * npm run test:reliability:ci    small counts and the fast scenarios (CI, every change); the report
 *                                goes to a temporary folder and to stdout
 * Extra arguments go to jest (e.g. a file pattern: `npm run test:reliability -- wire`).
 */

const root = path.join(__dirname, '..', '..');
const args = process.argv.slice(2);
const ci = args[0] === '--ci';
const jestArgs = ci ? args.slice(1) : args;
const scale = ci ? 'ci' : 'full';
const parent = ci ? os.tmpdir() : path.join(root, '.reliability');
fs.mkdirSync(parent, { recursive: true });
const out = fs.mkdtempSync(path.join(parent, `run-${scale}-`));
const started = Date.now();
const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const env = { ...process.env, RELIABILITY_SCALE: scale, RELIABILITY_OUT: out };

function run(cmd: string, argv: string[], extraEnv: Record<string, string> = {}): number {
  console.log(`\n== ${cmd} ${argv.join(' ')}`);
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', env: { ...env, ...extraEnv } });
  return r.status ?? 1;
}

const jest = path.join(root, 'node_modules', 'jest', 'bin', 'jest.js');
const jestStatus = run(process.execPath, [jest, '--config', 'test/jest-reliability.config.js', '--runInBand', ...jestArgs]);
const fuzzFile = path.join(out, 'fuzz.json');
const fuzzStatus = run(process.execPath, [jest, '--config', 'jest.config.js', 'libs/kafka-producer/src/protocol/decoder-fuzz.spec.ts'], {
  FUZZ_MULTIPLIER: ci ? '1' : '20',
  FUZZ_STATS_FILE: fuzzFile,
});
const fuzz = fs.existsSync(fuzzFile) ? (JSON.parse(fs.readFileSync(fuzzFile, 'utf8')) as FuzzStats) : null;
const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim() || 'unknown';
const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).stdout.trim() !== '';
const rows = readRows(out);
const report = renderReport({
  scale,
  ...rows,
  fuzz,
  jestFailed: jestStatus !== 0 || fuzzStatus !== 0,
  commit: dirty ? `${commit} (with uncommitted changes)` : commit,
  startedAt,
  wallSeconds: (Date.now() - started) / 1000,
  machine: `${os.cpus().length} cores, Node ${process.version}`,
});
const target = ci ? path.join(out, 'reliability.md') : path.join(root, 'docs', 'reliability.md');
fs.mkdirSync(path.dirname(target), { recursive: true });
fs.writeFileSync(target, report);
if (ci) console.log(`\n${report}`);
console.log(`\nreliability report: ${target} (${rows.scenarios.length} scenario rows, ${rows.badInput.length} bad-input rows; rows in ${out})`);
const failedRows = rows.scenarios.filter((r) => !r.passed).length + rows.badInput.filter((r) => !r.passed).length;
process.exit(jestStatus !== 0 || fuzzStatus !== 0 || failedRows > 0 ? 1 : 0);
