import { Inject, Injectable } from '@nestjs/common';
import { KafkaProducer, type RecordMetadata } from '@app/kafka-producer';
import { KAFKA_PRODUCER } from './kafka.constants';

export interface Order {
  id: string;
  customer: string;
  amount: number;
}

@Injectable()
export class OrdersService {
  constructor(@Inject(KAFKA_PRODUCER) private readonly producer: KafkaProducer) {}

  /** Orders are keyed by customer, so one customer's orders stay in order on one partition. */
  place(topic: string, order: Order): Promise<RecordMetadata> {
    return this.producer.send({
      topic,
      key: order.customer,
      value: JSON.stringify(order),
      headers: [
        ['content-type', 'application/json'],
        ['order-id', order.id],
      ],
    });
  }
}
