import { Injectable } from '@nestjs/common';
import { InjectKafkaProducer, KafkaProducerService, Produce, type KafkaDeliveryReport } from '@app/nestjs-kafka-producer';
import type { Order, ProducePath } from './order';
import { SampleConfig } from './sample.config';

export interface OrderCancelled {
  type: 'order-cancelled';
  id: string;
  customer: string;
}

@Injectable()
export class OrdersService {
  constructor(
    @InjectKafkaProducer() private readonly producer: KafkaProducerService,
    private readonly config: SampleConfig,
  ) {}

  /**
   * The injected producer: the caller gets the JSON-safe delivery report (offset as a string). Orders
   * are keyed by customer, so one customer's orders stay in order on one partition.
   */
  place(order: Order): Promise<KafkaDeliveryReport> {
    return this.producer.send({
      topic: this.config.topic,
      key: order.customer,
      value: JSON.stringify(order),
      headers: [
        ['content-type', 'application/json'],
        ['x-path', 'injected-producer' satisfies ProducePath],
      ],
    });
  }

  /** @Produce on a service method: what it returns is the record (as JSON), sent before the caller gets it. */
  @Produce({
    topic: { config: 'SAMPLE_TOPIC' },
    key: (event: OrderCancelled) => event.customer,
    headers: { 'content-type': 'application/json', 'x-path': 'produce-service' satisfies ProducePath },
  })
  async cancel(id: string, customer: string): Promise<OrderCancelled> {
    return { type: 'order-cancelled', id, customer };
  }
}
