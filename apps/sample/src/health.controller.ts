import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { KafkaProducerHealthIndicator } from '@app/nestjs-kafka-producer/health';

/** 200 with the producer's details while a broker connection is ready, 503 with the reasons when not. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly kafka: KafkaProducerHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.kafka.isHealthy('kafka')]);
  }
}
