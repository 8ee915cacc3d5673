import * as diagnostics from 'node:diagnostics_channel';
import type { ProducerLogger } from './logger';
import type { RecordMetadata } from './types';

/**
 * The producer's one state vocabulary, used by `health().state`, state events and the Nest layer.
 *
 * - `connecting`: no metadata yet (nothing has answered since the producer was created).
 * - `ready`: the last metadata refresh succeeded and no request failed since.
 * - `degraded`: something failed (a broker unreachable, a metadata refresh or a request failed); the
 *   producer keeps retrying by itself and returns to `ready` on the next success.
 * - `fatal`: an error retrying cannot fix (authentication failed); sends fail until the producer is closed.
 * - `closing`: close() was called; accepted records are still being completed.
 * - `closed`: everything completed or failed, connections closed.
 */
export type ProducerState = 'connecting' | 'ready' | 'degraded' | 'fatal' | 'closing' | 'closed';

/** A record the broker acknowledged (per `acks`). */
export type DeliveryReport = RecordMetadata;

/** A record that failed for good, with the error its send() promise rejected with. */
export interface DeliveryFailure {
  readonly topic: string;
  /** -1 when the record failed before a partition was chosen. */
  readonly partition: number;
  readonly error: Error;
}

export interface ProducerStateChange {
  readonly state: ProducerState;
  readonly previous: ProducerState;
  /** The error that caused a move to degraded or fatal. */
  readonly reason: Error | null;
}

/** A transaction ended: its records became visible to read_committed readers, or never will. */
export interface TransactionEnd {
  readonly transactionalId: string;
  readonly outcome: 'committed' | 'aborted';
  /** The error that made the transaction abort, if it was not the application's own abortTransaction(). */
  readonly error: Error | null;
}

export type Unsubscribe = () => void;

/** Channels published for APM tools (`diagnostics_channel.subscribe(name, fn)`), across all producers. */
export const DIAGNOSTICS_CHANNELS = {
  delivery: 'kafka-producer:delivery',
  deliveryError: 'kafka-producer:delivery-error',
  state: 'kafka-producer:state',
} as const;

const deliveryChannel = diagnostics.channel(DIAGNOSTICS_CHANNELS.delivery);
const deliveryErrorChannel = diagnostics.channel(DIAGNOSTICS_CHANNELS.deliveryError);
const stateChannel = diagnostics.channel(DIAGNOSTICS_CHANNELS.state);

/**
 * Listeners of one producer instance. `wantsDeliveries` is read once per send: when it is false (no
 * listener, no diagnostics subscriber) the send path does no extra work at all.
 */
export class ProducerEvents {
  private deliveryListeners: Array<(report: DeliveryReport) => void> = [];
  private failureListeners: Array<(failure: DeliveryFailure) => void> = [];
  private stateListeners: Array<(change: ProducerStateChange) => void> = [];
  private transactionListeners: Array<(end: TransactionEnd) => void> = [];

  constructor(
    private readonly clientId: string,
    private readonly logger: ProducerLogger,
  ) {}

  get wantsDeliveries(): boolean {
    return this.deliveryListeners.length > 0 || this.failureListeners.length > 0 || deliveryChannel.hasSubscribers || deliveryErrorChannel.hasSubscribers;
  }

  onDelivery(listener: (report: DeliveryReport) => void): Unsubscribe {
    this.deliveryListeners = [...this.deliveryListeners, listener];
    return () => (this.deliveryListeners = this.deliveryListeners.filter((l) => l !== listener));
  }

  onDeliveryError(listener: (failure: DeliveryFailure) => void): Unsubscribe {
    this.failureListeners = [...this.failureListeners, listener];
    return () => (this.failureListeners = this.failureListeners.filter((l) => l !== listener));
  }

  onStateChange(listener: (change: ProducerStateChange) => void): Unsubscribe {
    this.stateListeners = [...this.stateListeners, listener];
    return () => (this.stateListeners = this.stateListeners.filter((l) => l !== listener));
  }

  onTransactionEnd(listener: (end: TransactionEnd) => void): Unsubscribe {
    this.transactionListeners = [...this.transactionListeners, listener];
    return () => (this.transactionListeners = this.transactionListeners.filter((l) => l !== listener));
  }

  transactionEnded(end: TransactionEnd): void {
    for (const l of this.transactionListeners) this.call(l, end, 'transaction');
  }

  delivered(report: DeliveryReport): void {
    for (const l of this.deliveryListeners) this.call(l, report, 'delivery');
    if (deliveryChannel.hasSubscribers) deliveryChannel.publish({ clientId: this.clientId, report });
  }

  failed(failure: DeliveryFailure): void {
    for (const l of this.failureListeners) this.call(l, failure, 'delivery error');
    if (deliveryErrorChannel.hasSubscribers) deliveryErrorChannel.publish({ clientId: this.clientId, failure });
  }

  stateChanged(change: ProducerStateChange): void {
    for (const l of this.stateListeners) this.call(l, change, 'state');
    if (stateChannel.hasSubscribers) stateChannel.publish({ clientId: this.clientId, change });
  }

  /** A listener that throws is logged; it never reaches the producer or the other listeners. */
  private call<T>(listener: (value: T) => void, value: T, what: string): void {
    try {
      listener(value);
    } catch (e) {
      this.logger.error(`a ${what} listener threw; ignored`, { error: e as Error });
    }
  }
}
