import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanupStaleClusters, ClusterState, freePorts, newClusterId } from './kafka-cluster';
import { encodeReferenceRecords } from './reference-producer';
import { splitBootstrap } from './external-cluster';
import { versionProfile } from './versions';

describe('versionProfile', () => {
  it('uses log4j2 and the moved tool classes on 4.x', () => {
    const p = versionProfile('4.3.1');
    expect(p.logging).toBe('log4j2');
    expect(p.loggingBinding).toMatchObject({ artifactId: 'log4j-slf4j-impl' });
    expect(p.classes.dumpLogSegments).toBe('org.apache.kafka.tools.DumpLogSegments');
    expect(p.classes.consoleProducer).toBe('org.apache.kafka.tools.ConsoleProducer');
  });

  it('uses reload4j and the Scala tool classes on 3.9', () => {
    const p = versionProfile('3.9.1');
    expect(p.logging).toBe('reload4j');
    expect(p.loggingBinding).toEqual({ groupId: 'org.slf4j', artifactId: 'slf4j-reload4j', version: '1.7.36' });
    expect(p.classes.dumpLogSegments).toBe('kafka.tools.DumpLogSegments');
    expect(p.classes.consoleProducer).toBe('kafka.tools.ConsoleProducer');
    expect(p.classes.consoleConsumer).toBe('org.apache.kafka.tools.consumer.ConsoleConsumer');
  });

  it('rejects versions without KRaft standalone support and non-versions', () => {
    expect(() => versionProfile('3.8.0')).toThrow(/not supported/);
    expect(() => versionProfile('latest')).toThrow(/not a Kafka version/);
  });
});

describe('cluster helpers', () => {
  it('makes KRaft cluster ids: 22 URL-safe base64 chars, never a leading dash', () => {
    for (let i = 0; i < 200; i++) expect(newClusterId()).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });

  it('finds distinct free loopback ports', async () => {
    const ports = await freePorts(6);
    expect(new Set(ports).size).toBe(6);
    expect(ports.every((p) => p > 0 && p < 65536)).toBe(true);
  });

  it('splits bootstrap lists', () => {
    expect(splitBootstrap(' 127.0.0.1:1, 127.0.0.1:2 ,')).toEqual(['127.0.0.1:1', '127.0.0.1:2']);
    expect(() => splitBootstrap('')).toThrow(/empty/);
  });

  it('removes the folder of a cluster whose owner died, without touching a live owner', () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-stale-'));
    try {
      const write = (name: string, ownerPid: number): string => {
        const dir = path.join(base, `kafka-testing-${name}`);
        fs.mkdirSync(dir);
        const state: Partial<ClusterState> = { ownerPid, detached: false, nodes: [{ nodeId: 1, pid: 2 ** 22 + 1 } as ClusterState['nodes'][number]] };
        fs.writeFileSync(path.join(dir, 'cluster.json'), JSON.stringify(state));
        return dir;
      };
      const dead = write('dead', 2 ** 22 + 7); // above the default pid_max: never a live process
      const live = write('live', process.pid);
      cleanupStaleClusters(base);
      expect(fs.existsSync(dead)).toBe(false);
      expect(fs.existsSync(live)).toBe(true);
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  });
});

describe('encodeReferenceRecords (stdin of kafkatesting.RecordProduce)', () => {
  it('encodes null as "-", empty as "", everything else as base64, one tab-separated line per record', () => {
    const text = encodeReferenceRecords([
      { key: null, value: '' },
      { key: Buffer.from([0, 255]), value: 'v', partition: 2, timestamp: 5, headers: [['a', null], ['ü', Buffer.from([9])]] },
    ]);
    expect(text).toBe(['-1\t-1\t-\t\t', `2\t5\tAP8=\tdg==\tYQ==:-,${Buffer.from('ü').toString('base64')}:CQ==`, ''].join('\n'));
  });
});
