/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`) by self time.
 *
 *   npx ts-node --transpile-only bench/profile-summary.ts FILE.cpuprofile [--top 15] [--from-us N --to-us N] [--lines 3]
 *
 * Self time of a sample = the time until the next sample (as Chrome DevTools counts it), attributed to
 * the function on top of the stack. Rows are aggregated by function name + script url + line, so the
 * same function reached through different call paths is one row. `--from-us/--to-us` keep only the
 * samples inside a window of the profile's clock (process.hrtime in microseconds), e.g. the timed
 * section that `our-producer-perf.ts` reports as `windowUs`, which leaves out start-up and ts-node's
 * transpilation. `--lines N` adds each function's N hottest source lines (V8's positionTicks, counted over
 * the whole profile). A second table groups self time by file.
 *
 * Line numbers in a profile are those of the JavaScript V8 ran; for the repository's .ts files (run
 * through ts-node) they are mapped back to TypeScript lines by transpiling the file again as ts-node does
 * and reading the source map. That uses the file as it is now: profile and summarise the same checkout.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
  /** Samples per source line (1-based) while this node was on top; over the whole profile. */
  positionTicks?: Array<{ line: number; ticks: number }>;
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTimeRow {
  name: string;
  location: string;
  selfMs: number;
  percent: number;
  /** Hottest source lines of the function (whole profile, not only the window), when asked for. */
  lines?: Array<{ line: number; share: number }>;
}

export interface ProfileSummary {
  /** Time covered by the kept samples, ms. */
  totalMs: number;
  /** The same without (idle) and (program): time V8 spent running JS, GC or natives. */
  busyMs: number;
  functions: SelfTimeRow[];
  files: SelfTimeRow[];
}

const REPO_ROOT = path.resolve(__dirname, '..');

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** generated line (1-based) → original line (1-based, 0 if unmapped), from a source map's `mappings`. */
export function decodeLineMap(mappings: string): Int32Array {
  const lines = mappings.split(';');
  const out = new Int32Array(lines.length + 1);
  let srcLine = 0;
  for (let g = 0; g < lines.length; g++) {
    let first = -1;
    for (const segment of lines[g].split(',')) {
      if (segment === '') continue;
      const fields: number[] = [];
      let value = 0;
      let shift = 0;
      for (const ch of segment) {
        const digit = BASE64.indexOf(ch);
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else {
          fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      // [column, source, original line, original column, name]: the line is a delta across the whole map
      if (fields.length >= 4) {
        srcLine += fields[2];
        if (first < 0) first = srcLine;
      }
    }
    out[g + 1] = first < 0 ? 0 : first + 1;
  }
  return out;
}

let compilerOptions: ts.CompilerOptions | undefined;
const lineMaps = new Map<string, Int32Array | null>();

/** Maps a line of the JavaScript ts-node produced for `file` back to the TypeScript line. */
function tsLine(file: string, jsLine: number): number {
  let map = lineMaps.get(file);
  if (map === undefined) {
    map = null;
    try {
      if (compilerOptions === undefined) {
        const config = ts.readConfigFile(path.join(REPO_ROOT, 'tsconfig.json'), (f) => ts.sys.readFile(f));
        compilerOptions = ts.convertCompilerOptionsFromJson(config.config?.compilerOptions ?? {}, REPO_ROOT).options;
      }
      const out = ts.transpileModule(fs.readFileSync(file, 'utf8'), {
        compilerOptions: { ...compilerOptions, sourceMap: true, inlineSourceMap: false, declaration: false },
        fileName: file,
      });
      if (out.sourceMapText !== undefined) map = decodeLineMap((JSON.parse(out.sourceMapText) as { mappings: string }).mappings);
    } catch {
      map = null;
    }
    lineMaps.set(file, map);
  }
  if (map === null) return jsLine;
  // an unmapped line (e.g. emitted helper code) takes the nearest mapped line above it
  for (let l = Math.min(jsLine, map.length - 1); l > 0; l--) if (map[l] > 0) return map[l];
  return jsLine;
}

/** `url`'s line (1-based, as V8 reports it for that script) in the source the developer reads. */
function sourceLine(url: string, line: number): number {
  if (!url.startsWith('file://') || !url.endsWith('.ts')) return line;
  return tsLine(decodeURIComponent(url.slice('file://'.length)), line);
}

function shortUrl(url: string): string {
  if (url === '') return '(native)';
  let u = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
  if (u.startsWith(REPO_ROOT + path.sep)) u = u.slice(REPO_ROOT.length + 1);
  return u;
}

export function summarizeProfile(profile: CpuProfile, options: { top?: number; fromUs?: number; toUs?: number; lines?: number } = {}): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const selfUs = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  let t = profile.startTime;
  const from = options.fromUs ?? -Infinity;
  const to = options.toUs ?? Infinity;
  for (let i = 0; i < samples.length; i++) {
    t += timeDeltas[i];
    const next = i + 1 < samples.length ? t + timeDeltas[i + 1] : profile.endTime;
    // clip the sample's interval to the window
    const start = Math.max(t, from);
    const end = Math.min(next, to);
    if (end <= start) continue;
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + (end - start));
  }

  const functions = new Map<string, { name: string; location: string; us: number; ticks: Map<number, number> }>();
  const files = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    totalUs += us;
    const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
    if (name === '(idle)' || name === '(program)') idleUs += us;
    const file = shortUrl(frame.url);
    // lineNumber is 0-based in the profile
    const location = frame.url === '' ? file : `${file}:${sourceLine(frame.url, frame.lineNumber + 1)}`;
    const key = `${name}\u0000${location}`;
    let row = functions.get(key);
    if (row === undefined) {
      row = { name, location, us: 0, ticks: new Map() };
      functions.set(key, row);
    }
    row.us += us;
    for (const pt of byId.get(id)?.positionTicks ?? []) {
      const line = sourceLine(frame.url, pt.line);
      row.ticks.set(line, (row.ticks.get(line) ?? 0) + pt.ticks);
    }
    const fileKey = frame.url === '' ? name : file;
    files.set(fileKey, (files.get(fileKey) ?? 0) + us);
  }
  const top = options.top ?? 15;
  const pct = (us: number): number => (totalUs === 0 ? 0 : (100 * us) / totalUs);
  return {
    totalMs: totalUs / 1000,
    busyMs: (totalUs - idleUs) / 1000,
    functions: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((r) => {
        const out: SelfTimeRow = { name: r.name, location: r.location, selfMs: r.us / 1000, percent: pct(r.us) };
        const n = options.lines ?? 0;
        if (n > 0 && r.ticks.size > 0) {
          let total = 0;
          for (const t of r.ticks.values()) total += t;
          out.lines = [...r.ticks.entries()]
            .sort((a, b) => b[1] - a[1])
            .slice(0, n)
            .map(([line, t]) => ({ line, share: t / total }));
        }
        return out;
      }),
    files: [...files.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([f, us]) => ({ name: f, location: f, selfMs: us / 1000, percent: pct(us) })),
  };
}

export function formatSummary(summary: ProfileSummary): string {
  const lines: string[] = [];
  lines.push(`samples cover ${summary.totalMs.toFixed(0)} ms (${summary.busyMs.toFixed(0)} ms excluding (idle)/(program))`);
  lines.push('');
  lines.push('  self ms   self %  function  (location)');
  for (const r of summary.functions) {
    lines.push(`${r.selfMs.toFixed(1).padStart(9)}  ${r.percent.toFixed(1).padStart(6)}  ${r.name}  (${r.location})`);
    if (r.lines !== undefined) lines.push(`${' '.repeat(19)}hot lines: ${r.lines.map((l) => `${l.line} (${(100 * l.share).toFixed(0)}%)`).join(', ')}`);
  }
  lines.push('');
  lines.push('  self ms   self %  file');
  for (const r of summary.files) lines.push(`${r.selfMs.toFixed(1).padStart(9)}  ${r.percent.toFixed(1).padStart(6)}  ${r.name}`);
  return lines.join('\n');
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
}

function main(argv: readonly string[]): void {
  let file: string | undefined;
  const opts: { top?: number; fromUs?: number; toUs?: number; lines?: number } = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v)) throw new Error(`${a} needs a number`);
      return v;
    };
    if (a === '--top') opts.top = num();
    else if (a === '--from-us') opts.fromUs = num();
    else if (a === '--to-us') opts.toUs = num();
    else if (a === '--lines') opts.lines = num();
    else if (!a.startsWith('--') && file === undefined) file = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (file === undefined) throw new Error('usage: profile-summary.ts FILE.cpuprofile [--top 15] [--from-us N --to-us N] [--lines N]');
  process.stdout.write(`${formatSummary(summarizeProfile(readProfile(file), opts))}\n`);
}

if (require.main === module) main(process.argv.slice(2));
