import { Controller, Module } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { PrometheusController, PrometheusModule } from '@willsoto/nestjs-prometheus';
import './metrics';

/** GET /metrics (Prometheus text), kept out of the API documentation. */
@ApiExcludeController()
@Controller()
export class MetricsController extends PrometheusController {}

@Module({
  imports: [
    PrometheusModule.register({
      path: '/metrics',
      controller: MetricsController,
      // Collected once per process in metrics.ts: a second app in the same process (tests)
      // would otherwise register them twice and fail.
      defaultMetrics: { enabled: false },
    }),
  ],
})
export class MetricsModule {}
