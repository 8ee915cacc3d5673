import 'reflect-metadata';
import { InvalidRecordError, type ProducerRecord } from '@app/kafka-producer';
import { Logger, SetMetadata } from '@nestjs/common';
import { of } from 'rxjs';
import type { KafkaDeliveryReport } from '../delivery-report';
import type { KafkaProducerService } from '../kafka-producer.service';
import { bindProduce, Produce, produceEntriesOf } from './produce.decorator';
import { KafkaProduceNotBoundException, KafkaProduceResultException } from './produce.exceptions';

/** A producer whose acknowledgements the test releases by hand. */
class FakeProducer {
  readonly sent: ProducerRecord<any, any>[] = [];
  private readonly pending: Array<{ resolve: (r: KafkaDeliveryReport) => void; reject: (e: Error) => void }> = [];
  failWith: Error | null = null;

  send(record: ProducerRecord<any, any>): Promise<KafkaDeliveryReport> {
    this.sent.push(record);
    if (this.failWith !== null) return Promise.reject(this.failWith);
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  ackAll(): void {
    for (const p of this.pending.splice(0)) p.resolve({ topic: 't', partition: 0, offset: '0', timestamp: 0, serializedKeySize: 0, serializedValueSize: 0 });
  }
}

function bind(instance: object, producer: FakeProducer, extra: { serializeValues?: boolean; topic?: string } = {}): void {
  const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(prototype)) {
    for (const entry of produceEntriesOf(prototype[name])) {
      bindProduce(instance, entry, { producer: producer as unknown as KafkaProducerService, serializeValues: extra.serializeValues ?? false, topic: extra.topic });
    }
  }
}

const settle = () => new Promise((r) => setImmediate(r));

describe('@Produce', () => {
  afterEach(() => jest.restoreAllMocks());

  it('sends the awaited result as JSON, with key, headers and partition computed from (result, ...args), and resolves only after the acknowledgement', async () => {
    class Orders {
      @Produce({ topic: 'orders', key: (o: { id: string }) => o.id, headers: (_o: unknown, _id: string, who: string) => ({ by: who }), partition: () => 2 })
      async create(id: string, _who: string) {
        return { id, total: 3 };
      }
    }
    const orders = new Orders();
    const producer = new FakeProducer();
    bind(orders, producer);
    let resolved = false;
    const call = orders.create('o-1', 'ann').then((r) => ((resolved = true), r));
    await settle();
    expect(producer.sent).toEqual([{ topic: 'orders', key: 'o-1', value: '{"id":"o-1","total":3}', headers: { by: 'ann' }, partition: 2 }]);
    expect(resolved).toBe(false);
    producer.ackAll();
    await expect(call).resolves.toEqual({ id: 'o-1', total: 3 });
  });

  it('rejects with the send error when the record fails (await: true)', async () => {
    class S {
      @Produce({ topic: 't' })
      async make() {
        return 'v';
      }
    }
    const s = new S();
    const producer = new FakeProducer();
    producer.failWith = new InvalidRecordError('bad');
    bind(s, producer);
    await expect(s.make()).rejects.toBe(producer.failWith);
  });

  it('sends Buffers and strings as they are, null as a tombstone, and anything to a configured value serializer unchanged', async () => {
    class S {
      @Produce({ topic: (name: string) => `t-${name}` })
      async make(_name: string, value: unknown) {
        return value;
      }
    }
    const plain = new S();
    const plainProducer = new FakeProducer();
    bind(plain, plainProducer);
    const serializing = new S();
    const serializingProducer = new FakeProducer();
    bind(serializing, serializingProducer, { serializeValues: true });
    const buf = Buffer.from([1, 2]);
    const calls = [plain.make('a', buf), plain.make('b', 'text'), plain.make('c', null), serializing.make('d', { x: 1 })];
    await settle();
    plainProducer.ackAll();
    serializingProducer.ackAll();
    await Promise.all(calls);
    expect(plainProducer.sent.map((r) => [r.topic, r.value])).toEqual([
      ['t-a', buf],
      ['t-b', 'text'],
      ['t-c', null],
    ]);
    expect(serializingProducer.sent.map((r) => r.value)).toEqual([{ x: 1 }]);
  });

  it('uses the topic resolved from config at startup instead of the option', async () => {
    class S {
      @Produce({ topic: { config: 'TOPIC' } })
      async make() {
        return 'v';
      }
    }
    const s = new S();
    const producer = new FakeProducer();
    bind(s, producer, { topic: 'from-config' });
    const call = s.make();
    await settle();
    producer.ackAll();
    await call;
    expect(producer.sent[0].topic).toBe('from-config');
  });

  it('sends nothing for undefined, and one record per array element with key and headers called per element', async () => {
    class S {
      @Produce({ topic: 't', key: (e: { id: string }, suffix: string) => `${e.id}${suffix}`, headers: (e: { id: string }) => [['id', e.id]] as const })
      async make(_suffix: string, result: unknown) {
        return result;
      }
    }
    const s = new S();
    const producer = new FakeProducer();
    bind(s, producer);
    await expect(s.make('!', undefined)).resolves.toBeUndefined();
    await expect(s.make('!', [])).resolves.toEqual([]);
    expect(producer.sent).toHaveLength(0);
    const call = s.make('!', [{ id: 'a' }, undefined, { id: 'b' }]);
    await settle();
    producer.ackAll();
    await call;
    expect(producer.sent.map((r) => [r.key, r.value, r.headers])).toEqual([
      ['a!', '{"id":"a"}', [['id', 'a']]],
      ['b!', '{"id":"b"}', [['id', 'b']]],
    ]);
  });

  it('refuses an Observable result, returned directly or from a Promise', async () => {
    class S {
      @Produce({ topic: 't' })
      direct() {
        return of(1);
      }

      @Produce({ topic: 't' })
      async wrapped() {
        return of(1);
      }
    }
    const s = new S();
    const producer = new FakeProducer();
    bind(s, producer);
    expect(() => s.direct()).toThrow(KafkaProduceResultException);
    await expect(s.wrapped()).rejects.toThrow(/returned an Observable/);
    expect(producer.sent).toHaveLength(0);
  });

  it('with await: false returns at once (a synchronous method stays synchronous) and logs a failure instead of rejecting', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    try {
      class S {
        @Produce({ topic: 't', await: false })
        make() {
          return 'v';
        }
      }
      const s = new S();
      const producer = new FakeProducer();
      producer.failWith = new InvalidRecordError('refused');
      bind(s, producer);
      expect(s.make()).toBe('v');
      await settle();
      expect(producer.sent).toHaveLength(1);
      expect(logged).toHaveBeenCalledWith(expect.stringContaining('refused'));
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });

  it('throws a clear exception naming the producer when no module bound one, without running the method', () => {
    const body = jest.fn(async () => 'v');
    class S {
      @Produce({ topic: 't', producer: 'audit' })
      make() {
        return body();
      }
    }
    expect(() => new S().make()).toThrow(KafkaProduceNotBoundException);
    expect(() => new S().make()).toThrow(/did you import KafkaProducerModule with name audit/);
    expect(body).not.toHaveBeenCalled();
  });

  it('keeps the metadata of decorators on either side, and the method name and length', () => {
    class S {
      @SetMetadata('above', 1)
      @Produce({ topic: 't' })
      @SetMetadata('below', 2)
      async make(_a: string, _b: string) {
        return 'v';
      }
    }
    const method = S.prototype.make;
    expect(Reflect.getMetadata('above', method)).toBe(1);
    expect(Reflect.getMetadata('below', method)).toBe(2);
    expect([method.name, method.length]).toEqual(['make', 2]);
    expect(produceEntriesOf(method).map((e) => e.where)).toEqual(['S.make']);
  });
});
