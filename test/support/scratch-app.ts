import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * A Nest app as a user would write it, in its own folder outside the workspace: it installs the packed
 * tarballs from the registry's point of view (no monorepo aliases, no workspace node_modules), is compiled
 * with tsc against the installed declarations and runs with plain `node`.
 */

const ROOT = path.resolve(__dirname, '..', '..');

/** The version of a package installed in the workspace, so the scratch install hits npm's cache. */
export function workspaceVersion(name: string): string {
  return (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Environment without anything that could let the scratch app resolve modules from the workspace. */
function isolatedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_PATH;
  delete env.NODE_OPTIONS;
  delete env.TS_NODE_PROJECT;
  return env;
}

export function npmInstall(dir: string, specs: string[]): void {
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'scratch-nest-app', private: true, version: '0.0.0' }, null, 2));
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', ...specs], {
    cwd: dir,
    env: isolatedEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
}

/** What the app prints as its last line. */
export interface ScratchAppResult {
  partition: number;
  offset: string;
  /** `service.producer instanceof KafkaProducer` with the class the app imported itself. */
  sameProducerClass: boolean;
  /** The Nest layer's rejection for an invalid record, checked against the app's own KafkaError. */
  rejectionIsKafkaError: boolean;
  rejectionName: string;
  /** Sub-entry points resolved through the package's "exports". */
  resolvedSubpaths: string[];
}

const APP_SOURCE = `import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { KafkaError, KafkaProducer } from 'kafka-wire-producer';
import { InjectKafkaProducer, KafkaProducerModule, KafkaProducerService } from 'nestjs-kafka-wire-producer';

const bootstrapServers = (process.env.BOOTSTRAP_SERVERS ?? '').split(',');
const topic = process.env.TOPIC ?? '';
const subpaths = (process.env.SUBPATHS ?? '').split(',').filter((s) => s !== '');

@Injectable()
class Greeter {
  constructor(@InjectKafkaProducer() readonly kafka: KafkaProducerService) {}

  greet(): ReturnType<KafkaProducerService['send']> {
    return this.kafka.send({ topic, key: 'greeting', value: 'hello from a packed app' });
  }
}

@Module({
  imports: [KafkaProducerModule.forRoot({ bootstrapServers, clientId: 'scratch-app', lingerMs: 5 })],
  providers: [Greeter],
})
class AppModule {}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error', 'warn'] });
  const greeter = app.get(Greeter);
  const report = await greeter.greet();
  const rejection: unknown = await greeter.kafka.send({ topic, value: 'x', partition: -1 }).then(() => null, (err: unknown) => err);
  await app.close();
  console.log(
    JSON.stringify({
      partition: report.partition,
      offset: report.offset,
      sameProducerClass: greeter.kafka.producer instanceof KafkaProducer,
      rejectionIsKafkaError: rejection instanceof KafkaError,
      rejectionName: rejection instanceof Error ? rejection.name : String(rejection),
      resolvedSubpaths: subpaths.filter((s) => require.resolve('nestjs-kafka-wire-producer/' + s) !== ''),
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
`;

/** Writes src/main.ts and a tsconfig like a Nest starter's (CommonJS output, nodenext resolution). */
export function writeApp(dir: string): void {
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'src', 'main.ts'), APP_SOURCE);
  const tsconfig = {
    compilerOptions: {
      module: 'nodenext',
      moduleResolution: 'nodenext',
      target: 'ES2022',
      strict: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      outDir: 'dist',
      rootDir: 'src',
      types: ['node'],
    },
    include: ['src'],
  };
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
}

/** Compiles the app with the workspace's tsc; a type error in the shipped declarations fails here. */
export function compileApp(dir: string): void {
  try {
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (err) {
    throw new Error(`the scratch app does not compile:\n${(err as { stdout?: string }).stdout ?? String(err)}`);
  }
}

export function runApp(dir: string, env: { bootstrapServers: string[]; topic: string; subpaths: string[] }, node = process.execPath): ScratchAppResult {
  const out = execFileSync(node, ['dist/main.js'], {
    cwd: dir,
    env: isolatedEnv({ BOOTSTRAP_SERVERS: env.bootstrapServers.join(','), TOPIC: env.topic, SUBPATHS: env.subpaths.join(',') }),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  const lines = out.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as ScratchAppResult;
}
