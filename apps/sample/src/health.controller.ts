import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { InjectKafkaProducerHealthIndicator, KafkaProducerHealthIndicator } from '@app/nestjs-kafka-producer/health';
import { SHIPPING_PRODUCER } from './shipping.service';

/**
 * 200 with both producers' details while each has a ready broker connection, 503 with the reasons when
 * not; a fenced shipping producer (another instance took its transactionalId) is down for good.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly kafka: KafkaProducerHealthIndicator,
    @InjectKafkaProducerHealthIndicator(SHIPPING_PRODUCER) private readonly shipping: KafkaProducerHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.kafka.isHealthy('kafka'), () => this.shipping.isHealthy('kafka-shipping')]);
  }
}
