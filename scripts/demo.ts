/**
 * `npm run demo`: starts a local Kafka (fetching its jars from Maven Central on first use), runs the
 * sample orders API (apps/sample) against it, sends a few HTTP requests through every produce path,
 * shows the Server-Sent Events delivery stream and /health, stops the app, and reads the topic back
 * with the Java consumer so you can see what was produced, headers included. Set
 * KAFKA_BOOTSTRAP_SERVERS to use an existing cluster instead.
 */
import * as http from 'node:http';
import { KafkaCluster, type KafkaClusterBase, externalCluster, freePorts } from '@app/kafka-testing';
import { exitCodeOf, spawnSample } from './start-sample';

interface Step {
  what: string;
  method: 'POST';
  path: string;
  body: unknown;
}

const STEPS: Step[] = [
  { what: 'injected producer (OrdersService.place)', method: 'POST', path: '/orders', body: { id: 'o-1', customer: 'alice', amount: 30 } },
  { what: 'injected producer (OrdersService.place)', method: 'POST', path: '/orders', body: { id: 'o-2', customer: 'bob', amount: 12.5 } },
  { what: '@Produce on a route', method: 'POST', path: '/orders/express', body: { id: 'o-3', customer: 'carol', amount: 99 } },
  { what: '@Produce on a route', method: 'POST', path: '/orders/express', body: { id: 'o-4', customer: 'alice', amount: 5 } },
  { what: '@Produce on a service method', method: 'POST', path: '/orders/o-2/cancel', body: { customer: 'bob' } },
  { what: 'ClientProxy.emit (KafkaRecordBuilder)', method: 'POST', path: '/orders/events', body: { id: 'o-5', customer: 'dave', amount: 42 } },
  { what: 'ClientProxy.emit (KafkaRecordBuilder)', method: 'POST', path: '/orders/events', body: { id: 'o-6', customer: 'carol', amount: 7 } },
];

async function main(): Promise<void> {
  const topic = `orders-${Date.now().toString(36)}`;
  let cluster: KafkaClusterBase;
  let owned: KafkaCluster | null = null;
  if (process.env.KAFKA_BOOTSTRAP_SERVERS) {
    cluster = await externalCluster(process.env.KAFKA_BOOTSTRAP_SERVERS);
  } else {
    console.log('Starting a local Kafka (first run fetches the jars from Maven Central)...');
    owned = await KafkaCluster.start({ nodes: 1, log: (m) => console.log(`  ${m}`) });
    cluster = owned;
  }
  let app: ReturnType<typeof spawnSample> | null = null;
  try {
    console.log(`Kafka is up at ${cluster.bootstrap}; creating topic ${topic} with 3 partitions`);
    await cluster.createTopic({ name: topic, partitions: 3, replicationFactor: 1 });

    const port = process.env.PORT ? Number(process.env.PORT) : (await freePorts(1))[0];
    const base = `http://127.0.0.1:${port}`;
    console.log(`\nStarting the sample app (apps/sample) on ${base}:`);
    app = spawnSample({ ...process.env, KAFKA_BOOTSTRAP_SERVERS: cluster.bootstrap, SAMPLE_TOPIC: topic, PORT: String(port) }, 'pipe');
    prefixLines(app.stdout!, '  [app] ');
    prefixLines(app.stderr!, '  [app] ');
    const exited = exitCodeOf(app);
    await waitForHealth(base, exited);

    const stream = openEventStream(`${base}/orders/deliveries`);
    await stream.connected;

    console.log('\nHTTP requests, one or two per produce path:');
    for (const step of STEPS) {
      const res = await fetch(base + step.path, { method: step.method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(step.body) });
      console.log(`  ${step.method} ${step.path} ${JSON.stringify(step.body)}  [${step.what}]`);
      console.log(`    -> ${res.status} ${await res.text()}`);
      if (!res.ok) throw new Error(`${step.method} ${step.path} answered ${res.status}`);
    }
    const bad = await fetch(`${base}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'o-7' }) });
    console.log(`  POST /orders {"id":"o-7"}  [not an order: nothing is produced]\n    -> ${bad.status} ${await bad.text()}`);

    const events = await stream.take(STEPS.length, 15_000);
    stream.close();
    console.log(`\nGET /orders/deliveries (Server-Sent Events), ${events.length} of the events received while connected:`);
    for (const e of events.slice(0, 4)) console.log(`  data: ${e}`);
    if (events.length > 4) console.log(`  ... and ${events.length - 4} more`);

    const health = await fetch(`${base}/health`);
    const answer = (await health.json()) as { status: string; details: unknown };
    console.log(`\nGET /health -> ${health.status} (status "${answer.status}"), details:\n${indent(JSON.stringify(answer.details, null, 2), '  ')}`);

    console.log('\nStopping the app (SIGTERM: Nest closes the producer after flushing it):');
    app.kill('SIGTERM');
    const code = await exited;
    app = null;
    // Nest re-raises the signal after its shutdown hooks ran: 143 is a clean SIGTERM exit
    if (code !== 0 && code !== 143) throw new Error(`the sample app exited with code ${code}`);

    console.log('\nReading the topic back with the Java consumer:');
    const records = await cluster.consumeWithJava({ topic, expectedCount: STEPS.length, timeoutMs: 60_000 });
    for (const r of records) {
      const headers = r.headers.map(([k, v]) => `${k}=${v?.toString() ?? 'null'}`).join(', ');
      console.log(`  ${topic}[${r.partition}]@${r.offset} key=${r.key?.toString()} value=${r.value?.toString()}\n      headers={${headers}}`);
    }
    console.log(`\n${records.length} records produced through the HTTP API and read back by Java.`);
  } finally {
    if (app !== null) app.kill('SIGKILL');
    await owned?.stop();
  }
}

/** Polls GET /health until it answers 200; fails early if the app exits. */
async function waitForHealth(base: string, exited: Promise<number>, timeoutMs = 90_000): Promise<void> {
  let gone: number | null = null;
  void exited.then((code) => (gone = code));
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (gone !== null) throw new Error(`the sample app exited with code ${gone} before /health answered 200`);
    try {
      const res = await fetch(`${base}/health`);
      if (res.status === 200) return;
      last = `${res.status} ${await res.text()}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`GET /health did not answer 200 within ${timeoutMs} ms (last: ${last})`);
}

/** A minimal Server-Sent Events reader: collects the `data:` lines (the payload of each event). */
function openEventStream(url: string): { connected: Promise<void>; take(count: number, timeoutMs: number): Promise<string[]>; close(): void } {
  const events: string[] = [];
  const waiters: Array<() => void> = [];
  let buffer = '';
  let req: http.ClientRequest;
  const connected = new Promise<void>((resolve, reject) => {
    req = http.get(url, { headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`GET ${url} answered ${res.statusCode}`));
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim());
          if (data.length > 0) events.push(data.join('\n'));
          waiters.splice(0).forEach((w) => w());
        }
      });
      resolve();
    });
    req.on('error', reject);
  });
  return {
    connected,
    async take(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (events.length < count && Date.now() < deadline) {
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
      return [...events];
    },
    close: () => req.destroy(),
  };
}

function prefixLines(stream: NodeJS.ReadableStream, prefix: string): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) console.log(prefix + line);
  });
  stream.on('end', () => pending && console.log(prefix + pending));
}

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
