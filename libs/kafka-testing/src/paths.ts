import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Locates the workspace so the harness works the same from ts-node, ts-jest and a compiled dist/
 * tree: walk up from this file (then from the cwd) to the folder that holds the harness POM.
 */
export function repoRoot(): string {
  const marker = path.join('libs', 'kafka-testing', 'maven', 'pom.xml');
  for (const start of [__dirname, process.cwd()]) {
    let dir = path.resolve(start);
    for (;;) {
      if (fs.existsSync(path.join(dir, marker))) return dir;
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new Error(`kafka-testing: cannot find ${marker} above ${__dirname} or ${process.cwd()}`);
}

export function harnessPom(): string {
  return path.join(repoRoot(), 'libs', 'kafka-testing', 'maven', 'pom.xml');
}

export function javaSourceDir(): string {
  return path.join(repoRoot(), 'libs', 'kafka-testing', 'java');
}

/** Jars, compiled helpers and run state live here; gitignored (`.kafka/`). */
export function cacheDir(): string {
  const override = process.env.KAFKA_CACHE_DIR;
  return override !== undefined && override !== '' ? path.resolve(override) : path.join(repoRoot(), '.kafka');
}

/** State of the cluster started by `npm run kafka:start` (the CLI). */
export function runDir(): string {
  return path.join(cacheDir(), 'run');
}
