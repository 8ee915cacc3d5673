import { BadRequestException, Body, Controller, HttpCode, HttpStatus, Param, Post, Query, Sse, type MessageEvent } from '@nestjs/common';
import { map, type Observable } from 'rxjs';
import { InjectKafkaProducer, KafkaProducerService, Produce, type KafkaDeliveryReport } from '@app/nestjs-kafka-producer';
import { OrderPipe, type Order, type ProducePath } from './order';
import { OrderEventsService } from './order-events.service';
import { OrdersService, type OrderCancelled } from './orders.service';
import { SampleConfig } from './sample.config';
import { ShippingService, type OrderShipped } from './shipping.service';

@Controller('orders')
export class OrdersController {
  constructor(
    private readonly orders: OrdersService,
    private readonly events: OrderEventsService,
    @InjectKafkaProducer() private readonly producer: KafkaProducerService,
    private readonly config: SampleConfig,
    private readonly shipping: ShippingService,
  ) {}

  /** Through the injected producer; answers with where the record landed. */
  @Post()
  place(@Body(OrderPipe) order: Order): Promise<KafkaDeliveryReport> {
    return this.orders.place(order);
  }

  /** @Produce on the route: the handler's answer is the record, and the answer leaves only once Kafka has it. */
  @Post('express')
  @HttpCode(HttpStatus.ACCEPTED)
  @Produce({
    topic: { config: 'SAMPLE_TOPIC' },
    key: (order: Order) => order.customer,
    headers: { 'content-type': 'application/json', 'x-path': 'produce-route' satisfies ProducePath },
  })
  async express(@Body(OrderPipe) order: Order): Promise<Order> {
    return order;
  }

  /** Through a service method carrying @Produce. */
  @Post(':id/cancel')
  cancel(@Param('id') id: string, @Body() body: { customer?: unknown }): Promise<OrderCancelled> {
    return this.orders.cancel(id, typeof body?.customer === 'string' ? body.customer : 'unknown');
  }

  /**
   * One Kafka transaction on the shipping producer: a shipment event and an invoice event, on two
   * topics, committed together. `?fail=midway` throws after the shipment was written, to show the abort.
   */
  @Post(':id/ship')
  ship(@Param('id') id: string, @Body() body: { customer?: unknown; amount?: unknown }, @Query('fail') fail?: string): Promise<OrderShipped> {
    if (typeof body?.customer !== 'string' || body.customer === '') throw new BadRequestException(['customer must be a non-empty string']);
    if (fail !== undefined && fail !== 'midway') throw new BadRequestException(["fail must be 'midway' when given"]);
    const amount = typeof body.amount === 'number' && Number.isFinite(body.amount) ? body.amount : 0;
    return this.shipping.ship(id, body.customer, amount, fail === 'midway');
  }

  /** Through ClientProxy.emit on the same producer. */
  @Post('events')
  @HttpCode(HttpStatus.ACCEPTED)
  orderPlaced(@Body(OrderPipe) order: Order): Promise<KafkaDeliveryReport> {
    return this.events.orderPlaced(order);
  }

  /**
   * Server-Sent Events: one `data:` line of JSON per record the broker acknowledged on the sample's
   * topic, whichever path sent it. Only what is acknowledged while the client is connected.
   */
  @Sse('deliveries')
  deliveries(): Observable<MessageEvent> {
    return this.producer.deliveriesFor(this.config.topic).pipe(map((report) => ({ data: report, id: `${report.partition}-${report.offset}` })));
  }
}
