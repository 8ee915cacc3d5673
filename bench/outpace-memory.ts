/**
 * `npm run bench:memory`: a producer that outpaces the broker. It fires sends without waiting for any
 * of them (yielding to the event loop every 10,000 so I/O can happen) and samples resident memory.
 * The point is the bound: memory must stay near bufferMemory plus the records waiting for it, not grow
 * with the number of sends. Prints peak RSS, and how many sends succeeded or were refused for memory.
 */
import { BufferExhaustedError, KafkaProducer } from '@app/kafka-producer';
import { KafkaCluster } from '@app/kafka-testing';

async function main(): Promise<void> {
  const total = Number(process.env.RECORDS ?? 3_000_000);
  const size = Number(process.env.RECORD_SIZE ?? 100);
  const cluster = await KafkaCluster.start({ nodes: 1 });
  try {
    const topic = `outpace-${Date.now()}`;
    await cluster.createTopic({ name: topic, partitions: 6, replicationFactor: 1 });
    const producer = new KafkaProducer({ bootstrapServers: cluster.bootstrapServers, maxBlockMs: 60_000 });
    await producer.send({ topic, value: 'warm-up' });
    const value = Buffer.alloc(size, 65);
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
    let ok = 0;
    let exhausted = 0;
    let other = 0;
    const onOk = (): void => void ok++;
    let firstOther: unknown = null;
    const onError = (e: unknown): void => {
      if (e instanceof BufferExhaustedError) exhausted++;
      else if (other++ === 0) firstOther = e;
    };
    const started = Date.now();
    for (let i = 0; i < total; i++) {
      producer.send({ topic, value }).then(onOk, onError);
      if (i % 10_000 === 0) await new Promise((r) => setImmediate(r));
    }
    await producer.flush();
    await producer.close();
    clearInterval(sampler);
    const seconds = (Date.now() - started) / 1000;
    console.log(
      JSON.stringify({ records: total, recordSize: size, seconds, acknowledged: ok, refusedForMemory: exhausted, otherErrors: other, firstOtherError: firstOther === null ? null : String(firstOther), peakRssMiB: Math.round(peakRss / 2 ** 20), bufferMemoryMiB: 32 }),
    );
  } finally {
    await cluster.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
