import type { ProducerHealthSnapshot, ProducerState, TransactionState } from '@app/kafka-producer';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { KafkaProducerService } from '../kafka-producer.service';

/** Thresholds of one check; every one is optional. */
export interface KafkaProducerHealthCheckOptions {
  /**
   * Down when the last successful metadata refresh is older than this. Off by default: the producer
   * refreshes metadata only for topics it uses, so an app that has not sent for a while legitimately
   * has old metadata.
   */
  maxMetadataAgeMs?: number;
  /** Down when less than this share of buffer memory is free (default 0.1: 90 % of bufferMemory is taken). */
  minBufferAvailableRatio?: number;
  /** Down while a degraded producer still has a usable connection, too (default false: degraded with a connection is up). */
  downWhenDegraded?: boolean;
  /**
   * Down when no broker connection is ready (default true). The producer opens node connections on
   * demand, so right after connect() and before the first send this reads down even with a reachable broker.
   */
  requireConnection?: boolean;
}

/**
 * What a check reports, up or down: the producer's health snapshot made JSON-safe (no bigint, no
 * Infinity, lastError reduced to its identity). Derived from the snapshot so a field added there
 * shows up here too.
 */
export type KafkaProducerHealthDetails = Omit<ProducerHealthSnapshot, 'metadataAgeMs' | 'lastError'> & {
  /** null before the first successful refresh. */
  metadataAgeMs: number | null;
  lastError: { name: string; code: string | null; message: string } | null;
  /** Why the check is down; absent when up. */
  reasons?: string[];
  /** A pool of transactional producers: each member (the fields above are the pool's aggregate). */
  pool?: KafkaProducerPoolMemberDetails[];
};

export interface KafkaProducerPoolMemberDetails {
  transactionalId: string | null;
  state: ProducerState;
  transactionState: TransactionState | null;
  producerId: string | null;
}

const DEFAULT_MIN_BUFFER_AVAILABLE_RATIO = 0.1;

/**
 * A Terminus indicator over one producer's live state (`KafkaProducerService.health()`): it opens no
 * connection and sends no request, so a probe costs nothing and cannot disturb the cluster. It never
 * throws: a failing read is a `down` result, because Terminus turns any other rejection into a 500.
 *
 *   @Get('health') @HealthCheck()
 *   check() { return this.health.check([() => this.kafka.isHealthy('kafka')]); }
 *
 * KafkaProducerHealthModule.forProducer(name) builds it for one producer; it is not a plain class
 * provider because the producer it reads depends on that name.
 */
export class KafkaProducerHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly producer: Pick<KafkaProducerService, 'health'> & Partial<Pick<KafkaProducerService, 'memberHealth'>>,
  ) {}

  isHealthy<const Key extends string = 'kafka-producer'>(
    key: Key = 'kafka-producer' as Key,
    options: KafkaProducerHealthCheckOptions = {},
  ): HealthIndicatorResult<Key, 'up' | 'down', Partial<KafkaProducerHealthDetails>> {
    const session = this.indicators.check(key);
    let snapshot: ProducerHealthSnapshot;
    try {
      snapshot = this.producer.health();
    } catch (e) {
      return session.down({ reasons: [`health() failed: ${e instanceof Error ? e.message : String(e)}`] });
    }
    const details = toHealthDetails(snapshot);
    try {
      const members = this.producer.memberHealth?.() ?? [];
      if (members.length > 1) details.pool = members.map(memberDetails);
    } catch {
      // the aggregate above already says what matters; a failing member read must not turn into a 500
    }
    const reasons = downReasons(snapshot, options);
    return reasons.length === 0 ? session.up(details) : session.down({ ...details, reasons });
  }
}

/** Every rule the snapshot breaks, in words an operator reads in the /health body. */
export function downReasons(s: ProducerHealthSnapshot, options: KafkaProducerHealthCheckOptions = {}): string[] {
  const reasons: string[] = [];
  const connected = s.connectedBrokers.length > 0;
  if (s.state === 'fatal' || s.state === 'closing' || s.state === 'closed') reasons.push(`producer is ${s.state}`);
  // a fenced or otherwise fatal transactional producer never recovers on its own: say what it needs
  if (s.transaction?.state === 'FATAL_ERROR') reasons.push(`transactions of ${s.transaction.transactionalId} failed fatally (FATAL_ERROR${s.lastError !== null ? `: ${s.lastError.name}` : ''}); the producer must be recreated`);
  else if (s.state === 'connecting') reasons.push('no metadata yet (connecting)');
  else if (s.state === 'degraded' && (options.downWhenDegraded === true || !connected)) reasons.push('producer is degraded');
  if (!connected && options.requireConnection !== false) reasons.push('no broker connection is ready');
  if (options.maxMetadataAgeMs !== undefined && Number.isFinite(s.metadataAgeMs) && s.metadataAgeMs > options.maxMetadataAgeMs) {
    reasons.push(`metadata is ${s.metadataAgeMs} ms old (limit ${options.maxMetadataAgeMs} ms)`);
  }
  const minRatio = options.minBufferAvailableRatio ?? DEFAULT_MIN_BUFFER_AVAILABLE_RATIO;
  if (s.bufferTotalBytes > 0 && s.bufferAvailableBytes / s.bufferTotalBytes < minRatio) {
    reasons.push(`buffer memory nearly exhausted (${s.bufferAvailableBytes} of ${s.bufferTotalBytes} bytes free)`);
  }
  return reasons;
}

export function toHealthDetails(s: ProducerHealthSnapshot): KafkaProducerHealthDetails {
  return {
    state: s.state,
    connectedBrokers: [...s.connectedBrokers],
    knownBrokers: s.knownBrokers,
    metadataAgeMs: Number.isFinite(s.metadataAgeMs) ? s.metadataAgeMs : null,
    queuedRecords: s.queuedRecords,
    queuedBytes: s.queuedBytes,
    waitingRecords: s.waitingRecords,
    bufferAvailableBytes: s.bufferAvailableBytes,
    bufferTotalBytes: s.bufferTotalBytes,
    inFlightRequests: s.inFlightRequests,
    lastError: s.lastError === null ? null : errorIdentity(s.lastError),
    producerId: s.producerId === null ? null : { ...s.producerId },
    transaction: s.transaction === null ? null : { ...s.transaction },
  };
}

function memberDetails(m: ProducerHealthSnapshot): KafkaProducerPoolMemberDetails {
  return { transactionalId: m.transaction?.transactionalId ?? null, state: m.state, transactionState: m.transaction?.state ?? null, producerId: m.producerId?.producerId ?? null };
}

// the error object itself may hold a cause chain, buffers or sockets: only its identity leaves the process
function errorIdentity(e: Error): { name: string; code: string | null; message: string } {
  const code = (e as { code?: unknown }).code;
  return { name: e.name, code: typeof code === 'string' ? code : null, message: e.message };
}
