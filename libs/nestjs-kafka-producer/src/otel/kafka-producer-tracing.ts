import type { KafkaError, ProducerRecord, ProducerRecordHeaders, RecordMetadata, SendCallback } from '@app/kafka-producer';
import { context, SpanKind, SpanStatusCode, trace, type Span, type TextMapPropagator, type Tracer, type TracerProvider } from '@opentelemetry/api';

export interface KafkaProducerTracingOptions {
  /** Default: the global tracer provider's tracer `@app/nestjs-kafka-producer`. */
  tracer?: Tracer;
  /** Used when no `tracer` is given. */
  tracerProvider?: TracerProvider;
  /**
   * How the span's context goes into the record headers. Default: W3C Trace Context (`traceparent`,
   * plus `tracestate` when set) written directly, so it works whatever global propagator is set (the
   * API's default one injects nothing). Pass `propagation` to use the globally registered propagator.
   */
  propagator?: TextMapPropagator;
}

/** What can be traced: a KafkaProducer, or anything holding one as `producer` (KafkaProducerService). */
export interface TraceableProducer {
  send(record: ProducerRecord<any, any>, callback?: SendCallback): Promise<RecordMetadata>;
}

const TRACER_NAME = '@app/nestjs-kafka-producer';
const INSTRUMENTED = Symbol('kafka-producer:otel-instrumented');

/**
 * Traces every record a producer sends: a PRODUCER span `send <topic>` starts in send(), as a child
 * of the caller's active span, and ends when the broker acknowledged the record (partition and
 * offset as attributes) or when it failed for good (error status, exception event). The span's
 * context goes into the record's headers (W3C `traceparent`), so consumers continue the trace.
 *
 *   instrumentKafkaProducer(app.get(KafkaProducerService));            // after NestFactory.create
 *
 * It wraps the producer's send() rather than being a producer interceptor: an interceptor's
 * onAcknowledgement does not say which record it acknowledges, so it could not end the right span.
 * Every path that sends through this producer (service.send, @Produce, the ClientProxy) is covered.
 * Returns a function that removes the instrumentation.
 */
export function instrumentKafkaProducer(
  target: TraceableProducer | { producer: TraceableProducer; producers?: readonly TraceableProducer[] },
  options: KafkaProducerTracingOptions = {},
): () => void {
  // a KafkaProducerService with a transaction pool holds several producers: each one is traced
  const producers = 'producer' in target ? (target.producers ?? [target.producer]) : [target];
  if (producers.some((p) => (p as { [INSTRUMENTED]?: true })[INSTRUMENTED])) throw new Error('this producer is instrumented already');
  const removers = producers.map((p) => instrumentOne(p, options));
  return () => removers.forEach((remove) => remove());
}

function instrumentOne(producer: TraceableProducer & { [INSTRUMENTED]?: true }, options: KafkaProducerTracingOptions): () => void {
  const tracer = options.tracer ?? (options.tracerProvider ?? trace).getTracer(TRACER_NAME);
  const original = producer.send;
  const traced = function (this: TraceableProducer, record: ProducerRecord<any, any>, callback?: SendCallback): Promise<RecordMetadata> {
    if (record === null || typeof record !== 'object') return original.call(this, record, callback);
    const topic = String(record.topic);
    const span = tracer.startSpan(`send ${topic}`, {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'send',
        'messaging.destination.name': topic,
        ...(typeof record.key === 'string' ? { 'messaging.kafka.message.key': record.key } : {}),
        ...(record.partition !== undefined ? { 'messaging.destination.partition.id': String(record.partition) } : {}),
      },
    });
    const spanContext = trace.setSpan(context.active(), span);
    const withHeaders = { ...record, headers: injectContext(record.headers, spanContext, span, options.propagator) };
    let promise: Promise<RecordMetadata>;
    try {
      // interceptors' onSend runs inside send(): they see the record's span as the active one
      promise = context.with(spanContext, () => original.call(this, withHeaders, callback));
    } catch (e) {
      end(span, null, e as Error);
      throw e;
    }
    promise.then(
      (metadata) => end(span, metadata, null),
      (error: Error) => end(span, null, error),
    );
    return promise;
  };
  Object.defineProperty(producer, 'send', { value: traced, configurable: true, writable: true });
  Object.defineProperty(producer, INSTRUMENTED, { value: true, configurable: true });
  return () => {
    delete (producer as { send?: unknown }).send;
    if (producer.send !== original) Object.defineProperty(producer, 'send', { value: original, configurable: true, writable: true });
    delete producer[INSTRUMENTED];
  };
}

function end(span: Span, metadata: RecordMetadata | null, error: Error | null): void {
  if (metadata !== null) {
    span.setAttribute('messaging.destination.partition.id', String(metadata.partition));
    if (metadata.offset >= 0n) span.setAttribute('messaging.kafka.offset', Number(metadata.offset));
  }
  if (error !== null) {
    span.recordException(error);
    span.setAttribute('error.type', (error as KafkaError).code ?? error.name);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  }
  span.end();
}

type HeaderPairs = Array<readonly [string, Buffer | string | null]>;

/** The record's headers with the trace context added (replacing any trace context already there). */
function injectContext(headers: ProducerRecordHeaders | null | undefined, ctx: ReturnType<typeof context.active>, span: Span, propagator: TextMapPropagator | undefined): ProducerRecordHeaders | undefined {
  // headers of a shape the producer refuses go to it untouched, so send() rejects them with its typed
  // error; rebuilding them here would throw a TypeError from send() or drop them without a word
  if (!injectable(headers)) return headers as ProducerRecordHeaders;
  const carrier: Record<string, string> = {};
  if (propagator !== undefined) {
    propagator.inject(ctx, carrier, { set: (c, k, v) => ((c as Record<string, string>)[k] = v) });
  } else {
    const sc = span.spanContext();
    if (trace.isSpanContextValid(sc)) {
      carrier.traceparent = `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
      const state = sc.traceState?.serialize();
      if (state) carrier.tracestate = state;
    }
  }
  const added = Object.keys(carrier);
  if (added.length === 0) return headers ?? [];
  const replaced = new Set(added.map((k) => k.toLowerCase()));
  const pairs: HeaderPairs = [];
  if (Array.isArray(headers)) {
    for (const [k, v] of headers as ReadonlyArray<readonly [string, Buffer | string | null]>) if (!replaced.has(k.toLowerCase())) pairs.push([k, v]);
  } else if (headers !== undefined && headers !== null) {
    for (const [k, v] of Object.entries(headers as Record<string, Buffer | string | null | ReadonlyArray<Buffer | string | null>>)) {
      if (replaced.has(k.toLowerCase())) continue;
      if (Array.isArray(v)) for (const one of v) pairs.push([k, one]);
      else pairs.push([k, v as Buffer | string | null]);
    }
  }
  for (const k of added) pairs.push([k, carrier[k]]);
  return pairs;
}

/** Absent, a list of [string, value] pairs, or a plain object: what the producer takes as headers. */
function injectable(headers: unknown): boolean {
  if (headers === undefined || headers === null) return true;
  if (Array.isArray(headers)) return headers.every((pair) => Array.isArray(pair) && typeof pair[0] === 'string');
  return typeof headers === 'object' && Object.prototype.toString.call(headers) === '[object Object]';
}
