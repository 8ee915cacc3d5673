import 'reflect-metadata';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import * as request from 'supertest';
import { freePorts, sharedCluster, type ConsumedRecord } from '@app/kafka-testing';
import { AppModule } from '../apps/sample/src/app.module';
import { AppInfoService } from '../apps/sample/src/app-info';
import { SampleConfig, SampleConfigException } from '../apps/sample/src/sample.config';
import { uniqueTopic } from './support/round-trip';

/** A generous bound for what the broker and the producer do in the background, on a loaded two-core machine. */
const BOUND_MS = 30_000;

/**
 * The sample orders API (apps/sample) booted in-process against the shared broker, configured only
 * through its environment as a deployment would; every record is read back with the Java consumer.
 */
describe('sample app (apps/sample): the orders API over HTTP', () => {
  const cluster = sharedCluster();
  const topic = uniqueTopic('sample-orders');
  const shipments = uniqueTopic('sample-shipments');
  const invoices = uniqueTopic('sample-invoices');
  const transactionalId = `sample-shipping-${process.pid}-${Date.now().toString(36)}`;
  const saved = {
    KAFKA_BOOTSTRAP_SERVERS: process.env.KAFKA_BOOTSTRAP_SERVERS,
    SAMPLE_TOPIC: process.env.SAMPLE_TOPIC,
    KAFKA_TRANSACTIONAL_ID: process.env.KAFKA_TRANSACTIONAL_ID,
    SAMPLE_SHIPMENTS_TOPIC: process.env.SAMPLE_SHIPMENTS_TOPIC,
    SAMPLE_INVOICES_TOPIC: process.env.SAMPLE_INVOICES_TOPIC,
  };
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    await cluster.createTopic({ name: topic, partitions: 3, replicationFactor: 1 });
    await cluster.createTopic({ name: shipments, partitions: 2, replicationFactor: 1 });
    await cluster.createTopic({ name: invoices, partitions: 2, replicationFactor: 1 });
    // the app reads its configuration when the module is compiled
    process.env.KAFKA_BOOTSTRAP_SERVERS = cluster.bootstrap;
    process.env.SAMPLE_TOPIC = topic;
    process.env.KAFKA_TRANSACTIONAL_ID = transactionalId;
    process.env.SAMPLE_SHIPMENTS_TOPIC = shipments;
    process.env.SAMPLE_INVOICES_TOPIC = invoices;
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: ['error'], forceCloseConnections: true });
    // listening for real: the SSE stream is read with a plain http.get
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await app?.close();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  const header = (r: ConsumedRecord, key: string): string | undefined => r.headers.find(([k]) => k === key)?.[1]?.toString();

  it('GET /health answers 200 with the producer details while the broker runs', async () => {
    const deadline = Date.now() + BOUND_MS;
    let res = await request(app.getHttpServer()).get('/health');
    while (res.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      res = await request(app.getHttpServer()).get('/health');
    }
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'ok',
      details: {
        kafka: { status: 'up', state: 'ready', knownBrokers: 1, connectedBrokers: [1], lastError: null },
        'kafka-shipping': { status: 'up', state: 'ready', transaction: { transactionalId, state: expect.any(String) } },
      },
    });
  });

  it('POST /orders/:id/ship writes the shipment and the invoice in one transaction; with ?fail=midway it aborts: read_committed readers see neither event, read_uncommitted ones the written shipment', async () => {
    const server = app.getHttpServer();
    const shipped = await request(server).post('/orders/s-1/ship').send({ customer: 'erin', amount: 20 });
    expect([shipped.status, shipped.body]).toEqual([
      201,
      {
        id: 's-1',
        customer: 'erin',
        shipment: { topic: shipments, partition: expect.any(Number), offset: expect.stringMatching(/^\d+$/), timestamp: expect.any(Number), serializedKeySize: 3, serializedValueSize: expect.any(Number) },
        invoice: { type: 'invoice-issued', orderId: 's-1', customer: 'erin', amount: 20 },
      },
    ]);
    const interrupted = await request(server).post('/orders/s-2/ship?fail=midway').send({ customer: 'frank', amount: 5 });
    expect([interrupted.status, interrupted.body.message]).toEqual([500, expect.stringContaining('the transaction was aborted')]);
    const refused = await request(server).post('/orders/s-3/ship?fail=sometimes').send({ customer: 'gina' });
    expect(refused.status).toBe(400);

    const read = async (t: string, isolationLevel: 'read_committed' | 'read_uncommitted') =>
      (await cluster.consumeWithJava({ topic: t, isolationLevel })).map((r) => [r.key?.toString(), JSON.parse(r.value!.toString()).type]).sort();
    expect(await read(shipments, 'read_committed')).toEqual([['s-1', 'order-shipped']]);
    expect(await read(invoices, 'read_committed')).toEqual([['s-1', 'invoice-issued']]);
    expect(await read(shipments, 'read_uncommitted')).toEqual([
      ['s-1', 'order-shipped'],
      ['s-2', 'order-shipped'],
    ]);
    expect(await read(invoices, 'read_uncommitted')).toEqual([['s-1', 'invoice-issued']]);
    const committed = await cluster.consumeWithJava({ topic: shipments, isolationLevel: 'read_committed' });
    expect([committed[0].partition, committed[0].offset.toString()]).toEqual([shipped.body.shipment.partition, shipped.body.shipment.offset]);
    // the shipping producer's records carry the same interceptor headers as the other producer's
    expect(header(committed[0], 'x-app')).toBe(app.get(AppInfoService).name);

    const health = await request(server).get('/health');
    expect(health.body.details['kafka-shipping']).toMatchObject({ status: 'up', transaction: { transactionalId, state: 'READY' }, producerId: { producerId: expect.stringMatching(/^\d+$/) } });
  });

  it('every produce path answers over HTTP and its record reaches the Java consumer keyed by customer, with the interceptor headers from AppInfoService', async () => {
    const server = app.getHttpServer();
    const placed = await request(server).post('/orders').send({ id: 'o-1', customer: 'alice', amount: 30 });
    expect([placed.status, placed.body]).toEqual([201, { topic, partition: expect.any(Number), offset: expect.stringMatching(/^\d+$/), timestamp: expect.any(Number), serializedKeySize: 5, serializedValueSize: expect.any(Number) }]);

    const express = await request(server).post('/orders/express').send({ id: 'o-2', customer: 'bob', amount: 12 });
    expect([express.status, express.body]).toEqual([202, { id: 'o-2', customer: 'bob', amount: 12 }]);

    const cancelled = await request(server).post('/orders/o-1/cancel').send({ customer: 'alice' });
    expect([cancelled.status, cancelled.body]).toEqual([201, { type: 'order-cancelled', id: 'o-1', customer: 'alice' }]);

    const emitted = await request(server).post('/orders/events').send({ id: 'o-3', customer: 'carol', amount: 7 });
    expect([emitted.status, emitted.body]).toMatchObject([202, { topic, offset: expect.stringMatching(/^\d+$/) }]);

    // not an order: refused by the pipe, nothing produced (the consumer below reads to the end offsets)
    const refused = await request(server).post('/orders/express').send({ id: 'o-4' });
    expect(refused.status).toBe(400);

    const consumed = await cluster.consumeWithJava({ topic });
    const byPath = new Map(consumed.map((r) => [header(r, 'x-path'), r]));
    expect(consumed).toHaveLength(4);
    expect([...byPath.keys()].sort()).toEqual(['client-proxy', 'injected-producer', 'produce-route', 'produce-service']);
    const summary = (path: string) => {
      const r = byPath.get(path)!;
      return [r.key?.toString(), JSON.parse(r.value!.toString())];
    };
    expect(summary('injected-producer')).toEqual(['alice', { id: 'o-1', customer: 'alice', amount: 30 }]);
    expect(summary('produce-route')).toEqual(['bob', { id: 'o-2', customer: 'bob', amount: 12 }]);
    expect(summary('produce-service')).toEqual(['alice', { type: 'order-cancelled', id: 'o-1', customer: 'alice' }]);
    expect(summary('client-proxy')).toEqual(['carol', { type: 'order-placed', order: { id: 'o-3', customer: 'carol', amount: 7 } }]);
    // the answers report where the records landed
    const injected = byPath.get('injected-producer')!;
    expect([injected.partition, injected.offset.toString()]).toEqual([placed.body.partition, placed.body.offset]);
    const viaClient = byPath.get('client-proxy')!;
    expect([viaClient.partition, viaClient.offset.toString()]).toEqual([emitted.body.partition, emitted.body.offset]);

    const info = app.get(AppInfoService);
    for (const r of consumed) {
      expect([header(r, 'x-app'), header(r, 'x-app-version'), header(r, 'x-app-instance'), header(r, 'content-type')]).toEqual([info.name, info.version, info.instance, 'application/json']);
    }
  });

  it('GET /orders/deliveries streams the delivery report of each acknowledged record as a JSON data line', async () => {
    const stream = await openEventStream(`${base}/orders/deliveries`);
    try {
      const placed = await request(app.getHttpServer()).post('/orders').send({ id: 'o-5', customer: 'dave', amount: 1 });
      expect(placed.status).toBe(201);
      const event = await stream.next(BOUND_MS);
      expect(JSON.parse(event)).toEqual(placed.body);
    } finally {
      stream.close();
    }
  });

  it('boots without a reachable broker (background connect) and GET /health answers 503 with the reasons', async () => {
    const [closedPort] = await freePorts(1);
    process.env.KAFKA_BOOTSTRAP_SERVERS = `127.0.0.1:${closedPort}`;
    let unreachable: INestApplication | undefined;
    try {
      const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
      // a down check is the expected answer here, not something to log
      unreachable = moduleRef.createNestApplication({ logger: false });
      await unreachable.init();
      const res = await request(unreachable.getHttpServer()).get('/health');
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ status: 'error', details: { kafka: { status: 'down', connectedBrokers: [], reasons: expect.arrayContaining(['no broker connection is ready']) } } });
    } finally {
      process.env.KAFKA_BOOTSTRAP_SERVERS = cluster.bootstrap;
      await unreachable?.close();
    }
  });

  it('stops boot with a message naming KAFKA_BOOTSTRAP_SERVERS when it is not set', async () => {
    process.env.KAFKA_BOOTSTRAP_SERVERS = '';
    try {
      const compiled = Test.createTestingModule({ imports: [AppModule] }).compile();
      await expect(compiled).rejects.toThrow(SampleConfigException);
      await expect(compiled).rejects.toThrow(/KAFKA_BOOTSTRAP_SERVERS is not set/);
    } finally {
      process.env.KAFKA_BOOTSTRAP_SERVERS = cluster.bootstrap;
    }
    expect(app.get(SampleConfig).bootstrapServers).toBe(cluster.bootstrap);
  });
});

/** Reads a Server-Sent Events response with http.get: each event's `data:` lines, joined. */
async function openEventStream(url: string): Promise<{ next(timeoutMs: number): Promise<string>; close(): void }> {
  const events: string[] = [];
  let wake: (() => void) | null = null;
  let buffer = '';
  let req!: http.ClientRequest;
  await new Promise<void>((resolve, reject) => {
    req = http.get(url, { headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200 || !String(res.headers['content-type']).startsWith('text/event-stream')) {
        reject(new Error(`GET ${url}: ${res.statusCode} ${res.headers['content-type']}`));
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const data = buffer
            .slice(0, end)
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice('data:'.length).trimStart());
          buffer = buffer.slice(end + 2);
          if (data.length > 0) events.push(data.join('\n'));
          wake?.();
        }
      });
      resolve();
    });
    req.on('error', reject);
  });
  return {
    async next(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (events.length === 0) {
        if (Date.now() > deadline) throw new Error(`no event on ${url} within ${timeoutMs} ms`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
      }
      return events.shift()!;
    },
    close: () => req.destroy(),
  };
}
