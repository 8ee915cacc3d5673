import { Injectable, InternalServerErrorException } from '@nestjs/common';
import { InjectKafkaProducer, KafkaProducerService, Produce, Transactional, type KafkaDeliveryReport } from '@app/nestjs-kafka-producer';
import { SampleConfig } from './sample.config';

/** The name of the sample's transactional producer (KafkaProducerModule.forRoot({ name: SHIPPING_PRODUCER, transactionalId })). */
export const SHIPPING_PRODUCER = 'shipping';

export interface Invoice {
  type: 'invoice-issued';
  orderId: string;
  customer: string;
  amount: number;
}

export interface OrderShipped {
  id: string;
  customer: string;
  /** Where the shipment event was written (visible to read_committed consumers once committed). */
  shipment: KafkaDeliveryReport;
  invoice: Invoice;
}

/** The failure `?fail=midway` simulates after the first event was written: the transaction aborts. */
export class ShipmentInterruptedException extends InternalServerErrorException {
  constructor(id: string) {
    super(`shipping ${id} failed after the shipment event was written (simulated by ?fail=midway); the transaction was aborted, so read_committed consumers see neither event`);
  }
}

@Injectable()
export class InvoicesService {
  /** @Produce on the transactional producer: called inside ShippingService.ship, its record joins that transaction. */
  @Produce({
    producer: SHIPPING_PRODUCER,
    topic: { config: 'SAMPLE_INVOICES_TOPIC' },
    key: (invoice: Invoice) => invoice.orderId,
    headers: { 'content-type': 'application/json' },
  })
  async issue(orderId: string, customer: string, amount: number): Promise<Invoice> {
    return { type: 'invoice-issued', orderId, customer, amount };
  }
}

@Injectable()
export class ShippingService {
  constructor(
    @InjectKafkaProducer(SHIPPING_PRODUCER) private readonly shipping: KafkaProducerService,
    private readonly invoices: InvoicesService,
    private readonly config: SampleConfig,
  ) {}

  /**
   * Two events on two topics, all or nothing: the shipment (through the injected producer) and the
   * invoice (through a @Produce method) commit together when this resolves. A throw in between aborts
   * both: the shipment was written, yet read_committed consumers never see it. Concurrent requests
   * wait for each other here (one transaction at a time per producer), so nothing of one request
   * lands in another's transaction.
   */
  @Transactional(SHIPPING_PRODUCER)
  async ship(id: string, customer: string, amount: number, failMidway = false): Promise<OrderShipped> {
    const shipment = await this.shipping.send({
      topic: this.config.shipmentsTopic,
      key: id,
      value: JSON.stringify({ type: 'order-shipped', id, customer }),
      headers: [['content-type', 'application/json']],
    });
    if (failMidway) throw new ShipmentInterruptedException(id);
    const invoice = await this.invoices.issue(id, customer, amount);
    return { id, customer, shipment, invoice };
  }
}
