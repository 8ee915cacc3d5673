import { KafkaTimeoutError, type ProducerRecord, type RecordMetadata } from '@app/kafka-producer';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { instrumentKafkaProducer } from './index';

/** A producer whose outcomes the test decides, one per send in order. */
class FakeProducer {
  readonly sent: ProducerRecord<any, any>[] = [];
  readonly activeSpanIds: Array<string | undefined> = [];
  private readonly pending: Array<{ resolve: (m: RecordMetadata) => void; reject: (e: Error) => void }> = [];

  send(record: ProducerRecord<any, any>): Promise<RecordMetadata> {
    this.sent.push(record);
    this.activeSpanIds.push(trace.getActiveSpan()?.spanContext().spanId);
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  ack(i: number, partition: number, offset: bigint): void {
    this.pending[i].resolve({ topic: this.sent[i].topic, partition, offset, timestamp: 0, serializedKeySize: 0, serializedValueSize: 0 });
  }

  fail(i: number, error: Error): void {
    this.pending[i].reject(error);
  }
}

describe('instrumentKafkaProducer', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('test');
  const contextManager = new AsyncLocalStorageContextManager();

  beforeAll(() => context.setGlobalContextManager(contextManager.enable()));
  afterAll(async () => {
    context.disable();
    await provider.shutdown();
  });
  afterEach(() => exporter.reset());

  it('starts a PRODUCER span per record at send, as a child of the active span, and ends it at the acknowledgement with partition and offset', async () => {
    const producer = new FakeProducer();
    instrumentKafkaProducer(producer, { tracer });
    const parent = tracer.startSpan('http request');
    const sent = context.with(trace.setSpan(context.active(), parent), () => producer.send({ topic: 'orders', key: 'k1', value: 'v' }));
    await Promise.resolve();
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    producer.ack(0, 3, 42n);
    await sent;
    parent.end();
    const span = exporter.getFinishedSpans().find((s) => s.name === 'send orders')!;
    expect(span.kind).toBe(SpanKind.PRODUCER);
    expect(span.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(span.spanContext().traceId).toBe(parent.spanContext().traceId);
    expect(span.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.destination.name': 'orders',
      'messaging.kafka.message.key': 'k1',
      'messaging.destination.partition.id': '3',
      'messaging.kafka.offset': 42,
    });
    expect(span.status.code).not.toBe(SpanStatusCode.ERROR);
  });

  it('injects the span as a W3C traceparent header, keeping the other headers and replacing an older traceparent', async () => {
    const producer = new FakeProducer();
    instrumentKafkaProducer(producer, { tracer });
    const a = producer.send({ topic: 't', value: 'a', headers: { app: 'x', traceparent: 'stale' } });
    const b = producer.send({ topic: 't', value: 'b', headers: [['app', 'y']] });
    producer.ack(0, 0, 0n);
    producer.ack(1, 0, 1n);
    await Promise.all([a, b]);
    const spans = exporter.getFinishedSpans();
    for (const [i, app] of ['x', 'y'].entries()) {
      const headers = producer.sent[i].headers as Array<[string, string]>;
      const sc = spans.find((s) => s.spanContext().spanId === producer.activeSpanIds[i])!.spanContext();
      expect(headers).toEqual([
        ['app', app],
        ['traceparent', `00-${sc.traceId}-${sc.spanId}-01`],
      ]);
    }
  });

  it.each([
    ['a number', 42],
    ['a Map', new Map([['app', 'x']])],
    ['a list with a non-string key', [[7, 'x']]],
  ])('passes headers given as %s to the producer untouched (its send() rejects them with a typed error) instead of throwing from send() or dropping them', (_what, headers) => {
    const producer = new FakeProducer();
    instrumentKafkaProducer(producer, { tracer });
    expect(() => producer.send({ topic: 't', value: 'a', headers: headers as never })).not.toThrow();
    expect(producer.sent[0].headers).toBe(headers);
  });

  it('takes headers: null as no headers', () => {
    const producer = new FakeProducer();
    instrumentKafkaProducer(producer, { tracer });
    producer.send({ topic: 't', value: 'a', headers: null as never });
    expect((producer.sent[0].headers as Array<[string, string]>).map(([k]) => k)).toEqual(['traceparent']);
  });

  it('makes the record span the active one inside send(), where producer interceptors run', async () => {
    const producer = new FakeProducer();
    instrumentKafkaProducer(producer, { tracer });
    const sent = producer.send({ topic: 't', value: 'a' });
    producer.ack(0, 0, 0n);
    await sent;
    expect(producer.activeSpanIds[0]).toBe(exporter.getFinishedSpans()[0].spanContext().spanId);
  });

  it('ends the span with error status and the exception when the record fails, and the caller still gets the error', async () => {
    const producer = new FakeProducer();
    instrumentKafkaProducer(producer, { tracer });
    const error = new KafkaTimeoutError('expired', 'DELIVERY_TIMEOUT');
    const sent = producer.send({ topic: 't', value: 'a' });
    producer.fail(0, error);
    await expect(sent).rejects.toBe(error);
    const [span] = exporter.getFinishedSpans();
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'expired' });
    expect(span.attributes['error.type']).toBe('DELIVERY_TIMEOUT');
    expect(span.events.map((e) => e.name)).toContain('exception');
  });

  it('instruments the producer inside a KafkaProducerService-like holder, refuses a second instrumentation, and can be removed', async () => {
    const holder = { producer: new FakeProducer() };
    const remove = instrumentKafkaProducer(holder, { tracer });
    expect(() => instrumentKafkaProducer(holder, { tracer })).toThrow(/instrumented already/);
    remove();
    const sent = holder.producer.send({ topic: 't', value: 'a' });
    holder.producer.ack(0, 0, 0n);
    await sent;
    expect(holder.producer.sent[0].headers).toBeUndefined();
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });
});
