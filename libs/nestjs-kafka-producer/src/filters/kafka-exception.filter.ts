import {
  AuthenticationError,
  BufferExhaustedError,
  ConnectionError,
  InvalidArgumentError,
  InvalidRecordError,
  KafkaError,
  KafkaTimeoutError,
  ProducerClosedError,
  ProducerFatalError,
  RecordTooLargeError,
  RequestTimeoutError,
} from '@app/kafka-producer';
import { Catch, HttpStatus, Logger, Optional, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { KafkaProducerOptionsException } from '../kafka-producer.exceptions';

/** The JSON body KafkaExceptionFilter answers with. */
export interface KafkaHttpErrorBody {
  statusCode: number;
  /** The HTTP reason phrase. */
  error: string;
  /** For 4xx, the producer's message (it describes the caller's record); for 5xx a fixed text. */
  message: string;
  /** The KafkaError's stable code (e.g. DELIVERY_TIMEOUT, RECORD_TOO_LARGE). */
  code: string;
}

const TOO_LARGE_CODES = new Set(['RECORD_TOO_LARGE', 'MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
const INVALID_RECORD_CODES = new Set(['INVALID_RECORD', 'INVALID_ARGUMENT']);

/**
 * The HTTP status for a Kafka error reaching an HTTP handler:
 * - 413: the record is too large (RecordTooLargeError, or the broker's MESSAGE_TOO_LARGE);
 * - 400: the record is invalid (InvalidRecordError, InvalidArgumentError, the broker's INVALID_RECORD);
 * - 503: Kafka is unavailable for now, so the request may be retried: timeouts, connection errors and
 *   broker outages, a full buffer (BufferExhaustedError), a producer shutting down, and any other
 *   error the producer marks retriable;
 * - 500: everything else, including bad module options (KafkaProducerOptionsException) and errors
 *   retrying cannot fix (failed authentication, a fatal producer).
 */
export function kafkaErrorToHttpStatus(error: unknown): number {
  if (!(error instanceof KafkaError)) return HttpStatus.INTERNAL_SERVER_ERROR;
  if (error instanceof RecordTooLargeError || TOO_LARGE_CODES.has(error.code)) return HttpStatus.PAYLOAD_TOO_LARGE;
  if (error instanceof InvalidRecordError || error instanceof InvalidArgumentError || INVALID_RECORD_CODES.has(error.code)) return HttpStatus.BAD_REQUEST;
  if (error instanceof KafkaProducerOptionsException || error instanceof AuthenticationError || error instanceof ProducerFatalError) return HttpStatus.INTERNAL_SERVER_ERROR;
  // a TLS handshake refused over the certificate or the TLS settings fails the same way on every retry
  if (error instanceof ConnectionError && !error.retriable) return HttpStatus.INTERNAL_SERVER_ERROR;
  if (
    error instanceof KafkaTimeoutError ||
    error instanceof RequestTimeoutError ||
    error instanceof BufferExhaustedError ||
    error instanceof ConnectionError ||
    error instanceof ProducerClosedError ||
    error.retriable
  ) {
    return HttpStatus.SERVICE_UNAVAILABLE;
  }
  return HttpStatus.INTERNAL_SERVER_ERROR;
}

const REASONS: Record<number, string> = {
  [HttpStatus.BAD_REQUEST]: 'Bad Request',
  [HttpStatus.PAYLOAD_TOO_LARGE]: 'Payload Too Large',
  [HttpStatus.SERVICE_UNAVAILABLE]: 'Service Unavailable',
  [HttpStatus.INTERNAL_SERVER_ERROR]: 'Internal Server Error',
};

/**
 * The response body for a Kafka error. 5xx bodies carry a fixed text, never the error's message: it
 * may name brokers, hosts or configuration the client has no business seeing.
 */
export function kafkaErrorToHttpBody(error: unknown): KafkaHttpErrorBody {
  const statusCode = kafkaErrorToHttpStatus(error);
  const code = error instanceof KafkaError ? error.code : 'UNKNOWN';
  const message =
    statusCode < 500 && error instanceof Error
      ? error.message
      : statusCode === HttpStatus.SERVICE_UNAVAILABLE
        ? 'Kafka is unavailable at the moment; try again later'
        : 'Internal server error';
  return { statusCode, error: REASONS[statusCode] ?? 'Error', message, code };
}

/**
 * Turns KafkaErrors that reach an HTTP handler into statuses (see kafkaErrorToHttpStatus) with a
 * KafkaHttpErrorBody. Register it globally (`app.useGlobalFilters(new KafkaExceptionFilter(app.get(HttpAdapterHost)))`
 * or `{ provide: APP_FILTER, useClass: KafkaExceptionFilter }`) or per controller with
 * `@UseFilters(KafkaExceptionFilter)`. HTTP only: in other contexts the error is rethrown to Nest.
 */
@Catch(KafkaError)
export class KafkaExceptionFilter implements ExceptionFilter<KafkaError> {
  private readonly logger = new Logger('KafkaExceptionFilter');

  constructor(@Optional() private readonly adapterHost?: HttpAdapterHost) {}

  catch(error: KafkaError, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    const body = kafkaErrorToHttpBody(error);
    // the full message stays in the server's log
    if (body.statusCode >= 500) this.logger.error(`${body.statusCode} for ${error.name} (${error.code}): ${error.message}`);
    const response = host.switchToHttp().getResponse();
    const adapter = this.adapterHost?.httpAdapter;
    if (adapter !== undefined && adapter !== null) {
      adapter.reply(response, body, body.statusCode);
      return;
    }
    // no adapter host (filter created with `new` and no argument): Express-style response
    response.status(body.statusCode).json(body);
  }
}
