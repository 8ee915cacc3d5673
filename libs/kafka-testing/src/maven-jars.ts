import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheDir, harnessPom, javaSourceDir } from './paths';
import { isAlive } from './process-registry';
import { describeFailure, runProcess } from './run-process';
import { KafkaVersionProfile, kafkaVersionFromEnv, versionProfile } from './versions';

/** Everything needed to run a Kafka class: jars resolved by Maven plus the compiled helper classes. */
export interface KafkaJars {
  version: string;
  profile: KafkaVersionProfile;
  /** `<cache>/<version>` */
  versionDir: string;
  libDir: string;
  helperClassesDir: string;
  /** For `java -cp`; the launcher expands `lib/*`. */
  classpath: string;
  /** JVM flags that point the logging backend at a quiet stderr config, for short tools. */
  toolLoggingArgs: string[];
}

export interface FetchOptions {
  version?: string;
  log?: (message: string) => void;
  /** Maven can take minutes on a cold ~/.m2. */
  mavenTimeoutMs?: number;
}

const MARKER = '.complete.json';

export async function ensureKafkaJars(options: FetchOptions = {}): Promise<KafkaJars> {
  const version = options.version ?? kafkaVersionFromEnv();
  const profile = versionProfile(version);
  const log = options.log ?? ((): void => undefined);
  const versionDir = path.join(cacheDir(), version);
  const libDir = path.join(versionDir, 'lib');
  fs.mkdirSync(versionDir, { recursive: true });

  const helperHash = helperSourceHash();
  const helperClassesDir = path.join(versionDir, `helper-${helperHash}`);
  if (!isFetched(versionDir) || !fs.existsSync(helperClassesDir)) {
    await withLock(path.join(versionDir, '.lock'), async () => {
      if (!isFetched(versionDir)) await fetchWithMaven(profile, versionDir, libDir, log, options.mavenTimeoutMs ?? 15 * 60_000);
      if (!fs.existsSync(helperClassesDir)) await compileHelper(libDir, helperClassesDir, log);
    });
  }
  const toolLoggingArgs = writeToolLoggingConfig(profile, versionDir);
  return {
    version,
    profile,
    versionDir,
    libDir,
    helperClassesDir,
    classpath: [path.join(libDir, '*'), helperClassesDir].join(path.delimiter),
    toolLoggingArgs,
  };
}

function isFetched(versionDir: string): boolean {
  return fs.existsSync(path.join(versionDir, MARKER)) && fs.existsSync(path.join(versionDir, 'lib'));
}

async function fetchWithMaven(
  profile: KafkaVersionProfile,
  versionDir: string,
  libDir: string,
  log: (m: string) => void,
  timeoutMs: number,
): Promise<void> {
  // Resolve into a scratch folder and rename, so an interrupted run never looks complete.
  const scratch = path.join(versionDir, `lib.partial-${process.pid}`);
  fs.rmSync(scratch, { recursive: true, force: true });
  const b = profile.loggingBinding;
  const args = [
    '-q',
    '-B',
    '-f',
    harnessPom(),
    'dependency:copy-dependencies',
    `-Dkafka.version=${profile.version}`,
    `-Dlog.binding.groupId=${b.groupId}`,
    `-Dlog.binding.artifactId=${b.artifactId}`,
    `-Dlog.binding.version=${b.version}`,
    `-DoutputDirectory=${scratch}`,
  ];
  log(`kafka-testing: resolving Kafka ${profile.version} jars with Maven (first run only, can take a few minutes)…`);
  const result = await runProcess(process.env.MVN ?? 'mvn', args, { timeoutMs }).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\nkafka-testing needs Maven (mvn) on PATH to fetch the Kafka jars, or set KAFKA_CACHE_DIR to a prepared cache.`);
  });
  if (result.code !== 0) throw new Error(`kafka-testing: Maven could not resolve Kafka ${profile.version}:\n${describeFailure(result)}`);
  const jars = fs.readdirSync(scratch).filter((f) => f.endsWith('.jar'));
  const expected = [`kafka_2.13-${profile.version}.jar`, `kafka-tools-${profile.version}.jar`, `kafka-clients-${profile.version}.jar`];
  for (const jar of expected) {
    if (!jars.includes(jar)) throw new Error(`kafka-testing: Maven finished but ${jar} is missing from ${scratch}`);
  }
  fs.rmSync(libDir, { recursive: true, force: true });
  fs.renameSync(scratch, libDir);
  fs.writeFileSync(
    path.join(versionDir, MARKER),
    JSON.stringify({ version: profile.version, loggingBinding: b, jars: jars.length, fetchedAt: new Date().toISOString(), tookMs: result.durationMs }, null, 2),
  );
  log(`kafka-testing: ${jars.length} jars for Kafka ${profile.version} in ${libDir} (${Math.round(result.durationMs / 1000)} s)`);
}

function helperSources(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.java')) out.push(full);
    }
  };
  walk(javaSourceDir());
  return out.sort();
}

/** The compiled folder is named by a hash of the sources, so editing the Java recompiles it. */
function helperSourceHash(): string {
  const h = createHash('sha256');
  for (const file of helperSources()) h.update(path.relative(javaSourceDir(), file)).update('\0').update(fs.readFileSync(file));
  return h.digest('hex').slice(0, 12);
}

async function compileHelper(libDir: string, outDir: string, log: (m: string) => void): Promise<void> {
  const scratch = `${outDir}.partial-${process.pid}`;
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.mkdirSync(scratch, { recursive: true });
  const javac = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'javac') : 'javac';
  // Only kafka-clients is needed: the helper uses nothing but the public client API.
  const clients = fs.readdirSync(libDir).find((f) => /^kafka-clients-.*\.jar$/.test(f));
  if (clients === undefined) throw new Error(`kafka-testing: no kafka-clients jar in ${libDir}`);
  const result = await runProcess(javac, ['--release', '11', '-nowarn', '-encoding', 'UTF-8', '-cp', path.join(libDir, clients), '-d', scratch, ...helperSources()], {
    timeoutMs: 120_000,
  }).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\nkafka-testing compiles its Java verifier with javac: install a JDK (17+), not only a JRE.`);
  });
  if (result.code !== 0) throw new Error(`kafka-testing: compiling the Java helper failed:\n${describeFailure(result)}`);
  fs.renameSync(scratch, outDir);
  log(`kafka-testing: compiled the Java helper into ${outDir}`);
}

/**
 * A cross-process lock (jest global setup, the CLI and a second terminal may all fetch at once):
 * mkdir is atomic, and the owner's pid inside lets a crashed owner's lock be broken.
 */
async function withLock<T>(lockDir: string, body: () => Promise<T>, timeoutMs = 20 * 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = NaN;
      try {
        owner = Number(fs.readFileSync(path.join(lockDir, 'pid'), 'utf8'));
      } catch {
        // the owner is between mkdir and writing its pid
      }
      if (Number.isInteger(owner) && owner > 0 && !isAlive(owner)) {
        fs.rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`kafka-testing: timed out waiting for the fetch lock ${lockDir}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await body();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

/** Short tools log WARN and above to stderr, keeping stdout for their actual output. */
function writeToolLoggingConfig(profile: KafkaVersionProfile, versionDir: string): string[] {
  const dir = path.join(versionDir, 'config');
  fs.mkdirSync(dir, { recursive: true });
  if (profile.logging === 'log4j2') {
    const file = path.join(dir, 'tools-log4j2.properties');
    writeIfChanged(
      file,
      [
        'status = error',
        'appender.stderr.type = Console',
        'appender.stderr.name = STDERR',
        'appender.stderr.target = SYSTEM_ERR',
        'appender.stderr.layout.type = PatternLayout',
        'appender.stderr.layout.pattern = [%d] %p %m (%c)%n',
        'rootLogger.level = WARN',
        'rootLogger.appenderRef.stderr.ref = STDERR',
        '',
      ].join('\n'),
    );
    return [`-Dlog4j2.configurationFile=${file}`];
  }
  const file = path.join(dir, 'tools-log4j.properties');
  writeIfChanged(
    file,
    [
      'log4j.rootLogger=WARN, stderr',
      'log4j.appender.stderr=org.apache.log4j.ConsoleAppender',
      'log4j.appender.stderr.Target=System.err',
      'log4j.appender.stderr.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n',
      '',
    ].join('\n'),
  );
  return [`-Dlog4j.configuration=file:${file}`];
}

export function writeIfChanged(file: string, content: string): void {
  try {
    if (fs.readFileSync(file, 'utf8') === content) return;
  } catch {
    // missing: write it
  }
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}
