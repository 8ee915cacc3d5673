import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sharedCluster } from '@app/kafka-testing';
import { packLibraries, tarballFiles, type PackedLibraries } from '../scripts/pack-libraries';
import { compileApp, npmInstall, runApp, workspaceVersion, writeApp } from './support/scratch-app';
import { uniqueTopic } from './support/round-trip';

/**
 * What a user's `npm install` gets: the two tarballs `npm run build:packages` makes, installed into a Nest
 * app in a temp folder outside the workspace, compiled against the shipped declarations, run with node.
 */
describe('the npm packages', () => {
  const cluster = sharedCluster();
  let packed: PackedLibraries;
  let workDir: string;
  let appDir: string;

  beforeAll(() => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-wire-packages-'));
    packed = packLibraries(path.join(workDir, 'packages'));
    appDir = path.join(workDir, 'app');
    fs.mkdirSync(appDir);
  }, 120_000);

  afterAll(() => {
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('each tarball holds package.json, README.md and compiled .js/.d.ts only: no sources, specs, fixtures or test helpers', () => {
    for (const { tarball } of [packed.producer, packed.nest]) {
      const files = tarballFiles(tarball);
      expect(files).toEqual(expect.arrayContaining(['package/package.json', 'package/README.md', 'package/dist/index.js', 'package/dist/index.d.ts']));
      expect(files.filter((f) => !/^package\/(package\.json|README\.md|dist\/.+\.(js|d\.ts))$/.test(f) || /spec|fixture|kafka-testing|\/test\//.test(f))).toEqual([]);
    }
  });

  it('a Nest app outside the workspace installs both tarballs, boots against the broker and produces a record the Java consumer reads, with one copy of the producer', async () => {
    const topic = uniqueTopic('packed-app');
    await cluster.createTopic({ name: topic, partitions: 1, replicationFactor: 1 });
    npmInstall(appDir, [
      packed.producer.tarball,
      packed.nest.tarball,
      ...['@nestjs/common', '@nestjs/core', 'rxjs', 'reflect-metadata', '@types/node'].map((p) => `${p}@${workspaceVersion(p)}`),
    ]);
    // the Nest package names the producer as a peer only, so npm must not have nested a second copy
    expect(fs.existsSync(path.join(appDir, 'node_modules', packed.nest.name, 'node_modules'))).toBe(false);
    writeApp(appDir);
    compileApp(appDir);

    const result = runApp(appDir, { bootstrapServers: cluster.bootstrapServers, topic, subpaths: packed.nest.subpaths });

    expect(result.sameProducerClass).toBe(true);
    expect(result).toMatchObject({ rejectionIsKafkaError: true, resolvedSubpaths: packed.nest.subpaths });
    const [record] = await cluster.consumeWithJava({ topic, expectedCount: 1 });
    expect([record.key?.toString(), record.value?.toString(), record.partition, record.offset.toString()]).toEqual(['greeting', 'hello from a packed app', result.partition, result.offset]);
  }, 150_000);
});
