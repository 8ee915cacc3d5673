import { InvalidRecordError, type ProducerRecord, type ProducerState } from '@app/kafka-producer';
import { Logger } from '@nestjs/common';
import type { Serializer } from '@nestjs/microservices';
import { BehaviorSubject, firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import type { KafkaDeliveryReport } from '../delivery-report';
import type { KafkaProducerService } from '../kafka-producer.service';
import { KafkaClientOptionsException, KafkaClientRequestResponseNotSupportedException } from './kafka-producer-client.exceptions';
import { KafkaProducerClientProxy, type KafkaProducerSharedClientOptions } from './kafka-producer-client.proxy';
import { KafkaRecordBuilder } from './kafka-record.builder';

/** A KafkaProducerService double: records what was sent; `fail` makes the next sends reject. */
function fakeService() {
  const sent: ProducerRecord<unknown, unknown>[] = [];
  const state = { fail: null as Error | null };
  const status = new BehaviorSubject<ProducerState>('ready');
  const producer = { connect: jest.fn(async () => undefined), close: jest.fn(async () => undefined) };
  const service = {
    producer,
    status$: status.asObservable(),
    send: jest.fn(async (record: ProducerRecord<unknown, unknown>): Promise<KafkaDeliveryReport> => {
      sent.push(record);
      await Promise.resolve();
      if (state.fail !== null) throw state.fail;
      return { topic: record.topic, partition: 0, offset: String(sent.length - 1), timestamp: 1, serializedKeySize: -1, serializedValueSize: 1 };
    }),
  };
  return { service: service as unknown as KafkaProducerService, sent, state, status, producer };
}

function clientOn(options: KafkaProducerSharedClientOptions = {}) {
  const fake = fakeService();
  return { ...fake, client: KafkaProducerClientProxy.forProducer(fake.service, options) };
}

describe('KafkaProducerClientProxy', () => {
  afterEach(() => jest.restoreAllMocks());

  describe('what emit() sends', () => {
    it('sends plain data as the value: an object with a key field is JSON, never mistaken for a record', async () => {
      const { client, sent } = clientOn();
      await lastValueFrom(client.emit('orders', { key: 'not-a-kafka-key', value: 12, headers: { a: 1 } }));
      expect(sent).toEqual([{ topic: 'orders', value: JSON.stringify({ key: 'not-a-kafka-key', value: 12, headers: { a: 1 } }) }]);
    });

    it('takes key, headers, partition and timestamp only from a KafkaRecord', async () => {
      const { client, sent } = clientOn();
      const record = new KafkaRecordBuilder({ id: 1 }).setKey('order-1').setHeaders([['source', 'api']]).setPartition(3).setTimestamp(1_700_000_000_000).build();
      await lastValueFrom(client.emit('orders', record));
      expect(sent).toEqual([{ topic: 'orders', value: '{"id":1}', key: 'order-1', headers: [['source', 'api']], partition: 3, timestamp: 1_700_000_000_000 }]);
    });

    it('sends strings and Buffers as they are, other byte arrays as Buffers, numbers and booleans as JSON', async () => {
      const { client, sent } = clientOn();
      const bytes = Buffer.from([0, 1, 255]);
      for (const data of ['text', bytes, new Uint8Array([7, 8]), 42, false]) await lastValueFrom(client.emit('t', data));
      expect(sent.map((r) => r.value)).toEqual(['text', bytes, Buffer.from([7, 8]), '42', 'false']);
    });

    it('sends a KafkaRecord with a null value as a tombstone', async () => {
      const { client, sent } = clientOn();
      await lastValueFrom(client.emit('t', new KafkaRecordBuilder(null).setKey('gone').build()));
      expect(sent).toEqual([{ topic: 't', value: null, key: 'gone' }]);
    });

    it('hands values to the producer untouched when the producer has its own valueSerializer', async () => {
      const { client, sent } = clientOn({ producerSerializesValues: true });
      const order = { id: 2 };
      await lastValueFrom(client.emit('t', order));
      expect(sent[0].value).toBe(order);
    });

    it('sends a serializer output of undefined as null (a tombstone) also when the producer has its own valueSerializer: the producer refuses undefined values', async () => {
      const { client, sent } = clientOn({ producerSerializesValues: true, serializer: { serialize: () => undefined } });
      await lastValueFrom(client.emit('t', { id: 2 }));
      expect(sent[0].value).toBeNull();
    });

    it('refuses a nil pattern or payload as Nest does (InvalidMessageException), sending nothing', async () => {
      const { client, sent } = clientOn();
      await expect(lastValueFrom(client.emit('t', undefined))).rejects.toThrow('The invalid data or message pattern (undefined/null)');
      await expect(lastValueFrom(client.emit(null, 'x'))).rejects.toThrow('The invalid data or message pattern (undefined/null)');
      expect(sent).toEqual([]);
    });
  });

  describe("Nest's serializer hook", () => {
    it("passes the data and the topic to serialize(); its output becomes the value", async () => {
      const serialize = jest.fn((value: unknown) => Buffer.from(`<${JSON.stringify(value)}>`));
      const { client, sent } = clientOn({ serializer: { serialize } });
      await lastValueFrom(client.emit('orders', { id: 3 }));
      expect(serialize).toHaveBeenCalledWith({ id: 3 }, { pattern: 'orders' });
      expect(sent[0].value).toEqual(Buffer.from('<{"id":3}>'));
    });

    it("gets a KafkaRecord's value, not the record, and the record's key and headers still apply", async () => {
      const serialize = jest.fn((value: unknown) => `wrapped:${String(value)}`);
      const { client, sent } = clientOn({ serializer: { serialize } });
      await lastValueFrom(client.emit('t', new KafkaRecordBuilder('v').setKey('k').setHeaders({ h: 'x' }).build()));
      expect(serialize).toHaveBeenCalledWith('v', { pattern: 't' });
      expect(sent).toEqual([{ topic: 't', value: 'wrapped:v', key: 'k', headers: { h: 'x' } }]);
    });

    it('JSON-encodes an object the serializer returns, and awaits an async serializer', async () => {
      const serializer: Serializer = { serialize: async (value: unknown) => ({ envelope: value }) };
      const { client, sent } = clientOn({ serializer });
      await lastValueFrom(client.emit('t', 'payload'));
      expect(sent[0].value).toBe('{"envelope":"payload"}');
    });

    it('delivers a throwing serializer as the emit error, sending nothing', async () => {
      const { client, sent } = clientOn({ serializer: { serialize: () => { throw new Error('cannot serialize'); } } });
      await expect(lastValueFrom(client.emit('t', 1))).rejects.toThrow('cannot serialize');
      expect(sent).toEqual([]);
    });
  });

  describe('emit() outcome', () => {
    it('hands records to the producer within emit(), so consecutive emits keep their order', () => {
      const { client, sent } = clientOn();
      for (let i = 0; i < 5; i++) client.emit('t', `v${i}`);
      expect(sent.map((r) => r.value)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    });

    it('sends without a subscriber, emits the delivery report once and completes; a late subscriber gets the same report', async () => {
      const { client, sent } = clientOn();
      const result$ = client.emit('t', 'v');
      expect(sent).toHaveLength(1);
      const seen = await lastValueFrom(result$.pipe(toArray()));
      expect(seen).toEqual([expect.objectContaining({ topic: 't', offset: '0' })]);
      expect(await firstValueFrom(result$)).toEqual(seen[0]);
    });

    it('gives a failure to the subscriber and does not log it', async () => {
      const { client, state } = clientOn();
      const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      state.fail = new InvalidRecordError('topic name is invalid');
      await expect(lastValueFrom(client.emit('t', 'v'))).rejects.toBeInstanceOf(InvalidRecordError);
      expect(logged).not.toHaveBeenCalled();
    });

    it('logs a failure that nobody subscribed to (Nest ClientKafka loses it)', async () => {
      const { client, state, service } = clientOn({ name: 'orders' });
      const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      state.fail = new InvalidRecordError('topic name is invalid');
      client.emit('t', 'v');
      await (service.send as jest.Mock).mock.results[0].value.catch(() => undefined);
      await new Promise((r) => setImmediate(r));
      expect(logged).toHaveBeenCalledTimes(1);
      expect(logged.mock.calls[0][0]).toBe("emit('t') failed and nobody subscribed to its result: topic name is invalid");
    });
  });

  describe('request/response', () => {
    it('send() errors with a "not supported by a producer-only transport" exception and neither connects nor sends', async () => {
      const { client, sent, producer } = clientOn();
      const error = await lastValueFrom(client.send('orders', { id: 1 })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KafkaClientRequestResponseNotSupportedException);
      expect((error as Error).message).toContain('not supported by a producer-only transport');
      expect(producer.connect).not.toHaveBeenCalled();
      expect(sent).toEqual([]);
    });
  });

  describe('the producer behind it', () => {
    it('unwrap() returns the producer and status follows the producer state, current state first', async () => {
      const { client, status, service } = clientOn();
      expect(client.unwrap()).toBe(service.producer);
      const states: ProducerState[] = [];
      status.next('degraded');
      const sub = client.status.subscribe((s) => states.push(s));
      status.next('ready');
      sub.unsubscribe();
      expect(states).toEqual(['degraded', 'ready']);
    });

    it('connect() is memoized, and a failed connect is tried again on the next call', async () => {
      const { client, producer } = clientOn();
      producer.connect.mockRejectedValueOnce(new Error('no broker'));
      await expect(client.connect()).rejects.toThrow('no broker');
      await client.connect();
      await client.connect();
      expect(producer.connect).toHaveBeenCalledTimes(2);
    });

    it('close() on a shared producer leaves it open', async () => {
      const { client, producer } = clientOn();
      await client.close();
      expect(producer.close).not.toHaveBeenCalled();
    });
  });

  describe('with its own producer (ClientsModule customClass)', () => {
    it('rejects bad options with one exception naming every bad field', () => {
      const build = () => new KafkaProducerClientProxy({ bootstrapServers: ['127.0.0.1:1'], lingerMs: -1, closeTimeoutMs: -5, serializer: {} as Serializer });
      expect(build).toThrow(KafkaClientOptionsException);
      const message = (() => {
        try {
          build();
          return '';
        } catch (e) {
          return (e as Error).message;
        }
      })();
      for (const field of ['closeTimeoutMs', 'serializer', 'lingerMs']) expect(message).toContain(field);
    });

    it('close() closes the producer it built', async () => {
      const client = new KafkaProducerClientProxy({ bootstrapServers: ['127.0.0.1:1'], clientId: 'own' });
      expect(client.unwrap<{ config: { clientId: string } }>().config.clientId).toBe('own');
      await client.close();
      expect(client.service.state).toBe('closed');
    });
  });
});
