import * as fs from 'node:fs';
import * as path from 'node:path';
import { escapeXml, formatCount, renderLatencySvg, renderMarkdown, renderThroughputSvg, scenarioLabel } from './report';
import type { BenchResults, BenchRun } from './results-schema';

/**
 * bench/fixtures/results-sample.json: a full run on a 2-core machine, 12 scenarios × 8 client variants;
 * kafkajs cannot run lz4/zstd and Java's ProducerPerformance cannot send keys (8 unavailable points);
 * latency figures for the two base scenarios, none for librdkafka.
 */
const FIXTURE = path.join(__dirname, 'fixtures', 'results-sample.json');
const load = (): BenchResults => JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as BenchResults;

const SCENARIOS = [
  '100 B, base',
  '100 B, acks=1',
  '100 B, lz4',
  '100 B, zstd',
  '100 B, 1 partition',
  '100 B, keyed',
  '1 KiB, base',
  '1 KiB, acks=1',
  '1 KiB, lz4',
  '1 KiB, zstd',
  '1 KiB, 1 partition',
  '1 KiB, keyed',
];
const VARIANTS = ['ours defaults', 'ours defaults on Node 24', 'ours recommended', 'Java defaults', 'Java with our batching', 'kafkajs', 'platformatic', 'librdkafka'];
const RATIOS = ['ours ÷ platformatic', 'ours ÷ kafkajs', 'ours ÷ Java defaults', 'ours ÷ Java with our batching'];

// ---------------------------------------------------------------------------------------------------
// Reading the output back

/** The cells of the first Markdown table after `## heading`, header row first (separator row dropped). */
function mdTable(markdown: string, heading: string): string[][] {
  const lines = markdown.split('\n');
  const start = lines.indexOf(`## ${heading}`);
  if (start === -1) throw new Error(`no section ${heading}`);
  let i = start + 1;
  while (i < lines.length && !lines[i].startsWith('|')) i++;
  const rows: string[][] = [];
  for (; i < lines.length && lines[i].startsWith('|'); i++) {
    rows.push(splitRow(lines[i]));
  }
  return rows.filter((_, n) => n !== 1);
}

/** Splits a table row on the pipes that are not escaped. */
function splitRow(line: string): string[] {
  const cells: string[] = [];
  let cur = '';
  for (let i = 1; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && i + 1 < line.length) {
      cur += c + line[++i];
    } else if (c === '|') {
      cells.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  return cells;
}

function cell(table: string[][], row: string, column: string, rowColumn = 0): string {
  const c = table[0].indexOf(column);
  const r = table.find((x, i) => i > 0 && x[rowColumn] === row);
  if (c === -1 || r === undefined) throw new Error(`no cell ${row} / ${column}`);
  return r[c];
}

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/**
 * A strict, small XML well-formedness check (no parser in node_modules and none added): one root,
 * balanced tags, quoted attributes without `<` or duplicate names, and only the five predefined or
 * numeric entity references. Returns the element tree with entities decoded.
 */
function parseXml(xml: string): XmlElement {
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`not well-formed at ${i}: ${why} near ${JSON.stringify(xml.slice(Math.max(0, i - 30), i + 30))}`);
  };
  const decode = (raw: string): string => {
    let out = '';
    for (let k = 0; k < raw.length; k++) {
      if (raw[k] !== '&') {
        out += raw[k];
        continue;
      }
      const end = raw.indexOf(';', k);
      if (end === -1) fail('& without ;');
      const name = raw.slice(k + 1, end);
      const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
      if (name in named) out += named[name];
      else if (/^#[0-9]+$/.test(name)) out += String.fromCodePoint(Number(name.slice(1)));
      else if (/^#x[0-9a-fA-F]+$/.test(name)) out += String.fromCodePoint(parseInt(name.slice(2), 16));
      else fail(`unknown entity &${name};`);
      k = end;
    }
    return out;
  };
  const isNameChar = (c: string): boolean => /[A-Za-z0-9_:.-]/.test(c);
  const readName = (): string => {
    const s = i;
    if (!/[A-Za-z_:]/.test(xml[i] ?? '')) fail('expected a name');
    while (i < xml.length && isNameChar(xml[i])) i++;
    return xml.slice(s, i);
  };
  const skipSpace = (): void => {
    while (i < xml.length && /\s/.test(xml[i])) i++;
  };
  if (xml.startsWith('<?xml')) i = xml.indexOf('?>') + 2;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (i < xml.length) {
    if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i);
      if (end === -1) fail('unterminated comment');
      i = end + 3;
    } else if (xml.startsWith('</', i)) {
      i += 2;
      const name = readName();
      skipSpace();
      if (xml[i] !== '>') fail('expected > after closing tag');
      i++;
      const open = stack.pop();
      if (open === undefined || open.name !== name) fail(`</${name}> closes ${open?.name ?? 'nothing'}`);
    } else if (xml[i] === '<') {
      i++;
      const element: XmlElement = { name: readName(), attrs: {}, children: [], text: '' };
      if (stack.length === 0) {
        if (root !== undefined) fail('a second root element');
        root = element;
      } else stack[stack.length - 1].children.push(element);
      for (;;) {
        skipSpace();
        if (xml.startsWith('/>', i)) {
          i += 2;
          break;
        }
        if (xml[i] === '>') {
          i++;
          stack.push(element);
          break;
        }
        const name = readName();
        if (name in element.attrs) fail(`duplicate attribute ${name}`);
        skipSpace();
        if (xml[i] !== '=') fail('expected =');
        i++;
        skipSpace();
        const q = xml[i];
        if (q !== '"' && q !== "'") fail('unquoted attribute');
        const end = xml.indexOf(q, i + 1);
        if (end === -1) fail('unterminated attribute');
        const raw = xml.slice(i + 1, end);
        if (raw.includes('<')) fail('< in an attribute');
        element.attrs[name] = decode(raw);
        i = end + 1;
      }
    } else {
      const end = xml.indexOf('<', i) === -1 ? xml.length : xml.indexOf('<', i);
      const raw = xml.slice(i, end);
      if (stack.length === 0) {
        if (raw.trim() !== '') fail('text outside the root element');
      } else stack[stack.length - 1].text += decode(raw);
      i = end;
    }
  }
  if (stack.length > 0) fail(`<${stack[stack.length - 1].name}> is never closed`);
  if (root === undefined) fail('no root element');
  return root!;
}

function walk(e: XmlElement, visit: (e: XmlElement) => void): void {
  visit(e);
  for (const c of e.children) walk(c, visit);
}

function elements(svg: string, predicate: (e: XmlElement) => boolean): XmlElement[] {
  const out: XmlElement[] = [];
  walk(parseXml(svg), (e) => {
    if (predicate(e)) out.push(e);
  });
  return out;
}

const titleOf = (e: XmlElement): string => e.children.find((c) => c.name === 'title')?.text ?? '';
const allText = (svg: string): string[] => elements(svg, (e) => e.name === 'text').map((e) => e.text);

function withRun(results: BenchResults, match: (r: BenchRun) => boolean, change: (r: BenchRun) => void): BenchResults {
  const copy = structuredClone(results);
  const found = copy.runs.filter(match);
  if (found.length === 0) throw new Error('no run matched');
  found.forEach(change);
  return copy;
}

const isScenario = (r: BenchRun, label: string): boolean => scenarioLabel(r.scenario) === label;

// ---------------------------------------------------------------------------------------------------

describe('the XML check used by these specs', () => {
  it('accepts a well-formed document and rejects unbalanced tags, a raw & or < and a second root', () => {
    expect(parseXml('<a x="1 &amp; 2"><b/><c>t &lt; u</c></a>').children.map((c) => c.name)).toEqual(['b', 'c']);
    expect(() => parseXml('<a><b></a>')).toThrow(/closes b/);
    expect(() => parseXml('<a>x & y</a>')).toThrow(/&/);
    expect(() => parseXml('<a t="<"/>')).toThrow(/< in an attribute/);
    expect(() => parseXml('<a/><b/>')).toThrow(/second root/);
    expect(() => parseXml('<a>')).toThrow(/never closed/);
  });
});

describe('renderMarkdown', () => {
  const results = load();
  const markdown = renderMarkdown(results);

  it('states the machine, Node, Kafka, mode, date and duration in its header', () => {
    const header = markdown.slice(0, markdown.indexOf('## Throughput'));
    expect(header).toContain('# Producer benchmark, 2026-12-05 14:03 UTC');
    expect(header).toContain('2 CPUs × Intel(R) Xeon(R) CPU @ 2.20GHz, 8 GiB, Linux 6.1.0-27-cloud-amd64');
    expect(header).toContain('**Node**: v20.20.2');
    expect(header).toContain('**Kafka**: 4.3.1');
    expect(header).toContain('**Mode**: full, 3 repetitions');
    expect(header).toContain('**Duration**: 27 min 14 s'); // 1634 s
  });

  it('has a throughput row per scenario (sizes, then the base, then one factor each) and a column per client variant in the stated order, then the ratios', () => {
    const table = mdTable(markdown, 'Throughput');
    expect(table[0]).toEqual(['Scenario', ...VARIANTS, ...RATIOS]);
    expect(table.slice(1).map((r) => r[0])).toEqual(SCENARIOS);
    for (const row of table) expect(row).toHaveLength(1 + VARIANTS.length + RATIOS.length);
  });

  it('puts the median records/s, the MB/s and the min–max spread in each cell', () => {
    const table = mdTable(markdown, 'Throughput');
    // ours defaults, 100 B base: 812,000 records/s, 77.44 MB/s, 781,100–837,200 over 3 repetitions
    expect(cell(table, '100 B, base', 'ours defaults')).toBe('812k (77.4) [781–837k]');
    // a spread across units keeps both
    expect(cell(table, '100 B, base', 'ours recommended')).toBe('1.02M (97.3) [981k–1.05M]');
    expect(cell(table, '1 KiB, base', 'kafkajs')).toBe('61.2k (59.8) [58.9–63.1k]');
  });

  it('computes ours-defaults ratios against platformatic, kafkajs, Java defaults and Java with our batching to 2 decimals', () => {
    const table = mdTable(markdown, 'Throughput');
    // by hand from the fixture's medians: 100 B base: ours 812,000; platformatic 402,000; kafkajs 148,000;
    // Java 705,000; Java batch 690,000. 1 KiB base: 171,000; 118,000; 61,200; 158,000; 154,000.
    expect(RATIOS.map((r) => cell(table, '100 B, base', r))).toEqual(['2.02', '5.49', '1.15', '1.18']);
    expect(RATIOS.map((r) => cell(table, '1 KiB, base', r))).toEqual(['1.45', '2.79', '1.08', '1.11']);
    // no ratio against a client that could not run the scenario
    expect(cell(table, '100 B, zstd', 'ours ÷ kafkajs')).toBe('—');
    expect(cell(table, '100 B, keyed', 'ours ÷ Java defaults')).toBe('—');
  });

  it('shows n/a for an unavailable point, with its reason as a footnote shared by every scenario it applies to', () => {
    const table = mdTable(markdown, 'Throughput');
    const ref = cell(table, '100 B, zstd', 'kafkajs');
    expect(ref).toMatch(/^n\/a\[\^\d+\]$/);
    expect(cell(table, '1 KiB, zstd', 'kafkajs')).toBe(ref);
    const label = ref.slice('n/a'.length);
    const note = markdown.split('\n').find((l) => l.startsWith(`${label}:`));
    expect(note).toBe(`${label}: kafkajs: kafkajs ships no zstd codec (CompressionCodecs has gzip only) (100 B, zstd; 1 KiB, zstd)`);
    expect(cell(table, '100 B, lz4', 'kafkajs')).not.toBe(ref);
    expect(markdown).toContain('Java defaults: ProducerPerformance sends no keys (100 B, keyed; 1 KiB, keyed)');
    const cells = table.slice(1).flatMap((r) => r.slice(1, 1 + VARIANTS.length));
    expect(cells.filter((c) => c.startsWith('n/a'))).toHaveLength(results.runs.filter((r) => r.unavailable !== undefined).length);
  });

  it('has latency rows for the scenarios with latency figures only: p50/p99/p99.9 at the low rate and at half max, with the rates', () => {
    const table = mdTable(markdown, 'Latency');
    expect([...new Set(table.slice(1).map((r) => r[0]))]).toEqual(['100 B, base', '1 KiB, base']);
    const row = table.find((r) => r[0] === '100 B, base' && r[1] === 'ours defaults');
    expect(row).toEqual(['100 B, base', 'ours defaults', '500', '1.90', '7.98', '21.9', '406k', '7.03', '29.5', '80.8']);
    const rd = table.find((r) => r[0] === '1 KiB, base' && r[1] === 'librdkafka');
    expect(rd?.slice(2)).toEqual(Array(8).fill('—'));
  });

  it('marks a latency rate the client could not keep up with by the rate it achieved', () => {
    const results = load();
    const run = results.runs.find((r) => r.client === 'kafkajs' && r.scenario.recordSize === 100 && r.scenario.keyed === false && r.scenario.acks === 'all' && r.scenario.compression === 'none' && r.scenario.partitions === 12)!;
    run.latencyMs.halfMax = { ...run.latencyMs.halfMax!, rate: 46_000, achieved: 7_800 };
    run.latencyMs.lowRate = { ...run.latencyMs.lowRate!, rate: 500, achieved: 499 };
    const row = mdTable(renderMarkdown(results), 'Latency').find((r) => r[0] === '100 B, base' && r[1] === 'kafkajs')!;
    expect(row[2]).toBe('500');
    expect(row[6]).toBe('46.0k (did 7.80k)');
  });

  it('has a resources cell per variant and scenario: CPU-s per million records, peak RSS, and the event-loop delay where it was measured', () => {
    const table = mdTable(markdown, 'Resources');
    expect(table[0]).toEqual(['Scenario', ...VARIANTS]);
    expect(table.slice(1).map((r) => r[0])).toEqual(SCENARIOS);
    expect(cell(table, '100 B, base', 'ours defaults')).toBe('1.62 CPU-s · 144 MiB · 18.4 ms');
    expect(cell(table, '100 B, base', 'Java defaults')).toBe('1.18 CPU-s · 476 MiB');
    expect(cell(table, '100 B, base', 'librdkafka')).toBe('0.88 CPU-s · 46 MiB');
    expect(cell(table, '1 KiB, lz4', 'kafkajs')).toMatch(/^n\/a\[\^\d+\]$/);
  });

  it("lists each variant's settings compactly, with the values that vary by scenario as a set", () => {
    const lines = markdown.slice(markdown.indexOf('## Settings')).split('\n');
    const of = (label: string): string => lines.find((l) => l.startsWith(`- **${label}**`)) ?? '';
    for (const v of VARIANTS) expect(of(v)).not.toBe('');
    expect(of('ours recommended')).toContain('batchSize=262144 · compression ∈ {none, lz4, zstd}');
    expect(of('ours defaults on Node 24')).toContain('(ours 0.1.0, Node v24.11.1)');
    // kafkajs only ran uncompressed: its unavailable points contribute no settings
    expect(of('kafkajs')).toContain('compression=none');
    expect(of('Java defaults')).toContain('linger.ms=5');
  });

  it('says the end offsets were verified when every run was', () => {
    expect(markdown).toContain('End offsets verified: in all 88 runs');
    expect(markdown).not.toContain('NOT VERIFIED');
  });

  it('flags a run whose end offsets were not verified, at the top, in the settings section and in its cell', () => {
    const bad = withRun(results, (r) => r.client === 'platformatic' && isScenario(r, '1 KiB, 1 partition'), (r) => (r.endOffsetsVerified = false));
    const md = renderMarkdown(bad);
    const loud = '**⚠ END OFFSETS NOT VERIFIED in 1 run: platformatic in 1 KiB, 1 partition.**';
    expect(md.indexOf(loud)).toBeGreaterThan(-1);
    expect(md.indexOf(loud)).toBeLessThan(md.indexOf('## Throughput'));
    expect(md.lastIndexOf(loud)).toBeGreaterThan(md.indexOf('## Settings'));
    expect(md).not.toContain('End offsets verified: in all');
    expect(cell(mdTable(md, 'Throughput'), '1 KiB, 1 partition', 'platformatic')).toMatch(/ ⚠$/);
    expect(cell(mdTable(md, 'Throughput'), '1 KiB, base', 'platformatic')).not.toMatch(/⚠/);
  });

  it('does not flag an unavailable point, which has no offsets to verify', () => {
    const md = renderMarkdown(withRun(results, (r) => r.unavailable !== undefined, (r) => (r.endOffsetsVerified = false)));
    expect(md).not.toContain('NOT VERIFIED');
  });

  it('orders unknown variants after the known ones (ours first), and does not depend on the order of the runs', () => {
    const extra = structuredClone(results);
    const base = extra.runs.filter((r) => r.client === 'ours' && r.variant === 'defaults');
    const javaBase = extra.runs.filter((r) => r.client === 'java' && r.variant === 'defaults');
    extra.runs.push(...javaBase.map((r) => ({ ...structuredClone(r), variant: 'zgc' })), ...base.map((r) => ({ ...structuredClone(r), variant: 'experimental' })));
    const header = mdTable(renderMarkdown(extra), 'Throughput')[0];
    expect(header.slice(1, 1 + VARIANTS.length + 2)).toEqual([...VARIANTS, 'ours experimental', 'java zgc']);
    const reversed = { ...extra, runs: [...extra.runs].reverse() };
    expect(renderMarkdown(reversed)).toBe(renderMarkdown(extra));
  });

  it('puts an ours run on Node 24 in the Node 24 column even when its variant is just "defaults"', () => {
    const renamed = withRun(results, (r) => r.variant === 'defaults-node24', (r) => (r.variant = 'defaults'));
    expect(renderMarkdown(renamed)).toBe(markdown);
  });

  it('takes "java-batch-like-ours" (the schema\'s spelling) as the same variant as "batch-like-ours"', () => {
    const renamed = withRun(results, (r) => r.variant === 'batch-like-ours', (r) => (r.variant = 'java-batch-like-ours'));
    expect(renderMarkdown(renamed)).toBe(markdown);
  });

  it('renders a quick run (ours and Java, base scenarios) with only the ratios it has data for', () => {
    const quick: BenchResults = {
      ...results,
      mode: 'quick',
      runs: results.runs.filter((r) => r.scenario.acks === 'all' && r.scenario.compression === 'none' && r.scenario.partitions === 12 && !r.scenario.keyed && (r.client === 'ours' || r.client === 'java') && r.variant !== 'recommended' && r.variant !== 'defaults-node24' && r.variant !== 'batch-like-ours'),
    };
    const table = mdTable(renderMarkdown(quick), 'Throughput');
    expect(table[0]).toEqual(['Scenario', 'ours defaults', 'Java defaults', 'ours ÷ Java defaults']);
    expect(table.slice(1).map((r) => r[3])).toEqual(['1.15', '1.08']);
  });

  it('escapes Markdown in names from the results, so that a pipe cannot add a column', () => {
    const odd = withRun(results, (r) => r.client === 'librdkafka', (r) => (r.variant = 'a|b <i>'));
    const table = mdTable(renderMarkdown(odd), 'Throughput');
    expect(table[0]).toHaveLength(1 + VARIANTS.length + RATIOS.length);
    expect(table[0]).toContain('librdkafka a\\|b &lt;i&gt;');
  });
});

describe('renderThroughputSvg', () => {
  const results = load();
  const svg = renderThroughputSvg(results);
  const bars = (s: string): XmlElement[] => elements(s, (e) => e.attrs.class === 'bar');

  it('is a well-formed, self-contained SVG about 900 px wide', () => {
    const root = parseXml(svg);
    expect(root.name).toBe('svg');
    expect(root.attrs.xmlns).toBe('http://www.w3.org/2000/svg');
    expect(Number(root.attrs.width)).toBe(900);
    expect(svg).not.toMatch(/<script|<image|@import|url\(|href=/);
  });

  it('has a title naming the machine and the date', () => {
    expect(allText(svg)[0]).toBe('Producer throughput: 2 × Intel(R) Xeon(R) CPU @ 2.20GHz, 2026-12-05 14:03 UTC');
  });

  it('draws one bar per available point, each labelled with its variant and scenario, and an n/a mark for each unavailable one', () => {
    const expected = results.runs.filter((r) => r.unavailable === undefined && r.recordsPerSec !== null).length;
    expect(expected).toBe(88);
    const titles = bars(svg).map((b) => titleOf(b).split(':')[0]);
    expect(titles).toHaveLength(expected);
    expect(new Set(titles).size).toBe(expected);
    expect(titles).toContain('ours defaults, 100 B, base');
    expect(titles).not.toContain('kafkajs, 100 B, zstd');
    const na = elements(svg, (e) => e.attrs.class === 'na');
    expect(na.map((e) => e.text)).toEqual(Array(8).fill('n/a'));
    expect(na.map((e) => titleOf(e))).toContain('kafkajs, 100 B, zstd: kafkajs ships no zstd codec (CompressionCodecs has gzip only)');
  });

  it('draws no bar for a point without figures that is not marked unavailable (no repetition finished)', () => {
    const empty = withRun(results, (r) => r.client === 'kafkajs' && isScenario(r, '100 B, base'), (r) => {
      Object.assign(r, { reps: 0, recordsPerSec: null, recordsPerSecMin: null, recordsPerSecMax: null, mbPerSec: null });
    });
    const s = renderThroughputSvg(empty);
    expect(bars(s)).toHaveLength(87);
    expect(s).not.toContain('NaN');
    expect(cell(mdTable(renderMarkdown(empty), 'Throughput'), '100 B, base', 'kafkajs')).toBe('—');
  });

  it('sizes the bars by records/s on a scale from zero', () => {
    const b = bars(svg);
    const h = (label: string): number => Number(b.find((x) => titleOf(x).startsWith(`${label}:`))!.attrs.height);
    // same panel (100 B), so heights are proportional to the medians: 812,000 / 402,000
    expect(h('ours defaults, 100 B, base') / h('platformatic, 100 B, base')).toBeCloseTo(812_000 / 402_000, 1);
  });

  it('gives each variant one colour, distinct from the others, the same in the legend as on the bars', () => {
    const fills = new Map<string, Set<string>>();
    for (const b of bars(svg)) {
      const v = titleOf(b).split(',')[0];
      fills.set(v, (fills.get(v) ?? new Set()).add(b.attrs.fill));
    }
    for (const f of fills.values()) expect(f.size).toBe(1);
    expect(new Set([...fills.values()].map((f) => [...f][0])).size).toBe(VARIANTS.length);
    for (const v of VARIANTS) expect(allText(svg).filter((t) => t === v)).toHaveLength(1);
  });

  it('outlines a point whose end offsets were not verified and says so above the chart', () => {
    expect(svg).not.toContain('NOT verified');
    const s = renderThroughputSvg(withRun(results, (r) => r.client === 'platformatic' && isScenario(r, '1 KiB, 1 partition'), (r) => (r.endOffsetsVerified = false)));
    expect(allText(s)).toContain('⚠ End offsets NOT verified for 1 point (red dashed outline): do not trust it.');
    const outlined = bars(s).filter((b) => b.attrs.stroke !== undefined);
    expect(outlined.map((b) => titleOf(b).split(':')[0])).toEqual(['platformatic, 1 KiB, 1 partition']);
  });

  it('labels the axes with k/M ticks', () => {
    const texts = allText(svg);
    for (const t of ['0', '250k', '500k', '750k', '1M', '1.25M', '100k', '200k', '300k']) expect(texts).toContain(t);
  });

  it('escapes <, & and > in text taken from the results', () => {
    const odd = structuredClone(results);
    odd.machine.cpuModel = 'Xeon <Sapphire & Rapids>';
    const s = renderThroughputSvg(withRun(odd, (r) => r.client === 'librdkafka', (r) => (r.variant = 'tuned<&>')));
    expect(s).toContain('Xeon &lt;Sapphire &amp; Rapids&gt;');
    expect(s).not.toContain('<Sapphire');
    expect(s).not.toContain('tuned<&>');
    expect(allText(s)).toContain('librdkafka tuned<&>');
    expect(bars(s)).toHaveLength(88);
  });

  it('is deterministic: the same results give the same bytes, whatever the order of the runs', () => {
    expect(renderThroughputSvg(load())).toBe(svg);
    expect(renderThroughputSvg({ ...results, runs: [...results.runs].reverse() })).toBe(svg);
  });
});

describe('renderLatencySvg', () => {
  const results = load();
  const svg = renderLatencySvg(results);

  it('is well-formed, states its log-scale ms axis and names the machine and date', () => {
    expect(parseXml(svg).name).toBe('svg');
    expect(allText(svg)[0]).toBe('Producer latency: 2 × Intel(R) Xeon(R) CPU @ 2.20GHz, 2026-12-05 14:03 UTC');
    expect(allText(svg)).toContain('ms (log scale)');
  });

  it('has a panel for the low rate and for half max of each base scenario only', () => {
    const headings = allText(svg).filter((t) => t.includes(', base:') || t.includes('zstd'));
    expect(headings).toEqual(['100 B, base: low rate', "100 B, base: half of each client's max", '1 KiB, base: low rate', "1 KiB, base: half of each client's max"]);
  });

  it('marks p50, p99 and p99.9 of every variant with figures, at the value it was measured at', () => {
    const marks = elements(svg, (e) => e.attrs.class === 'mark');
    // 2 base scenarios × 2 rates × 7 variants with figures (librdkafka has none) × 3 percentiles
    expect(marks).toHaveLength(84);
    expect(marks.map(titleOf)).toContain('ours defaults, 100 B, base, 406k records/s: p99.9 80.8 ms');
    expect(marks.some((m) => titleOf(m).startsWith('librdkafka'))).toBe(false);
    expect(allText(svg).filter((t) => t === 'no latency figures')).toHaveLength(4);
    // log scale: equal ratios are equal distances. 1.90 → 21.9 ms and 7.03 → 80.8 ms are both × 11.5
    // (on a linear axis the second span would be 3.7 times as long); p99.9 is a diamond path, so read its x from d.
    const pos = (t: string): number => {
      const m = marks.find((e) => titleOf(e) === t);
      if (m === undefined) throw new Error(`no mark ${t}`);
      return m.name === 'circle' ? Number(m.attrs.cx) : Number(/^M([-0-9.]+)/.exec(m.attrs.d)![1]);
    };
    const low = pos('ours defaults, 100 B, base, 500 records/s: p99.9 21.9 ms') - pos('ours defaults, 100 B, base, 500 records/s: p50 1.90 ms');
    const half = pos('ours defaults, 100 B, base, 406k records/s: p99.9 80.8 ms') - pos('ours defaults, 100 B, base, 406k records/s: p50 7.03 ms');
    expect(low).toBeGreaterThan(50);
    expect(Math.abs(half - low)).toBeLessThan(1);
  });

  it('writes the rate each variant was driven at', () => {
    expect(allText(svg)).toEqual(expect.arrayContaining(['500/s', '406k/s', '85.5k/s']));
  });

  it('still renders, saying so, when there are no latency figures', () => {
    const none = structuredClone(results);
    for (const r of none.runs) r.latencyMs = { lowRate: null, halfMax: null };
    const s = renderLatencySvg(none);
    expect(parseXml(s).name).toBe('svg');
    expect(allText(s)).toContain('No latency figures for the base scenarios in these results.');
  });

  it('is deterministic and escapes text from the results', () => {
    expect(renderLatencySvg(load())).toBe(svg);
    const odd = structuredClone(results);
    odd.machine.cpuModel = 'A&B <x>';
    const s = renderLatencySvg(odd);
    expect(s).toContain(escapeXml('A&B <x>'));
    expect(allText(s)[0]).toContain('A&B <x>');
  });
});

describe('formatCount', () => {
  it('uses three significant digits with k and M, never exponent notation', () => {
    expect([950, 45_600, 812_000, 999_600, 1_020_000, 12_345_678].map(formatCount)).toEqual(['950', '45.6k', '812k', '1.00M', '1.02M', '12.3M']);
  });
});
