import { ApiProblems, AppError } from '@app/common';
import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../security/security.decorators';
import { LivenessDto, ReadinessDto } from './dto/health.dto';
import { ShutdownService } from './shutdown.service';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorResult,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { RedisConnection } from '@app/database';

/** How long readiness waits for the database (and Redis) before calling it down. */
export const READINESS_DB_TIMEOUT_MS = 2000;

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly shutdown: ShutdownService,
    private readonly redis: RedisConnection,
    private readonly indicator: HealthIndicatorService,
  ) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'Liveness', description: 'The process answers. No I/O.' })
  @ApiOkResponse({ type: LivenessDto })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @Public()
  // Terminus documents its own 503 body; ours is the NOT_READY problem, documented below.
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({
    summary: 'Readiness',
    description: `200 when the database (and Redis, when REDIS_URL is set) answer within ${READINESS_DB_TIMEOUT_MS} ms, else 503 problem+json with the failing checks; 503 as soon as shutdown starts.`,
  })
  @ApiOkResponse({ type: ReadinessDto })
  @ApiProblems('NOT_READY')
  ready(): Promise<HealthCheckResult> {
    if (this.shutdown.isDraining) {
      throw new AppError('NOT_READY', 'The service is shutting down.', {
        extensions: { checks: { shutdown: { status: 'down' } } },
      });
    }
    return this.health.check([
      () => this.db.pingCheck('database', { timeout: READINESS_DB_TIMEOUT_MS }),
      ...(this.redis.enabled ? [() => this.redisCheck()] : []),
    ]);
  }

  private async redisCheck(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('redis');
    try {
      await this.redis.ping(READINESS_DB_TIMEOUT_MS);
      return check.up();
    } catch (err) {
      return check.down({ message: (err as Error).message });
    }
  }
}
