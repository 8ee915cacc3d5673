/**
 * `npm run bench:nest`: what the Nest layer costs per record, against one local broker (started here
 * unless KAFKA_BOOTSTRAP_SERVERS is set). Three runs per mode, interleaved, 100 B unkeyed records,
 * at most 5,000 outstanding: the raw producer's send(), KafkaProducerService.send() with nobody on
 * its streams, and the same with a deliveries$ subscriber. The streams should cost nothing while
 * nobody subscribes, so the first two should match within the noise.
 */
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { KafkaProducer } from '@app/kafka-producer';
import { KafkaProducerService } from '@app/nestjs-kafka-producer';
import { externalCluster, KafkaCluster, type KafkaClusterBase } from '@app/kafka-testing';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 300_000);
const WINDOW = 5000;
type Mode = 'raw producer' | 'service, no subscriber' | 'service + deliveries$';

async function run(mode: Mode, bootstrap: string[], topic: string): Promise<{ perSec: number; cpuSecPerM: number }> {
  const service = new KafkaProducerService('bench', { bootstrapServers: bootstrap, logger: {} });
  const producer: KafkaProducer = service.producer;
  let seen = 0;
  const sub = mode === 'service + deliveries$' ? service.deliveries$.subscribe(() => seen++) : null;
  const send = mode === 'raw producer' ? (v: Buffer) => producer.send({ topic, value: v }) : (v: Buffer) => service.send({ topic, value: v });
  const value = Buffer.alloc(100, 97);
  await send(value); // metadata and connections first
  let outstanding = 0;
  let done = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    let sent = 0;
    const settle = (): void => {
      outstanding--;
      if (++done === RECORDS) resolve();
      else pump();
    };
    const pump = (): void => {
      while (outstanding < WINDOW && sent < RECORDS) {
        outstanding++;
        sent++;
        send(value).then(settle, reject);
      }
    };
    pump();
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  sub?.unsubscribe();
  await producer.close();
  if (sub !== null && seen < RECORDS) throw new Error(`deliveries$ saw ${seen} of ${RECORDS}`);
  return { perSec: RECORDS / seconds, cpuSecPerM: ((cpu.user + cpu.system) / 1e6 / RECORDS) * 1e6 };
}

async function main(): Promise<void> {
  let owned: KafkaCluster | null = null;
  const cluster: KafkaClusterBase = process.env.KAFKA_BOOTSTRAP_SERVERS ? await externalCluster(process.env.KAFKA_BOOTSTRAP_SERVERS) : (owned = await KafkaCluster.start({ nodes: 1 }));
  try {
    const modes: Mode[] = ['raw producer', 'service, no subscriber', 'service + deliveries$'];
    const results = new Map<Mode, Array<{ perSec: number; cpuSecPerM: number }>>(modes.map((m) => [m, []]));
    for (let rep = 0; rep < 3; rep++) {
      for (const mode of modes) {
        const topic = `bench-nest-${Date.now().toString(36)}-${rep}-${modes.indexOf(mode)}`;
        await cluster.createTopic({ name: topic, partitions: 6, replicationFactor: 1 });
        const r = await run(mode, cluster.bootstrapServers, topic);
        results.get(mode)!.push(r);
        console.error(`[bench:nest] ${mode}, rep ${rep + 1}: ${Math.round(r.perSec).toLocaleString('en-US')} rec/s, ${r.cpuSecPerM.toFixed(2)} CPU-s per 1M`);
      }
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    console.log(`\n| mode (${RECORDS.toLocaleString('en-US')} × 100 B, ${WINDOW} outstanding) | rec/s (median of 3) | CPU-s per 1M records |`);
    console.log('|:--|--:|--:|');
    for (const mode of modes) {
      const rs = results.get(mode)!;
      console.log(`| ${mode} | ${Math.round(median(rs.map((r) => r.perSec))).toLocaleString('en-US')} | ${median(rs.map((r) => r.cpuSecPerM)).toFixed(2)} |`);
    }
  } finally {
    await owned?.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
