import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiResponse } from '@nestjs/swagger';
import { ERROR_STATUS, ErrorCode, problemTypeFor, titleFor } from './error-codes';

export class ProblemFieldErrorDto {
  @ApiPropertyOptional({
    example: 3,
    description: 'Position of the element in a request array (bulk writes, 0-based)',
  })
  index?: number;
  @ApiPropertyOptional({ example: 'limit' })
  field?: string;
  @ApiPropertyOptional({ example: 'INVALID_DATE' })
  code?: string;
  @ApiProperty({ example: 'limit must be a whole number between 1 and 1000' })
  message!: string;
}

/** RFC 9457 problem details, as every error leaves the service. */
export class ProblemDto {
  @ApiProperty({ example: 'urn:problem:historical-data:validation-error' })
  type!: string;
  @ApiProperty({ example: 'Invalid request parameters' })
  title!: string;
  @ApiProperty({ example: 400 })
  status!: number;
  @ApiProperty({ example: 'Invalid value for: limit.' })
  detail!: string;
  @ApiProperty({ example: '/api/v1/data?limit=0' })
  instance!: string;
  @ApiProperty({ example: 'VALIDATION_ERROR', enum: Object.keys(ERROR_STATUS) })
  code!: string;
  @ApiProperty({ example: '3f0c1a52-8c1e-4a53-9d1e-1f7b8f0f2f7d' })
  requestId!: string;
  @ApiPropertyOptional({ type: [ProblemFieldErrorDto] })
  errors?: ProblemFieldErrorDto[];
}

/** Documents problem+json responses for the given codes, one example per code. */
export function ApiProblems(...codes: ErrorCode[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return applyDecorators(
    ...[...byStatus].map(([status, group]) =>
      ApiResponse({
        status,
        description: group.map((c) => `${c}: ${titleFor(c)}`).join('; '),
        content: {
          'application/problem+json': {
            schema: { $ref: '#/components/schemas/ProblemDto' },
            examples: Object.fromEntries(
              group.map((code) => [
                code,
                {
                  value: {
                    type: problemTypeFor(code),
                    title: titleFor(code),
                    status,
                    detail: titleFor(code),
                    instance: '/api/v1/data',
                    code,
                    requestId: '3f0c1a52-8c1e-4a53-9d1e-1f7b8f0f2f7d',
                  },
                },
              ]),
            ),
          },
        },
      }),
    ),
  );
}
