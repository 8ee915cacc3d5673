/**
 * Builds the two libraries as installable npm packages:
 *
 *   npm run build:packages   ->  dist/packages/kafka-wire-producer-0.1.0.tgz, dist/packages/nestjs-kafka-wire-producer-0.1.0.tgz
 *
 * Each library compiles with tsc (CommonJS + .d.ts) into its own staging folder,
 * dist/packages/<package name>/, next to a copy of its package.json and README. The Nest library
 * is compiled against the producer's *emitted declarations*, so it cannot reach into producer
 * sources, and the monorepo aliases in its output are rewritten to the package names (an installed
 * package has no `@app/...` to resolve). Every `src/<name>/index.ts` of the Nest library becomes
 * an `exports` subpath (`nestjs-kafka-wire-producer/<name>`), so optional entry points (microservices,
 * health, testing, otel) ship without the main entry importing their optional peers.
 * The tarballs are checked before the script succeeds: only package.json, README.md and compiled
 * dist files, no specs, fixtures or test helpers, no leftover alias.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
export const PACKAGES_DIR = path.join(ROOT, 'dist', 'packages');

/** Files of the library sources that are never shipped (tests and their helpers live beside the code). */
const NOT_SHIPPED = ['**/*.spec.ts', '**/*.e2e-spec.ts', '**/*.bench.ts', '**/__fixtures__/**', '**/test/**', '**/test-support/**'];
/** A shipped file matching this is a packaging bug. */
const FORBIDDEN_IN_TARBALL = /\.spec\.|e2e-spec|\.bench\.|__fixtures__|\/test\/|test-support|kafka-testing|\.tsbuildinfo$|\.ts$(?<!\.d\.ts)/;

interface PackageJson {
  name: string;
  version: string;
  main: string;
  types: string;
  exports: Record<string, unknown>;
  typesVersions?: Record<string, Record<string, string[]>>;
  peerDependencies?: Record<string, string>;
  [key: string]: unknown;
}

interface Library {
  /** Folder under libs/. */
  dir: string;
  /** The monorepo alias that names this library (tsconfig paths). */
  alias: string;
  pkg: PackageJson;
}

export interface PackedLibraries {
  producer: { name: string; version: string; tarball: string };
  nest: { name: string; version: string; tarball: string; subpaths: string[] };
}

function readLibrary(dir: string, alias: string): Library {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'libs', dir, 'package.json'), 'utf8')) as PackageJson;
  return { dir, alias, pkg };
}

/** Where the current build writes (a test passes its own folder, so parallel runs never share one). */
let outDir = PACKAGES_DIR;

function stagingDir(lib: Library): string {
  return path.join(outDir, lib.pkg.name);
}

/** Compiles libs/<dir>/src with the library's tsconfig.lib.json into <staging>/dist. */
function compile(lib: Library, paths: Record<string, string[]>): void {
  const libDir = path.join(ROOT, 'libs', lib.dir);
  const configDir = path.join(outDir, '.tsconfig');
  fs.mkdirSync(configDir, { recursive: true });
  const rel = (p: string) => path.relative(configDir, p).split(path.sep).join('/');
  const config = {
    extends: rel(path.join(libDir, 'tsconfig.lib.json')),
    compilerOptions: {
      outDir: rel(path.join(stagingDir(lib), 'dist')),
      rootDir: rel(path.join(libDir, 'src')),
      // source maps would point at sources the package does not contain
      sourceMap: false,
      declarationMap: false,
      incremental: false,
      // the config may sit outside the workspace (a test's temp folder): @types come from the workspace
      typeRoots: [path.join(ROOT, 'node_modules', '@types')],
      // only the aliases given: an import of anything else from the monorepo fails the build
      paths,
    },
    include: [rel(path.join(libDir, 'src', '**', '*.ts'))],
    exclude: NOT_SHIPPED.map((g) => rel(path.join(libDir, 'src', g))),
  };
  const configFile = path.join(configDir, `tsconfig.${lib.dir}.json`);
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', configFile], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new Error(`tsc failed for libs/${lib.dir}:\n${(err as { stdout?: string }).stdout ?? String(err)}`);
  }
}

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** `@app/kafka-producer` (and any subpath) becomes the package name in emitted .js and .d.ts. */
function rewriteAliases(lib: Library, aliases: ReadonlyMap<string, string>): void {
  for (const file of walk(path.join(stagingDir(lib), 'dist'))) {
    if (!file.endsWith('.js') && !file.endsWith('.d.ts')) continue;
    let text = fs.readFileSync(file, 'utf8');
    for (const [alias, name] of aliases) {
      const escaped = alias.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      text = text.replace(new RegExp(`(['"])${escaped}(/[^'"]*)?\\1`, 'g'), (_m, q: string, sub: string | undefined) => `${q}${name}${sub ?? ''}${q}`);
    }
    const left = /['"](@app\/[^'"]+)['"]/.exec(text);
    if (left) throw new Error(`${path.relative(ROOT, file)} still imports the monorepo alias ${left[1]}`);
    fs.writeFileSync(file, text);
  }
}

/** Names of the sub-entry points: every src/<name>/index.ts. */
function subEntryPoints(lib: Library): string[] {
  const src = path.join(ROOT, 'libs', lib.dir, 'src');
  return fs
    .readdirSync(src, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(src, e.name, 'index.ts')))
    .map((e) => e.name)
    .sort();
}

function writePackageJson(lib: Library, subpaths: string[]): void {
  const pkg: PackageJson = { ...lib.pkg, exports: { ...lib.pkg.exports } };
  for (const name of subpaths) {
    pkg.exports[`./${name}`] = { types: `./dist/${name}/index.d.ts`, default: `./dist/${name}/index.js` };
  }
  if (subpaths.length > 0) {
    // TypeScript with moduleResolution node10 (still common in Nest apps) ignores "exports"
    pkg.typesVersions = { '*': Object.fromEntries(subpaths.map((name) => [name, [`dist/${name}/index.d.ts`]])) };
  }
  const staging = stagingDir(lib);
  for (const file of [pkg.main, pkg.types, ...subpaths.flatMap((n) => [`dist/${n}/index.js`, `dist/${n}/index.d.ts`])]) {
    if (!fs.existsSync(path.join(staging, file))) throw new Error(`${pkg.name}: ${file} named in package.json was not built`);
  }
  fs.writeFileSync(path.join(staging, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  fs.copyFileSync(path.join(ROOT, 'libs', lib.dir, 'README.md'), path.join(staging, 'README.md'));
}

function npmPack(lib: Library): string {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', outDir], { cwd: stagingDir(lib), encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const [info] = JSON.parse(out) as Array<{ filename: string }>;
  return path.join(outDir, info.filename);
}

/** The files of a tarball, as `tar tzf` lists them (package/...). */
export function tarballFiles(tarball: string): string[] {
  return execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n').filter((l) => l !== '' && !l.endsWith('/'));
}

function checkTarball(tarball: string): void {
  const bad = tarballFiles(tarball).filter((f) => FORBIDDEN_IN_TARBALL.test(f) || !/^package\/(package\.json|README\.md|dist\/.+\.(js|d\.ts))$/.test(f));
  if (bad.length > 0) throw new Error(`${path.basename(tarball)} ships files it must not:\n  ${bad.join('\n  ')}`);
}

/** Builds and packs both libraries into `into` (emptied first); returns the tarballs. */
export function packLibraries(into: string = PACKAGES_DIR): PackedLibraries {
  outDir = into;
  const producer = readLibrary('kafka-producer', '@app/kafka-producer');
  const nest = readLibrary('nestjs-kafka-producer', '@app/nestjs-kafka-producer');
  // the Nest package holds the producer as a peer: the app installs one copy, so instanceof works across both
  const peerRange = nest.pkg.peerDependencies?.[producer.pkg.name];
  if (peerRange !== `^${producer.pkg.version}`) {
    throw new Error(`${nest.pkg.name} must list ${producer.pkg.name} as a peer with range ^${producer.pkg.version} (has ${String(peerRange)})`);
  }

  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });

  compile(producer, {});
  rewriteAliases(producer, new Map());
  writePackageJson(producer, []);

  const producerTypes = path.join(stagingDir(producer), 'dist', 'index');
  compile(nest, { [producer.alias]: [producerTypes] });
  rewriteAliases(
    nest,
    new Map([
      [producer.alias, producer.pkg.name],
      [nest.alias, nest.pkg.name],
    ]),
  );
  const subpaths = subEntryPoints(nest);
  writePackageJson(nest, subpaths);

  const producerTarball = npmPack(producer);
  const nestTarball = npmPack(nest);
  checkTarball(producerTarball);
  checkTarball(nestTarball);
  fs.rmSync(path.join(outDir, '.tsconfig'), { recursive: true, force: true });
  return {
    producer: { name: producer.pkg.name, version: producer.pkg.version, tarball: producerTarball },
    nest: { name: nest.pkg.name, version: nest.pkg.version, tarball: nestTarball, subpaths },
  };
}

if (require.main === module) {
  const packed = packLibraries();
  for (const p of [packed.producer, packed.nest]) {
    console.log(`${path.relative(ROOT, p.tarball)}: ${tarballFiles(p.tarball).length} files`);
  }
  if (packed.nest.subpaths.length > 0) console.log(`${packed.nest.name} entry points: ${packed.nest.subpaths.map((s) => `${packed.nest.name}/${s}`).join(', ')}`);
}
