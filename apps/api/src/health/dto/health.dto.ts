import { ApiProperty, ApiPropertyOptional, SchemaObject } from '@nestjs/swagger';

/** GET /health. */
export class LivenessDto {
  @ApiProperty({ enum: ['ok'], example: 'ok' })
  status!: 'ok';
}

/** `{ [check]: { status, ...details } }`, one member per dependency checked. */
const CHECK: SchemaObject = {
  type: 'object',
  properties: { status: { type: 'string', enum: ['up', 'down'] } },
  required: ['status'],
  additionalProperties: true,
};
const CHECKS = { type: 'object', additionalProperties: CHECK } as const;

/** GET /health/ready when every dependency answers (a failure is a 503 NOT_READY problem). */
export class ReadinessDto {
  @ApiProperty({ enum: ['ok'], example: 'ok' })
  status!: 'ok';
  @ApiPropertyOptional({
    ...CHECKS,
    example: { database: { status: 'up' } },
    description: 'The checks that are up: database, and redis when REDIS_URL is set',
  })
  info?: Record<string, { status: string }>;
  @ApiPropertyOptional({ ...CHECKS, example: {}, description: 'The checks that are down' })
  error?: Record<string, { status: string }>;
  @ApiProperty({ ...CHECKS, example: { database: { status: 'up' } }, description: 'Every check' })
  details!: Record<string, { status: string }>;
}
