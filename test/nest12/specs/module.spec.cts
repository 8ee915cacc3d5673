import 'reflect-metadata';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { KafkaError, KafkaProducer } from 'kafka-wire-producer';
import { InjectKafkaProducer, KafkaProducerModule, KafkaProducerService } from 'nestjs-kafka-wire-producer';
import { bootstrapServers, consumeWithJava, createTopic, packedSubpaths } from '../support/broker.cjs';

const SUITE = path.resolve(__dirname, '..');

/** Where `request` resolves from inside the installed Nest package, and that package's version. */
function resolvedFromOurPackage(request: string): { dir: string; version: string } {
  const fromDir = path.dirname(require.resolve('nestjs-kafka-wire-producer'));
  let dir = path.dirname(require.resolve(request, { paths: [fromDir] }));
  while (!fs.existsSync(path.join(dir, 'package.json')) || (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string }).name !== request) {
    dir = path.dirname(dir);
  }
  return { dir, version: (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version };
}

@Injectable()
class Greeter {
  constructor(@InjectKafkaProducer() readonly kafka: KafkaProducerService) {}
}

describe('the packed nestjs-kafka-wire-producer in a Nest 12 app', () => {
  it('resolves Nest 12 and the one producer copy from the app, not from the workspace it was built in', () => {
    for (const request of ['@nestjs/common', '@nestjs/core', 'kafka-wire-producer']) {
      const { dir } = resolvedFromOurPackage(request);
      expect(path.relative(path.join(SUITE, 'node_modules'), dir)).toBe(request);
    }
    expect(resolvedFromOurPackage('@nestjs/common').version).toMatch(/^12\./);
    expect(resolvedFromOurPackage('@nestjs/core').version).toMatch(/^12\./);
    // the Nest package holds the producer as a peer: no nested second copy
    expect(fs.existsSync(path.join(SUITE, 'node_modules', 'nestjs-kafka-wire-producer', 'node_modules'))).toBe(false);
    for (const sub of packedSubpaths) expect(require.resolve(`nestjs-kafka-wire-producer/${sub}`)).toContain(path.join('node_modules', 'nestjs-kafka-wire-producer', 'dist', sub));
  });

  it('forRoot registers a KafkaProducerService that @InjectKafkaProducer() injects; its send is acknowledged and the Java consumer reads the record at the reported offset', async () => {
    const topic = await createTopic('for-root');
    const moduleRef = await Test.createTestingModule({
      imports: [KafkaProducerModule.forRoot({ bootstrapServers, clientId: 'nest12-for-root', connect: 'fail-fast' })],
      providers: [Greeter],
    }).compile();
    const app = await moduleRef.init();
    const { kafka } = app.get(Greeter);
    expect(kafka).toBe(app.get(KafkaProducerService));
    // instanceof across the two packages: one copy of the producer in the app
    expect(kafka.producer).toBeInstanceOf(KafkaProducer);
    await expect(kafka.send({ topic, value: 'x', partition: -1 })).rejects.toBeInstanceOf(KafkaError);

    const report = await kafka.send({ topic, key: 'greeting', value: 'hello from Nest 12' });
    await app.close();

    expect(typeof report.offset).toBe('string');
    const [record] = await consumeWithJava(topic, 1);
    expect(record).toMatchObject({ key: 'greeting', value: 'hello from Nest 12', partition: report.partition, offset: report.offset });
  });

  it('forRootAsync builds the producer from a factory that injects a provider of an imported module', async () => {
    const topic = await createTopic('for-root-async');
    @Injectable()
    class KafkaConfig {
      readonly servers = bootstrapServers;
      readonly clientId = 'nest12-from-config';
    }
    @Module({ providers: [KafkaConfig], exports: [KafkaConfig] })
    class KafkaConfigModule {}

    const moduleRef = await Test.createTestingModule({
      imports: [
        KafkaProducerModule.forRootAsync({
          imports: [KafkaConfigModule],
          inject: [KafkaConfig],
          useFactory: async (config: KafkaConfig) => ({ bootstrapServers: config.servers, clientId: config.clientId, lingerMs: 5 }),
        }),
      ],
      providers: [Greeter],
    }).compile();
    const app = await moduleRef.init();
    const { kafka } = app.get(Greeter);
    expect(kafka.producer.config.clientId).toBe('nest12-from-config');
    const reports = await Promise.all(['a', 'b', 'c'].map((v) => kafka.send({ topic, key: v, value: `async-${v}` })));
    await app.close();

    const records = await consumeWithJava(topic, 3);
    expect(records.map((r) => [r.key, r.value, r.offset])).toEqual(reports.map((rep, i) => [['a', 'b', 'c'][i], `async-${['a', 'b', 'c'][i]}`, rep.offset]));
  });
});
