import * as os from 'node:os';
import { Injectable } from '@nestjs/common';
import type { HeaderValue, ProducerRecord, ProducerRecordHeaders } from '@app/kafka-producer';
import type { KafkaProducerInterceptor } from '@app/nestjs-kafka-producer';

/** Who produced a record: what the interceptor stamps on every one of them. */
@Injectable()
export class AppInfoService {
  readonly name = 'orders-sample';
  readonly version = '1.0.0';
  readonly instance = `${os.hostname()}:${process.pid}`;
}

/**
 * A producer interceptor that is a Nest provider with an injected service: every record the app sends,
 * whichever path it takes (injected producer, @Produce, ClientProxy), leaves with x-app, x-app-version
 * and x-app-instance headers.
 */
@Injectable()
export class AppInfoInterceptor implements KafkaProducerInterceptor {
  constructor(private readonly info: AppInfoService) {}

  onSend(record: ProducerRecord): ProducerRecord {
    return {
      ...record,
      headers: [...headerPairs(record.headers), ['x-app', this.info.name], ['x-app-version', this.info.version], ['x-app-instance', this.info.instance]],
    };
  }
}

/** Callers may give headers as pairs or as an object; appending needs the pair form. */
function headerPairs(headers: ProducerRecordHeaders | undefined): Array<readonly [string, HeaderValue]> {
  if (headers === undefined) return [];
  if (Array.isArray(headers)) return [...(headers as ReadonlyArray<readonly [string, HeaderValue]>)];
  return Object.entries(headers as Readonly<Record<string, HeaderValue | readonly HeaderValue[]>>).flatMap(([key, value]) =>
    Array.isArray(value) ? value.map((v: HeaderValue) => [key, v] as const) : [[key, value as HeaderValue] as const],
  );
}
