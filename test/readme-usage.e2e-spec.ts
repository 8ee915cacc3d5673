import 'reflect-metadata';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import * as request from 'supertest';
import { sharedCluster } from '@app/kafka-testing';
import { uniqueTopic } from './support/round-trip';

/**
 * README.md's "Use it in your Nest app" code is test/readme/nest-usage.ts: the README blocks must be
 * copied from it, and the app it describes must work against a real broker.
 */
describe("README's Nest usage", () => {
  const cluster = sharedCluster();

  it('every code block of the section is a readme:begin/end block of test/readme/nest-usage.ts, with the published package names', () => {
    const source = fs.readFileSync(path.join(__dirname, 'readme', 'nest-usage.ts'), 'utf8');
    const blocks = new Map<string, string>();
    for (const m of source.matchAll(/\/\/ readme:begin (\S+)\n([\s\S]*?)\/\/ readme:end/g)) {
      blocks.set(m[1], m[2].replaceAll('@app/nestjs-kafka-producer', 'nestjs-kafka-wire-producer').replaceAll('@app/kafka-producer', 'kafka-wire-producer').trimEnd());
    }
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Use it in your Nest app'), readme.indexOf('\n## ', readme.indexOf('## Use it in your Nest app') + 5));
    const shown = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1].trimEnd());
    expect(shown.length).toBe(blocks.size);
    expect(shown).toEqual([...blocks.values()]);
  });

  it('the app it describes produces through every path, with the interceptor header, and reports healthy', async () => {
    const suffix = uniqueTopic('readme');
    // the snippet names its topics plainly; this run gets its own broker-side copies of them
    for (const t of ['orders', 'audit', 'order-events']) await cluster.createTopic({ name: t, partitions: 1, replicationFactor: 1 }).catch(() => undefined);
    process.env.KAFKA_BOOTSTRAP_SERVERS = cluster.bootstrapServers.join(',');
    const { AppModule, OrdersService } = await import('./readme/nest-usage');
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app: INestApplication = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
    await app.init();
    try {
      const id = suffix;
      const placed = await request(app.getHttpServer()).post('/orders').send({ id: `${id}-1`, customer: 'alice' }).expect(201);
      expect(typeof placed.body.offset).toBe('string');
      const express = await request(app.getHttpServer()).post('/orders/express').send({ id: `${id}-2`, customer: 'bob' }).expect(201);
      expect(express.body).toEqual({ id: `${id}-2`, customer: 'bob' });
      const event = await request(app.getHttpServer()).post('/orders/events').send({ id: `${id}-3`, customer: 'carol' }).expect(201);
      expect(event.body.topic).toBe('order-events');
      await app.get(OrdersService).audit(`${id}-4`);
      const health = await request(app.getHttpServer()).get('/health').expect(200);
      expect(health.body.info.kafka.status).toBe('up');
    } finally {
      await app.close();
    }
    const orders = await cluster.consumeWithJava({ topic: 'orders' });
    const mine = orders.filter((r) => r.value?.toString().includes(suffix));
    expect(mine.map((r) => r.key?.toString()).sort()).toEqual(['alice', 'bob']);
    for (const r of mine) expect(r.headers.find(([k]) => k === 'x-app-version')?.[1]?.toString()).toBe('1.0.0');
    const events = await cluster.consumeWithJava({ topic: 'order-events' });
    expect(events.some((r) => r.key?.toString() === 'carol' && r.value?.toString().includes(suffix))).toBe(true);
    const audit = await cluster.consumeWithJava({ topic: 'audit' });
    expect(audit.some((r) => r.key?.toString() === `${suffix}-4`)).toBe(true);
  });
});
