/**
 * Renders a benchmark's results (bench/results-schema.ts) as Markdown and two self-contained SVG charts.
 * Every function here is pure and deterministic (same results → same bytes), so that a report can be
 * regenerated from a stored JSON file and compared, and so that the spec can pin its output.
 *
 *   npx ts-node --transpile-only bench/report.ts bench/results/latest.json [--out-dir bench/results]
 *
 * writes latest.md, throughput.svg and latency.svg (latest-quick.md, throughput-quick.svg and
 * latency-quick.svg for a quick run, the names bench/bench.ts uses) next to the input or into --out-dir.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchResults, BenchRun, LatencySummary, Scenario } from './results-schema';

/** The scenario every other one varies one factor of. */
export const BASE_SCENARIO = { acks: 'all', compression: 'none', partitions: 12, keyed: false } as const;

// ---------------------------------------------------------------------------------------------------
// Scenarios

const FACTORS = ['acks', 'compression', 'partitions', 'keyed'] as const;
const COMPRESSION_ORDER = ['none', 'lz4', 'zstd'];

export function sizeLabel(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/** What the scenario changes relative to the base ("base" when nothing): "acks=1", "lz4", "1 partition", "keyed". */
export function factorLabel(s: Scenario): string {
  const parts: string[] = [];
  if (s.acks !== BASE_SCENARIO.acks) parts.push(`acks=${s.acks}`);
  if (s.compression !== BASE_SCENARIO.compression) parts.push(s.compression);
  if (s.partitions !== BASE_SCENARIO.partitions) parts.push(`${s.partitions} partition${s.partitions === 1 ? '' : 's'}`);
  if (s.keyed !== BASE_SCENARIO.keyed) parts.push(s.keyed ? 'keyed' : 'unkeyed');
  return parts.length === 0 ? 'base' : parts.join(', ');
}

/** "100 B, base", "1 KiB, acks=1", "100 B, lz4", "1 KiB, 1 partition", "100 B, keyed". */
export function scenarioLabel(s: Scenario): string {
  return `${sizeLabel(s.recordSize)}, ${factorLabel(s)}`;
}

export const isBaseScenario = (s: Scenario): boolean => factorLabel(s) === 'base';

const scenarioKey = (s: Scenario): string => `${s.recordSize}|${s.acks}|${s.compression}|${s.partitions}|${s.keyed}`;

/** Record size, then the base, then one factor varied in the order acks, compression, partitions, keys. */
function compareScenarios(a: Scenario, b: Scenario): number {
  const rank = (s: Scenario): number[] => {
    const differs = FACTORS.map((f) => s[f] !== BASE_SCENARIO[f]);
    const compression = COMPRESSION_ORDER.indexOf(s.compression);
    return [
      s.recordSize,
      differs.filter(Boolean).length,
      differs.indexOf(true),
      compression === -1 ? COMPRESSION_ORDER.length : compression,
      s.partitions,
      s.keyed ? 1 : 0,
      s.acks === 'all' ? 0 : 1,
    ];
  };
  const ra = rank(a);
  const rb = rank(b);
  for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i] - rb[i];
  return a.compression < b.compression ? -1 : a.compression > b.compression ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------
// Client variants

interface KnownVariant {
  keys: readonly string[];
  label: string;
  color: string;
}

/** The column order of every table and chart, and each variant's colour (the same in every chart). */
const KNOWN_VARIANTS: readonly KnownVariant[] = [
  { keys: ['ours:defaults'], label: 'ours defaults', color: '#1c4f9c' },
  { keys: ['ours:defaults-node24'], label: 'ours defaults on Node 24', color: '#4c8fdb' },
  { keys: ['ours:recommended'], label: 'ours recommended', color: '#93c3ef' },
  { keys: ['java:defaults'], label: 'Java defaults', color: '#d9480f' },
  // bench/bench.ts names it 'batch-like-ours'; the schema's comment says 'java-batch-like-ours'.
  { keys: ['java:batch-like-ours', 'java:java-batch-like-ours'], label: 'Java with our batching', color: '#f5a524' },
  { keys: ['kafkajs:defaults'], label: 'kafkajs', color: '#2f9e44' },
  { keys: ['platformatic:defaults'], label: 'platformatic', color: '#9c36b5' },
  { keys: ['librdkafka:defaults'], label: 'librdkafka', color: '#8d6e63' },
];
const CLIENT_ORDER = ['ours', 'java', 'kafkajs', 'platformatic', 'librdkafka'];
/** For variants the report does not know: picked by a hash of the key, so stable across runs and charts. */
const SPARE_COLORS = ['#e64980', '#66a80f', '#1098ad', '#495057', '#f08c00', '#5f3dc4', '#c2255c', '#087f5b'];

const OURS_DEFAULTS = 'ours:defaults';
/** The ratio columns: ours defaults over each of these. */
const RATIO_DENOMINATORS = ['platformatic:defaults', 'kafkajs:defaults', 'java:defaults', 'java:batch-like-ours'];

const known = (key: string): { index: number; v: KnownVariant } | undefined => {
  const index = KNOWN_VARIANTS.findIndex((v) => v.keys.includes(key));
  return index === -1 ? undefined : { index, v: KNOWN_VARIANTS[index] };
};

/** Known variants under their first name, so that both spellings of Java's batch variant land in one column. */
const canonical = (key: string): string => known(key)?.v.keys[0] ?? key;

const isNode24 = (v: string | null): boolean => v !== null && v.startsWith('v24');

/**
 * `${client}:${variant}`. An ours run on Node 24 while the harness ran on another Node gets "-node24"
 * appended when its variant name does not already say so, so that it never shares a column with the
 * same settings on the harness's Node.
 */
export function variantKey(run: BenchRun, results: Pick<BenchResults, 'node'>): string {
  const node24Only = run.client === 'ours' && isNode24(run.nodeVersion) && !isNode24(results.node) && !run.variant.includes('node24');
  return canonical(`${run.client}:${run.variant}${node24Only ? '-node24' : ''}`);
}

export function variantLabel(key: string): string {
  const k = known(key);
  if (k !== undefined) return k.v.label;
  const [client, ...rest] = key.split(':');
  return `${client} ${rest.join(':')}`;
}

export function variantColor(key: string): string {
  const k = known(key);
  if (k !== undefined) return k.v.color;
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
  return SPARE_COLORS[h % SPARE_COLORS.length];
}

function variantRank(key: string, runs: readonly BenchRun[]): number[] {
  const k = known(key);
  if (k !== undefined) return [k.index, 0];
  const client = key.split(':')[0];
  // an unknown ours variant on Node 24 sits with the Node 24 column, the others after every known one
  if (client === 'ours' && runs.some((r) => isNode24(r.nodeVersion))) return [1, 1];
  const c = CLIENT_ORDER.indexOf(client);
  return [KNOWN_VARIANTS.length, c === -1 ? CLIENT_ORDER.length : c];
}

// ---------------------------------------------------------------------------------------------------
// The model every renderer reads

interface ScenarioRow {
  key: string;
  scenario: Scenario;
  label: string;
}

interface VariantColumn {
  key: string;
  label: string;
  color: string;
}

interface Model {
  results: BenchResults;
  scenarios: ScenarioRow[];
  variants: VariantColumn[];
  run(scenario: string, variant: string): BenchRun | undefined;
}

function buildModel(results: BenchResults): Model {
  const scenarios = new Map<string, Scenario>();
  const byVariant = new Map<string, BenchRun[]>();
  const cells = new Map<string, BenchRun>();
  for (const r of results.runs) {
    const sk = scenarioKey(r.scenario);
    const vk = variantKey(r, results);
    if (!scenarios.has(sk)) scenarios.set(sk, r.scenario);
    byVariant.set(vk, [...(byVariant.get(vk) ?? []), r]);
    // a duplicate (scenario, variant) keeps the first run: the harness writes one per pair
    if (!cells.has(`${sk}#${vk}`)) cells.set(`${sk}#${vk}`, r);
  }
  const variants = [...byVariant.keys()].sort((a, b) => {
    const ra = variantRank(a, byVariant.get(a) ?? []);
    const rb = variantRank(b, byVariant.get(b) ?? []);
    return ra[0] - rb[0] || ra[1] - rb[1] || (a < b ? -1 : a > b ? 1 : 0);
  });
  return {
    results,
    scenarios: [...scenarios.entries()]
      .sort(([, a], [, b]) => compareScenarios(a, b))
      .map(([key, scenario]) => ({ key, scenario, label: scenarioLabel(scenario) })),
    variants: variants.map((key) => ({ key, label: variantLabel(key), color: variantColor(key) })),
    run: (s, v) => cells.get(`${s}#${v}`),
  };
}

const available = (r: BenchRun | undefined): r is BenchRun & { recordsPerSec: number } =>
  r !== undefined && r.unavailable === undefined && r.recordsPerSec !== null;

// ---------------------------------------------------------------------------------------------------
// Numbers

/** Three significant digits without exponent notation: 0.0123, 1.23, 12.3, 123, 1234. */
function sig3(n: number): string {
  if (n === 0) return '0';
  if (Math.abs(n) >= 999.5) return n.toFixed(0);
  const s = n.toPrecision(3);
  return s.includes('e') ? n.toFixed(0) : s;
}

/** 950, 45.6k, 812k, 1.02M. */
export function formatCount(n: number): string {
  const units: Array<[number, string]> = [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [i, [scale, suffix]] of units.entries()) {
    if (Math.abs(n) < scale) continue;
    const s = (n / scale).toPrecision(3);
    // 999,600 rounds to "1.00e+3" k: say 1.00M
    if (Number(s) >= 1000 && i > 0) return `${(n / units[i - 1][0]).toPrecision(3)}${units[i - 1][1]}`;
    return `${s}${suffix}`;
  }
  if (Math.abs(n) >= 999.5) return `${(n / 1e3).toPrecision(3)}k`;
  return sig3(n);
}

/** "790–840k" when both ends share a unit, else "950–1.02M" style with both units. */
function formatRange(min: number, max: number): string {
  const a = formatCount(min);
  const b = formatCount(max);
  const unit = (s: string): string => s.replace(/^[-0-9.]+/, '');
  return unit(a) === unit(b) && unit(a) !== '' ? `${a.slice(0, a.length - unit(a).length)}–${b}` : `${a}–${b}`;
}

/** Axis ticks: 0, 250k, 1M, 1.5M. */
function formatTick(n: number): string {
  if (n === 0) return '0';
  for (const [scale, suffix] of [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ] as const) {
    if (Math.abs(n) >= scale) return `${Number((n / scale).toFixed(2))}${suffix}`;
  }
  return `${Number(n.toFixed(3))}`;
}

const formatMs = (ms: number): string => sig3(ms);
/** 0.1, 0.5, 1, 20, 1000: milliseconds read better without a k. */
const formatMsTick = (ms: number): string => String(Number(ms.toPrecision(3)));
/** CPU-s per million records: two decimals below 10 (0.88, 1.62), three significant digits above (12.6). */
const formatCpu = (s: number): string => (Math.abs(s) < 9.995 ? s.toFixed(2) : sig3(s));

// ---------------------------------------------------------------------------------------------------
// Markdown

/** Text from the results inside Markdown (and table cells): no accidental emphasis, links, HTML or column breaks. */
function md(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([|*_`[\]#])/g, '\\$1')
    .replace(/\r?\n/g, ' ');
}

function table(header: readonly string[], align: readonly ('l' | 'r')[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(align.map((a) => (a === 'r' ? '---:' : '---'))), ...rows.map(line)].join('\n');
}

function formatDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function formatDuration(sec: number): string {
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  if (m > 0) return `${m} min ${String(r).padStart(2, '0')} s`;
  return `${r} s`;
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? String(v);
}

const settingValue = (v: unknown): string => (typeof v === 'string' ? v : stableJson(v));

/** Footnotes for the n/a cells, one per distinct (variant, reason), numbered in the order they first appear. */
class Footnotes {
  private readonly notes: Array<{ key: string; text: string; where: string[] }> = [];

  ref(variant: VariantColumn, reason: string, where: string): string {
    const key = `${variant.key}\u0000${reason}`;
    let i = this.notes.findIndex((n) => n.key === key);
    if (i === -1) {
      this.notes.push({ key, text: `${variant.label}: ${reason}`, where: [] });
      i = this.notes.length - 1;
    }
    if (!this.notes[i].where.includes(where)) this.notes[i].where.push(where);
    return `[^${i + 1}]`;
  }

  render(): string[] {
    return this.notes.map((n, i) => `[^${i + 1}]: ${md(n.text)} (${md(n.where.join('; '))})`);
  }
}

const unverified = (r: BenchRun | undefined): boolean => r !== undefined && r.unavailable === undefined && !r.endOffsetsVerified;

function naCell(m: Model, notes: Footnotes, s: ScenarioRow, v: VariantColumn): string | undefined {
  const r = m.run(s.key, v.key);
  if (r === undefined) return '—';
  if (r.unavailable !== undefined) return `n/a${notes.ref(v, r.unavailable, s.label)}`;
  return undefined;
}

function throughputCell(m: Model, notes: Footnotes, s: ScenarioRow, v: VariantColumn): string {
  const na = naCell(m, notes, s, v);
  if (na !== undefined) return na;
  const r = m.run(s.key, v.key)!;
  if (r.recordsPerSec === null) return '—';
  let cell = formatCount(r.recordsPerSec);
  if (r.mbPerSec !== null) cell += ` (${sig3(r.mbPerSec)})`;
  if (r.recordsPerSecMin !== null && r.recordsPerSecMax !== null && r.recordsPerSecMin !== r.recordsPerSecMax) {
    cell += ` [${formatRange(r.recordsPerSecMin, r.recordsPerSecMax)}]`;
  }
  return unverified(r) ? `${cell} ⚠` : cell;
}

function ratioColumns(m: Model): Array<{ key: string; label: string }> {
  if (!m.variants.some((v) => v.key === OURS_DEFAULTS)) return [];
  return RATIO_DENOMINATORS.filter((k) => m.variants.some((v) => v.key === k)).map((key) => ({ key, label: `ours ÷ ${variantLabel(key)}` }));
}

/** ours defaults over `denominator` in one scenario, 2 decimals; "—" when either side has no figure. */
function ratioCell(m: Model, s: ScenarioRow, denominator: string): string {
  const a = m.run(s.key, OURS_DEFAULTS);
  const b = m.run(s.key, denominator);
  if (!available(a) || !available(b) || b.recordsPerSec === 0) return '—';
  return (a.recordsPerSec / b.recordsPerSec).toFixed(2);
}

function headerLines(r: BenchResults): string[] {
  const mc = r.machine;
  const reps = [...new Set(r.runs.filter((x) => x.unavailable === undefined && x.reps > 0).map((x) => x.reps))].sort((a, b) => a - b);
  const repsText = reps.length === 0 ? '' : `, ${reps.length === 1 ? reps[0] : `${reps[0]}–${reps[reps.length - 1]}`} repetition${reps.length === 1 && reps[0] === 1 ? '' : 's'}`;
  return [
    `# Producer benchmark, ${formatDate(r.generatedAt)}`,
    '',
    `- **Machine**: ${mc.cpus} CPU${mc.cpus === 1 ? '' : 's'} × ${md(mc.cpuModel)}, ${mc.memoryGiB} GiB, ${md(mc.os)} (1-minute load ${mc.loadAvg1AtStart.toFixed(2)} at start)`,
    `- **Node**: ${md(r.node)} · **Kafka**: ${md(r.kafka)}`,
    `- **Mode**: ${r.mode}${repsText} · **Duration**: ${formatDuration(r.durationSec)}`,
  ];
}

function throughputSection(m: Model, notes: Footnotes): string[] {
  const ratios = ratioColumns(m);
  const header = ['Scenario', ...m.variants.map((v) => md(v.label)), ...ratios.map((x) => md(x.label))];
  const rows = m.scenarios.map((s) => [md(s.label), ...m.variants.map((v) => throughputCell(m, notes, s, v)), ...ratios.map((x) => ratioCell(m, s, x.key))]);
  const base = `acks=${BASE_SCENARIO.acks}, compression ${BASE_SCENARIO.compression}, ${BASE_SCENARIO.partitions} partitions, no keys`;
  return [
    '## Throughput',
    '',
    `Median records/s over the repetitions, value MB/s (2^20 bytes) in parentheses, the min–max over the repetitions in brackets. The base is ${base}; every other scenario changes one factor. Ratios: ours defaults ÷ the other client's median in the same scenario (> 1: ours is faster). ⚠: end offsets not verified.`,
    '',
    table(header, ['l', ...m.variants.map(() => 'r' as const), ...ratios.map(() => 'r' as const)], rows),
  ];
}

function latencySection(m: Model, notes: Footnotes): string[] {
  const has = (r: BenchRun | undefined): boolean => r !== undefined && (r.latencyMs.lowRate !== null || r.latencyMs.halfMax !== null);
  const scenarios = m.scenarios.filter((s) => m.variants.some((v) => has(m.run(s.key, v.key))));
  if (scenarios.length === 0) return ['## Latency', '', 'No latency figures in these results.'];
  // a client that cannot complete sends at the scheduled rate queues them: its figures measure that queue
  const rateCell = (l: LatencySummary): string => (l.achieved !== undefined && l.achieved < 0.9 * l.rate ? `${formatCount(l.rate)} (did ${formatCount(l.achieved)})` : formatCount(l.rate));
  const cells = (l: LatencySummary | null): string[] => (l === null ? ['—', '—', '—', '—'] : [rateCell(l), formatMs(l.p50), formatMs(l.p99), formatMs(l.p999)]);
  const rows: string[][] = [];
  for (const s of scenarios) {
    for (const v of m.variants) {
      const r = m.run(s.key, v.key);
      if (r === undefined) continue;
      const na = naCell(m, notes, s, v);
      if (na !== undefined) rows.push([md(s.label), md(v.label), na, '', '', '', na, '', '', '']);
      else rows.push([md(s.label), md(v.label), ...cells(r.latencyMs.lowRate), ...cells(r.latencyMs.halfMax)]);
    }
  }
  return [
    '## Latency',
    '',
    'Send → acknowledgement of single awaited sends started on a fixed schedule, ms (medians of the repetitions\' percentiles). Low rate: the same fixed rate for every client; half max: half of that client\'s median throughput in the scenario; "(did N)": the client completed only N sends per second, so its sends queued up and its figures measure that queue. "—": no latency figures for this client.',
    '',
    table(['Scenario', 'Client', 'low rate (rec/s)', 'p50', 'p99', 'p99.9', 'half max (rec/s)', 'p50', 'p99', 'p99.9'], ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'], rows),
  ];
}

function resourcesSection(m: Model, notes: Footnotes): string[] {
  const cell = (s: ScenarioRow, v: VariantColumn): string => {
    const na = naCell(m, notes, s, v);
    if (na !== undefined) return na;
    const r = m.run(s.key, v.key)!;
    const parts = [
      r.cpuSecondsPerMillion === null ? '— CPU-s' : `${formatCpu(r.cpuSecondsPerMillion)} CPU-s`,
      r.peakRssMb === null ? '— MiB' : `${r.peakRssMb.toFixed(0)} MiB`,
    ];
    if (r.eventLoopDelayP99Ms !== null) parts.push(`${formatMs(r.eventLoopDelayP99Ms)} ms`);
    return parts.join(' · ');
  };
  return [
    '## Resources',
    '',
    'CPU seconds (user + system) of the client process per million records · its peak RSS in MiB · for Node clients that report it, the p99 event-loop delay in ms, over the throughput runs (medians; RSS: the maximum).',
    '',
    table(['Scenario', ...m.variants.map((v) => md(v.label))], ['l', ...m.variants.map(() => 'r' as const)], m.scenarios.map((s) => [md(s.label), ...m.variants.map((v) => cell(s, v))])),
  ];
}

function settingsSection(m: Model): string[] {
  const lines = ['## Settings', ''];
  for (const v of m.variants) {
    const runs = m.scenarios.map((s) => m.run(s.key, v.key)).filter((r): r is BenchRun => r !== undefined && r.unavailable === undefined);
    const distinct = (xs: ReadonlyArray<string | null>): string[] => [...new Set(xs.filter((x): x is string => x !== null && x !== '' && x !== 'n/a'))];
    const versions = distinct(runs.map((r) => r.clientVersion));
    const nodes = distinct(runs.map((r) => r.nodeVersion));
    const client = v.key.split(':')[0];
    const who = [versions.length === 0 ? '' : `${client} ${versions.join(' / ')}`, nodes.length === 0 ? '' : `Node ${nodes.join(' / ')}`].filter((x) => x !== '').join(', ');
    const keys = [...new Set(runs.flatMap((r) => Object.keys(r.settings)))].sort();
    const settings = keys.map((k) => {
      const values = [...new Set(runs.filter((r) => k in r.settings).map((r) => settingValue(r.settings[k])))];
      return values.length === 1 ? `${md(k)}=${md(values[0])}` : `${md(k)} ∈ {${values.map(md).join(', ')}}`;
    });
    const body = runs.length === 0 ? 'not run' : settings.length === 0 ? 'no settings reported' : settings.join(' · ');
    lines.push(`- **${md(v.label)}**${who === '' ? '' : ` (${md(who)})`}: ${body}`);
  }
  lines.push('', ...verificationLines(m, 'long'));
  return lines;
}

function unverifiedRuns(m: Model): Array<{ s: ScenarioRow; v: VariantColumn }> {
  return m.scenarios.flatMap((s) => m.variants.filter((v) => unverified(m.run(s.key, v.key))).map((v) => ({ s, v })));
}

function verificationLines(m: Model, form: 'short' | 'long'): string[] {
  const bad = unverifiedRuns(m);
  if (bad.length === 0) {
    if (form === 'short') return [];
    const n = m.scenarios.reduce((acc, s) => acc + m.variants.filter((v) => available(m.run(s.key, v.key))).length, 0);
    return [`End offsets verified: in all ${n} runs the topic's end offsets equalled the records the client reported acknowledged.`];
  }
  const list = bad.map(({ s, v }) => `${md(v.label)} in ${md(s.label)}`).join('; ');
  return [`> **⚠ END OFFSETS NOT VERIFIED in ${bad.length} run${bad.length === 1 ? '' : 's'}: ${list}.** The records these clients reported acknowledged are not what the log holds (or records failed); do not trust their figures.`];
}

export function renderMarkdown(results: BenchResults): string {
  const m = buildModel(results);
  const notes = new Footnotes();
  const warning = verificationLines(m, 'short');
  const sections = [
    headerLines(results),
    ...(warning.length === 0 ? [] : [warning]),
    throughputSection(m, notes),
    latencySection(m, notes),
    resourcesSection(m, notes),
    settingsSection(m),
  ];
  const footnotes = notes.render();
  return `${[...sections, ...(footnotes.length === 0 ? [] : [footnotes])].map((s) => s.join('\n')).join('\n\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------
// SVG

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Coordinates rounded to 0.1 px so that the output does not depend on floating-point noise. */
const px = (n: number): string => String(Math.round(n * 10) / 10);

type Attrs = Record<string, string | number>;

function el(name: string, attrs: Attrs, children?: string): string {
  const a = Object.entries(attrs)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? px(v) : escapeXml(v)}"`)
    .join('');
  return children === undefined ? `<${name}${a}/>` : `<${name}${a}>${children}</${name}>`;
}

const text = (x: number, y: number, content: string, attrs: Attrs = {}): string => el('text', { x, y, ...attrs }, escapeXml(content));

const FONT = 'DejaVu Sans, Verdana, Arial, Helvetica, sans-serif';
const WIDTH = 900;

/** Rough width of a label, enough to lay out a legend without measuring fonts. */
const textWidth = (s: string, size: number): number => s.length * size * 0.6;

function svgDocument(height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${px(height)}" viewBox="0 0 ${WIDTH} ${px(height)}" font-family="${FONT}" font-size="11">`,
    el('title', {}, escapeXml(title)),
    el('rect', { x: 0, y: 0, width: WIDTH, height, fill: '#ffffff' }),
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** Swatches with labels, wrapped into rows; returns the markup and the height it took. */
function legend(items: ReadonlyArray<{ label: string; color: string }>, x0: number, y0: number, maxX: number): { svg: string[]; height: number } {
  const svg: string[] = [];
  let x = x0;
  let y = y0;
  for (const item of items) {
    const w = 16 + textWidth(item.label, 11) + 18;
    if (x + w > maxX && x > x0) {
      x = x0;
      y += 18;
    }
    svg.push(el('rect', { x, y: y - 9, width: 11, height: 11, fill: item.color, rx: 2 }), text(x + 16, y, item.label, { fill: '#222222' }));
    x += w;
  }
  return { svg, height: y - y0 + 18 };
}

/** A round upper bound and step for a linear axis from 0: 1, 2, 2.5 or 5 × 10^k, about five ticks. */
function niceScale(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const rough = max / 5;
  const mag = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= rough) ?? 10 * mag;
  return { top: Math.ceil(max / step - 1e-9) * step, step };
}

function chartTitle(results: BenchResults, what: string): string {
  const mc = results.machine;
  return `${what}: ${mc.cpus} × ${mc.cpuModel}, ${formatDate(results.generatedAt)}`;
}

export function renderThroughputSvg(results: BenchResults): string {
  const m = buildModel(results);
  const title = chartTitle(results, 'Producer throughput');
  const left = 64;
  const right = WIDTH - 16;
  const body: string[] = [
    text(left - 52, 24, title, { 'font-size': 15, 'font-weight': 'bold', fill: '#111111' }),
    text(left - 52, 42, `Median records/s per client, Kafka ${results.kafka}, harness Node ${results.node}, ${results.mode} mode. Whiskers: min–max over the repetitions.`, { 'font-size': 10, fill: '#555555' }),
    text(left - 52, 55, 'Each panel has its own scale. n/a: the client cannot run that scenario (the reason is in the Markdown report).', { 'font-size': 10, fill: '#555555' }),
  ];
  let legendY = 76;
  const bad = unverifiedRuns(m);
  if (bad.length > 0) {
    body.push(text(left - 52, 70, `⚠ End offsets NOT verified for ${bad.length} point${bad.length === 1 ? '' : 's'} (red dashed outline): do not trust ${bad.length === 1 ? 'it' : 'them'}.`, { 'font-size': 11, 'font-weight': 'bold', fill: '#c92a2a' }));
    legendY += 16;
  }
  const leg = legend(m.variants, left - 52, legendY, right);
  body.push(...leg.svg);
  let y = legendY + leg.height + 8;

  const sizes = [...new Set(m.scenarios.map((s) => s.scenario.recordSize))];
  const plotH = 200;
  const headroom = 40;
  for (const size of sizes) {
    const rows = m.scenarios.filter((s) => s.scenario.recordSize === size);
    const points = rows.flatMap((s) => m.variants.map((v) => m.run(s.key, v.key)).filter(available));
    const max = Math.max(0, ...points.map((r) => Math.max(r.recordsPerSec, r.recordsPerSecMax ?? 0)));
    const { top, step } = niceScale(max);
    body.push(text(left - 52, y + 14, `${sizeLabel(size)} records`, { 'font-size': 13, 'font-weight': 'bold', fill: '#222222' }));
    const y0 = y + 22 + headroom;
    const yOf = (v: number): number => y0 + plotH - (v / top) * plotH;
    body.push(el('text', { x: 14, y: y0 + plotH / 2, transform: `rotate(-90 14 ${px(y0 + plotH / 2)})`, 'text-anchor': 'middle', fill: '#555555', 'font-size': 10 }, 'records/s'));
    for (let t = 0; t <= top + step / 1e6; t += step) {
      const ty = yOf(t);
      body.push(el('line', { x1: left, y1: ty, x2: right, y2: ty, stroke: t === 0 ? '#888888' : '#e3e3e3', 'stroke-width': 1 }));
      body.push(text(left - 6, ty + 4, formatTick(t), { 'text-anchor': 'end', fill: '#444444', 'font-size': 10 }));
    }
    const groupW = (right - left) / Math.max(1, rows.length);
    const barW = Math.min(22, (groupW * 0.84) / Math.max(1, m.variants.length));
    for (const [gi, s] of rows.entries()) {
      const gx = left + gi * groupW + (groupW - barW * m.variants.length) / 2;
      body.push(text(left + gi * groupW + groupW / 2, y0 + plotH + 16, factorLabel(s.scenario), { 'text-anchor': 'middle', fill: '#222222' }));
      for (const [vi, v] of m.variants.entries()) {
        const r = m.run(s.key, v.key);
        const x = gx + vi * barW;
        const cx = x + barW / 2;
        if (r !== undefined && r.unavailable !== undefined) {
          body.push(
            el('text', { class: 'na', x: cx + 3, y: y0 + plotH - 4, transform: `rotate(-90 ${px(cx + 3)} ${px(y0 + plotH - 4)})`, fill: '#888888', 'font-size': 9 }, el('title', {}, escapeXml(`${v.label}, ${s.label}: ${r.unavailable}`)) + 'n/a'),
          );
          continue;
        }
        if (!available(r)) continue;
        const by = yOf(r.recordsPerSec);
        const tip = `${v.label}, ${s.label}: ${formatCount(r.recordsPerSec)} records/s${r.mbPerSec === null ? '' : ` (${sig3(r.mbPerSec)} MB/s)`}${r.recordsPerSecMin === null || r.recordsPerSecMax === null ? '' : `, ${formatRange(r.recordsPerSecMin, r.recordsPerSecMax)}`}${r.endOffsetsVerified ? '' : ', END OFFSETS NOT VERIFIED'}`;
        const outline: Attrs = r.endOffsetsVerified ? {} : { stroke: '#c92a2a', 'stroke-width': 2, 'stroke-dasharray': '3 2' };
        body.push(el('rect', { class: 'bar', x: x + 0.5, y: by, width: Math.max(1, barW - 1), height: y0 + plotH - by, fill: v.color, ...outline }, el('title', {}, escapeXml(tip))));
        let labelY = by;
        if (r.recordsPerSecMin !== null && r.recordsPerSecMax !== null && r.recordsPerSecMin !== r.recordsPerSecMax) {
          const y1 = yOf(r.recordsPerSecMin);
          const y2 = yOf(r.recordsPerSecMax);
          body.push(el('path', { class: 'spread', d: `M${px(cx - 2.5)} ${px(y1)}H${px(cx + 2.5)}M${px(cx)} ${px(y1)}V${px(y2)}M${px(cx - 2.5)} ${px(y2)}H${px(cx + 2.5)}`, stroke: '#222222', 'stroke-width': 1, fill: 'none' }));
          labelY = Math.min(labelY, y2);
        }
        const label = `${formatCount(r.recordsPerSec)}${r.endOffsetsVerified ? '' : ' ⚠'}`;
        body.push(el('text', { x: cx + 3, y: labelY - 3, transform: `rotate(-90 ${px(cx + 3)} ${px(labelY - 3)})`, fill: r.endOffsetsVerified ? '#333333' : '#c92a2a', 'font-size': 9 }, escapeXml(label)));
      }
    }
    y = y0 + plotH + 30;
  }
  return svgDocument(y + 6, title, body);
}

const LATENCY_MARKS = [
  { key: 'p50', label: 'p50' },
  { key: 'p99', label: 'p99' },
  { key: 'p999', label: 'p99.9' },
] as const;

function latencyMark(kind: (typeof LATENCY_MARKS)[number]['key'], x: number, y: number, color: string, tip: string, cls = 'mark'): string {
  const t = el('title', {}, escapeXml(tip));
  if (kind === 'p50') return el('circle', { class: cls, cx: x, cy: y, r: 4, fill: color }, t);
  if (kind === 'p99') return el('rect', { class: cls, x: x - 3.5, y: y - 3.5, width: 7, height: 7, fill: color }, t);
  return el('path', { class: cls, d: `M${px(x)} ${px(y - 5)}L${px(x + 5)} ${px(y)}L${px(x)} ${px(y + 5)}L${px(x - 5)} ${px(y)}Z`, fill: '#ffffff', stroke: color, 'stroke-width': 1.5 }, t);
}

export function renderLatencySvg(results: BenchResults): string {
  const m = buildModel(results);
  const title = chartTitle(results, 'Producer latency');
  const left = 176;
  const right = WIDTH - 84;
  const rowH = 20;
  const body: string[] = [
    text(12, 24, title, { 'font-size': 15, 'font-weight': 'bold', fill: '#111111' }),
    text(12, 42, `Send → acknowledgement of single awaited sends, ms, log scale (Kafka ${results.kafka}, Node ${results.node}); base scenarios; the rate each client was driven at on the right.`, { 'font-size': 10, fill: '#555555' }),
  ];
  let lx = 12;
  for (const mark of LATENCY_MARKS) {
    body.push(latencyMark(mark.key, lx + 5, 60, '#444444', mark.label, 'legend-mark'), text(lx + 14, 64, mark.label, { fill: '#222222' }));
    lx += 24 + textWidth(mark.label, 11) + 12;
  }

  const panels = m.scenarios
    .filter((s) => isBaseScenario(s.scenario))
    .flatMap((s) =>
      (['lowRate', 'halfMax'] as const).map((which) => ({
        s,
        which,
        rows: m.variants.map((v) => ({ v, run: m.run(s.key, v.key) })).filter((x) => x.run !== undefined),
      })),
    )
    .filter((p) => p.rows.some((x) => x.run!.latencyMs[p.which] !== null));
  if (panels.length === 0) {
    body.push(text(12, 100, 'No latency figures for the base scenarios in these results.', { fill: '#555555' }));
    return svgDocument(130, title, body);
  }

  const values = panels.flatMap((p) => p.rows.flatMap((x) => {
    const l = x.run!.latencyMs[p.which];
    return l === null ? [] : [l.p50, l.p99, l.p999];
  })).filter((v) => v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  const decades = Math.max(1, Math.round(Math.log10(hi / lo)));
  const xOf = (ms: number): number => left + (Math.log10(Math.max(ms, lo) / lo) / decades) * (right - left);

  let y = 84;
  for (const p of panels) {
    const heading = `${p.s.label}: ${p.which === 'lowRate' ? 'low rate' : 'half of each client\'s max'}`;
    body.push(text(12, y + 14, heading, { 'font-size': 13, 'font-weight': 'bold', fill: '#222222' }));
    const top = y + 24;
    const bottom = top + p.rows.length * rowH;
    for (let d = 0; d <= decades; d++) {
      const base = lo * 10 ** d;
      for (const f of d === decades ? [1] : [1, 2, 5]) {
        const v = base * f;
        const x = xOf(v);
        body.push(el('line', { x1: x, y1: top, x2: x, y2: bottom, stroke: f === 1 ? '#cfcfcf' : '#eeeeee', 'stroke-width': 1 }));
        if (f === 1 || decades <= 3) body.push(text(x, bottom + 13, formatMsTick(v), { 'text-anchor': 'middle', fill: f === 1 ? '#444444' : '#888888', 'font-size': 10 }));
      }
    }
    body.push(text(right + 8, top - 4, 'rate', { fill: '#555555', 'font-size': 10 }));
    for (const [i, { v, run }] of p.rows.entries()) {
      const cy = top + i * rowH + rowH / 2;
      body.push(el('rect', { x: 12, y: cy - 5.5, width: 11, height: 11, fill: v.color, rx: 2 }), text(28, cy + 4, v.label, { fill: '#222222' }));
      const l = run!.latencyMs[p.which];
      if (run!.unavailable !== undefined) {
        body.push(el('text', { class: 'na', x: left + 4, y: cy + 4, fill: '#888888', 'font-size': 10 }, el('title', {}, escapeXml(`${v.label}, ${p.s.label}: ${run!.unavailable}`)) + 'n/a'));
        continue;
      }
      if (l === null) {
        body.push(text(left + 4, cy + 4, 'no latency figures', { fill: '#888888', 'font-size': 10 }));
        continue;
      }
      body.push(el('line', { x1: xOf(l.p50), y1: cy, x2: xOf(l.p999), y2: cy, stroke: v.color, 'stroke-width': 2, 'stroke-opacity': 0.65 }));
      for (const mark of LATENCY_MARKS) {
        body.push(latencyMark(mark.key, xOf(l[mark.key]), cy, v.color, `${v.label}, ${p.s.label}, ${formatCount(l.rate)} records/s: ${mark.label} ${formatMs(l[mark.key])} ms`));
      }
      body.push(text(right + 8, cy + 4, `${formatCount(l.rate)}/s`, { fill: '#444444', 'font-size': 10 }));
    }
    body.push(text((left + right) / 2, bottom + 26, 'ms (log scale)', { 'text-anchor': 'middle', fill: '#555555', 'font-size': 10 }));
    y = bottom + 36;
  }
  return svgDocument(y, title, body);
}

// ---------------------------------------------------------------------------------------------------
// CLI

function main(argv: readonly string[]): void {
  const input = argv.find((a, i) => !a.startsWith('--') && argv[i - 1] !== '--out-dir');
  const outIndex = argv.indexOf('--out-dir');
  if (input === undefined || (outIndex !== -1 && argv[outIndex + 1] === undefined)) {
    process.stderr.write('usage: ts-node bench/report.ts <results.json> [--out-dir DIR]\n');
    process.exit(2);
  }
  const outDir = path.resolve(outIndex === -1 ? path.dirname(input) : argv[outIndex + 1]);
  const results = JSON.parse(fs.readFileSync(input, 'utf8')) as BenchResults;
  const quick = results.mode === 'quick' ? '-quick' : '';
  fs.mkdirSync(outDir, { recursive: true });
  const files: Array<[string, string]> = [
    [`latest${quick}.md`, renderMarkdown(results)],
    [`throughput${quick}.svg`, renderThroughputSvg(results)],
    [`latency${quick}.svg`, renderLatencySvg(results)],
  ];
  for (const [name, content] of files) fs.writeFileSync(path.join(outDir, name), content);
  process.stdout.write(`wrote ${files.map(([n]) => path.join(outDir, n)).join(', ')}\n`);
}

if (require.main === module) main(process.argv.slice(2));
