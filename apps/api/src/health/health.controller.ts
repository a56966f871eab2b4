import { ApiProblems, AppError } from '@app/common';
import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ShutdownService } from './shutdown.service';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';

/** How long readiness waits for the database before calling it down. */
export const READINESS_DB_TIMEOUT_MS = 2000;

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly shutdown: ShutdownService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Liveness', description: 'The process answers. No I/O.' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    summary: 'Readiness',
    description: `200 when the database answers within ${READINESS_DB_TIMEOUT_MS} ms, else 503 problem+json with the failing checks.`,
  })
  @ApiOkResponse({
    schema: {
      example: { status: 'ok', info: { database: { status: 'up' } }, error: {}, details: {} },
    },
  })
  @ApiProblems('NOT_READY')
  ready(): Promise<HealthCheckResult> {
    if (this.shutdown.isDraining) {
      throw new AppError('NOT_READY', 'The service is shutting down.', {
        extensions: { checks: { shutdown: { status: 'down' } } },
      });
    }
    return this.health.check([
      () => this.db.pingCheck('database', { timeout: READINESS_DB_TIMEOUT_MS }),
    ]);
  }
}
