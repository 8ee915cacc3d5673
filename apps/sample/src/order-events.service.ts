import { Injectable } from '@nestjs/common';
import { lastValueFrom } from 'rxjs';
import type { KafkaDeliveryReport } from '@app/nestjs-kafka-producer';
import { InjectKafkaClient, KafkaProducerClientProxy, KafkaRecordBuilder } from '@app/nestjs-kafka-producer/microservices';
import type { Order, ProducePath } from './order';
import { SampleConfig } from './sample.config';

/** The Nest microservices idiom: a ClientProxy on the app's producer, the pattern being the topic. */
@Injectable()
export class OrderEventsService {
  constructor(
    @InjectKafkaClient() private readonly client: KafkaProducerClientProxy,
    private readonly config: SampleConfig,
  ) {}

  /**
   * emit() is hot (the record goes out even if nobody subscribes); awaiting it is what turns a failed
   * send into an HTTP error instead of a log line. The builder makes key and headers explicit, so the
   * event object is the value as a whole.
   */
  orderPlaced(order: Order): Promise<KafkaDeliveryReport> {
    const record = new KafkaRecordBuilder({ type: 'order-placed', order })
      .setKey(order.customer)
      .setHeaders([
        ['content-type', 'application/json'],
        ['x-path', 'client-proxy' satisfies ProducePath],
      ])
      .build();
    return lastValueFrom(this.client.emit<KafkaDeliveryReport>(this.config.topic, record));
  }
}
