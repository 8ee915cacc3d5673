import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KafkaCluster, probeApiVersions, sharedCluster } from '@app/kafka-testing';

/**
 * The harness itself (libs/kafka-testing), checked with Kafka's own Java tools only: nothing here uses
 * the TypeScript producer, so a failure points at the harness.
 */

let seq = 0;
const topicName = (prefix: string): string => `${prefix}-${process.pid}-${Date.now().toString(36)}-${seq++}`;

/** True while /proc lists a process whose command line mentions `needle` (a cluster folder). */
function javaProcessesMentioning(needle: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        return cmd.includes(needle) && cmd.includes('java') && !/\) [ZX] /.test(stat);
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('kafka-testing on the shared 1-node cluster', () => {
  const cluster = sharedCluster();

  it('creates a topic with partitions and a topic config', async () => {
    const topic = topicName('harness-create');
    await cluster.createTopic({ name: topic, partitions: 3, configs: { 'min.insync.replicas': '1', 'retention.ms': '3600000' } });
    const md = await cluster.metadata([topic]);
    expect(md.topics[0].errorCode).toBe(0);
    expect(md.topics[0].partitions.map((p) => p.partitionIndex)).toEqual([0, 1, 2]);
    expect(md.topics[0].partitions.every((p) => p.leaderId >= 0)).toBe(true);
    const describe = await cluster.runJavaTool(cluster.jars.profile.classes.topicCommand, ['--bootstrap-server', '{bootstrap}', '--describe', '--topic', topic]);
    expect(describe.code).toBe(0);
    expect(describe.stdout).toMatch(/min\.insync\.replicas=1/);
    expect(describe.stdout).toMatch(/retention\.ms=3600000/);
  });

  it('reads back what the Java console producer wrote', async () => {
    const topic = topicName('harness-console');
    await cluster.createTopic({ name: topic, partitions: 2 });
    const lines = Array.from({ length: 20 }, (_, i) => `h1:a${i},h2:b${i}\tkey-${i}|value ${i}`).join('\n');
    const produced = await cluster.runJavaTool(
      cluster.jars.profile.classes.consoleProducer,
      ['--bootstrap-server', '{bootstrap}', '--topic', topic, '--property', 'parse.key=true', '--property', 'key.separator=|', '--property', 'parse.headers=true'],
      { input: `${lines}\n` },
    );
    expect(produced.code).toBe(0);
    const records = await cluster.consumeWithJava({ topic, expectedCount: 20, timeoutMs: 30_000 });
    expect(records).toHaveLength(20);
    const byKey = new Map(records.map((r) => [r.key?.toString(), r]));
    for (let i = 0; i < 20; i++) {
      const r = byKey.get(`key-${i}`);
      expect(r?.value?.toString()).toBe(`value ${i}`);
      expect(r?.headers.map(([k, v]) => [k, v?.toString()])).toEqual([
        ['h1', `a${i}`],
        ['h2', `b${i}`],
      ]);
      expect(r?.timestampType).toBe('CreateTime');
    }
  });

  it('is byte-exact: binary bytes, empty vs null, the text "null", repeated and null headers', async () => {
    const topic = topicName('harness-exact');
    await cluster.createTopic({ name: topic, partitions: 1 });
    const nasty = Buffer.from([0x00, 0xff, 0x0a, 0x0d, 0x09, 0x2c, 0x3a, 0x22, 0x5c, 0x7c, 0x80, 0xc3]);
    const big = randomBytes(200_000);
    const records = [
      { key: nasty, value: Buffer.concat([nasty, nasty]) },
      { key: null, value: 'null' },
      { key: 'null', value: null },
      { key: '', value: Buffer.alloc(0) },
      { key: 'k', value: 'v', timestamp: 1_600_000_000_123, headers: [['dup', 'a:b,c'], ['dup', nasty], ['none', null], ['empty', ''], ['ü\t:,', 'x']] as Array<[string, Buffer | string | null]> },
      { key: 'big', value: big },
    ];
    const acks = await cluster.produceWithJava({ topic, records });
    expect(acks.map((a) => a.offset)).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
    const got = await cluster.consumeWithJava({ topic });
    expect(got).toHaveLength(6);
    expect(got[0].key).toEqual(nasty);
    expect(got[0].value).toEqual(Buffer.concat([nasty, nasty]));
    expect(got[1].key).toBeNull();
    expect(got[1].value).toEqual(Buffer.from('null'));
    expect(got[2].key).toEqual(Buffer.from('null'));
    expect(got[2].value).toBeNull();
    expect(got[3].key).toEqual(Buffer.alloc(0));
    expect(got[3].value).toEqual(Buffer.alloc(0));
    expect(got[4].timestamp).toBe(1_600_000_000_123);
    expect(got[4].headers).toEqual([
      ['dup', Buffer.from('a:b,c')],
      ['dup', nasty],
      ['none', null],
      ['empty', Buffer.alloc(0)],
      ['ü\t:,', Buffer.from('x')],
    ]);
    expect(got[5].value?.equals(big)).toBe(true);
    expect(got.map((r) => r.offset)).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
  });

  it('dumps log segments with the broker tool and parses batches and records', async () => {
    if (!(cluster instanceof KafkaCluster)) return; // no log files for an external cluster
    const topic = topicName('harness-dump');
    await cluster.createTopic({ name: topic, partitions: 1 });
    await cluster.produceWithJava({
      topic,
      records: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, headers: [['h', 'x'] as [string, string]] })),
      producerProperties: { 'linger.ms': '50' },
    });
    const segments = await cluster.dumpLogSegments(topic, 0);
    const batches = segments.flatMap((s) => s.batches);
    expect(batches.length).toBeGreaterThan(0);
    expect(batches.every((b) => b.isValid && b.magic === 2 && b.compressCodec === 'none')).toBe(true);
    expect(batches.reduce((n, b) => n + b.count, 0)).toBe(10);
    // the Java producer is idempotent by default: a real producer id and sequences from 0
    expect(batches[0].producerId).toBeGreaterThanOrEqual(0n);
    expect(batches[0].baseSequence).toBe(0);
    const recs = batches.flatMap((b) => b.records);
    expect(recs.map((r) => r.key)).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`));
    expect(recs.map((r) => r.payload)).toEqual(Array.from({ length: 10 }, (_, i) => `v${i}`));
    expect(recs[0].headerKeys).toEqual(['h']);
  });

  it('deletes a topic', async () => {
    const topic = topicName('harness-delete');
    await cluster.createTopic({ name: topic });
    await cluster.deleteTopic(topic);
    const md = await cluster.metadata([topic]);
    expect(md.topics[0].errorCode).toBe(3); // UNKNOWN_TOPIC_OR_PARTITION
  });
});

describe('kafka-testing fault controls on a 3-node cluster', () => {
  let cluster: KafkaCluster;
  let pids: number[] = [];

  beforeAll(async () => {
    cluster = await KafkaCluster.start({ nodes: 3 });
    pids = cluster.pids();
  }, 240_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('starts three registered brokers on loopback with internal topics sized to three', async () => {
    expect(pids).toHaveLength(3);
    expect(cluster.bootstrapServers).toHaveLength(3);
    expect(cluster.bootstrapServers.every((s) => s.startsWith('127.0.0.1:'))).toBe(true);
    const md = await cluster.metadata([]);
    expect(md.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
    expect(fs.readFileSync(cluster.nodeInfo(1).configFile, 'utf8')).toMatch(/^transaction\.state\.log\.replication\.factor=3$/m);
    expect(fs.readFileSync(path.join(cluster.clusterDir, 'pids'), 'utf8').trim().split('\n')).toHaveLength(3);
  });

  it('keeps a replicated topic writable and readable across kill, restart, pause and graceful stop', async () => {
    const topic = topicName('harness-faults');
    await cluster.createTopic({ name: topic, partitions: 3, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
    const batch = (from: number): Array<{ key: string; value: string; partition: number }> =>
      Array.from({ length: 30 }, (_, i) => ({ key: `k${from + i}`, value: `v${from + i}`, partition: (from + i) % 3 }));
    await cluster.produceWithJava({ topic, records: batch(0) });

    // SIGKILL the leader of partition 0; the others take over once its session times out.
    const before = await cluster.metadata([topic]);
    const victim = before.topics[0].partitions[0].leaderId;
    await cluster.kill(victim);
    expect(cluster.nodeState(victim)).toBe('stopped');
    const survivor = cluster.nodeIds.find((n) => n !== victim) as number;
    await eventually('a new leader for partition 0', async () => {
      const md = await cluster.metadata([topic]);
      const leader = md.topics[0].partitions[0].leaderId;
      return leader >= 0 && leader !== victim ? leader : undefined;
    });
    // min.insync.replicas=2 with two of three nodes up: acks=all still succeeds.
    await cluster.produceWithJava({ topic, records: batch(30), producerProperties: { 'delivery.timeout.ms': '60000' } });

    await cluster.restart(victim);
    expect(cluster.nodeState(victim)).toBe('running');
    await eventually('the restarted node back in every ISR', async () => {
      const md = await cluster.metadata([topic]);
      return md.topics[0].partitions.every((p) => p.isrNodes.length === 3) ? true : undefined;
    }, 60_000);

    // SIGSTOP: the process exists but does not answer; SIGCONT brings it back.
    cluster.pause(survivor);
    expect(cluster.nodeState(survivor)).toBe('paused');
    const { host, port } = cluster.nodeInfo(survivor);
    await expect(probeApiVersions({ host, port }, 1000)).rejects.toThrow();
    cluster.resume(survivor);
    await eventually('the resumed node answering', async () => ((await probeApiVersions({ host, port }, 2000)).errorCode === 0 ? true : undefined));

    // Graceful stop and start of a third node.
    const third = cluster.nodeIds.find((n) => n !== victim && n !== survivor) as number;
    await cluster.stopNode(third);
    expect(cluster.nodeState(third)).toBe('stopped');
    await cluster.restart(third);

    await cluster.produceWithJava({ topic, records: batch(60) });
    const all = await cluster.consumeWithJava({ topic, isolationLevel: 'read_committed', timeoutMs: 60_000 });
    expect(all.map((r) => r.value?.toString()).sort()).toEqual(batch(0).concat(batch(30), batch(60)).map((r) => r.value).sort());
    pids = cluster.pids();
  });

  it('stop() leaves no JVM behind', async () => {
    const dir = cluster.clusterDir;
    expect(javaProcessesMentioning(dir).length).toBe(3);
    await cluster.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(javaProcessesMentioning(dir)).toEqual([]);
    expect(fs.existsSync(dir)).toBe(false);
  });
});

describe('kafka-testing orphan protection', () => {
  it('kills the JVM when the Node process that started it is SIGKILLed', async () => {
    const root = path.resolve(__dirname, '..');
    // A separate Node process starts a cluster, reports its pid and folder, then is SIGKILLed: no exit
    // hook can run, so only the parent-death signal can take the JVM down.
    const script = `
      const { KafkaCluster } = require('./libs/kafka-testing/src');
      KafkaCluster.start({ nodes: 1 }).then((c) => { console.log(JSON.stringify({ pids: c.pids(), dir: c.clusterDir })); setInterval(() => {}, 1000); },
        (e) => { console.error(e); process.exit(1); });`;
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const info = await new Promise<{ pids: number[]; dir: string }>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (b: Buffer) => {
          out += b.toString();
          const line = out.split('\n').find((l) => l.startsWith('{'));
          if (line !== undefined) resolve(JSON.parse(line) as { pids: number[]; dir: string });
        });
        child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
      });
      expect(info.pids).toHaveLength(1);
      expect(javaProcessesMentioning(info.dir)).toEqual(info.pids);
      child.kill('SIGKILL');
      await eventually('the orphaned JVM to die', () => (javaProcessesMentioning(info.dir).length === 0 ? true : undefined), 15_000);
      fs.rmSync(info.dir, { recursive: true, force: true });
    } finally {
      child.kill('SIGKILL');
    }
  }, 120_000);
});
