import { UPLOAD_STATUSES } from '@app/database';
import { ROW_ERROR_CODES } from '@app/ingest';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CONFLICT_MODES } from '../../historical-data/dto/write-bars.query.dto';

/*
 * Response shapes of /api/v1/data/upload and /api/v1/uploads*. Documentation for OpenAPI (and so
 * for generated clients); the service builds plain objects of the same shape.
 */

/** `{ [code]: count }` for every rejected row, not only the listed ones. */
const ERROR_COUNTS = {
  type: 'object',
  additionalProperties: { type: 'integer' },
  example: { HIGH_BELOW_LOW: 1 },
  description: 'Every error counted by code (errors[] lists only the first 1000)',
} as const;

export class UploadRowErrorDto {
  @ApiProperty({ example: 4, description: 'Physical line where the record starts (header = 1)' })
  line!: number;
  @ApiProperty({ example: 'High', description: "The file's own header name" })
  column!: string;
  @ApiProperty({ example: '9' })
  value!: string;
  @ApiProperty({ example: 'HIGH_BELOW_LOW', enum: ROW_ERROR_CODES })
  code!: string;
  @ApiProperty({ example: 'high 9 is below low 12' })
  message!: string;
}

/** Counts shared by the synchronous report and an upload's recorded `report`. */
export class UploadCountsDto {
  @ApiProperty({ example: 3, description: 'Data records read (not the header, not blank lines)' })
  rows!: number;
  @ApiProperty({ example: 2 })
  inserted!: number;
  @ApiProperty({ example: 0 })
  updated!: number;
  @ApiProperty({ example: 0 })
  skipped!: number;
  @ApiProperty({ example: 1 })
  failed!: number;
  @ApiProperty({ type: [UploadRowErrorDto], description: 'The first 1000 errors' })
  errors!: UploadRowErrorDto[];
  @ApiProperty({ example: false, description: 'More errors than errors[] lists' })
  errorsTruncated!: boolean;
  @ApiProperty(ERROR_COUNTS)
  errorCounts!: Record<string, number>;
}

/** 200 from POST /api/v1/data/upload. */
export class UploadReportDto extends UploadCountsDto {
  @ApiProperty({ example: '0b8e6c1e-6d6c-4a4e-9d8e-2f1f0f3c2a11', format: 'uuid' })
  uploadId!: string;
  @ApiProperty({ enum: ['completed'], example: 'completed' })
  status!: 'completed';
  @ApiProperty({ example: false, description: 'Validated only, nothing written' })
  dryRun!: boolean;
  @ApiProperty({ example: 12 })
  durationMs!: number;
}

/** 202 from POST /api/v1/data/upload with `Prefer: respond-async`. */
export class UploadAcceptedDto {
  @ApiProperty({ example: '0b8e6c1e-6d6c-4a4e-9d8e-2f1f0f3c2a11', format: 'uuid' })
  uploadId!: string;
  @ApiProperty({ enum: ['queued'], example: 'queued' })
  status!: 'queued';
  @ApiProperty({
    example: '/api/v1/uploads/0b8e6c1e-6d6c-4a4e-9d8e-2f1f0f3c2a11',
    description: 'Poll it (also in Location)',
  })
  statusUrl!: string;
}

/** The options an upload ran with. */
export class UploadOptionsDto {
  @ApiProperty({ enum: CONFLICT_MODES, example: 'update' })
  onConflict!: string;
  @ApiProperty({ example: false })
  atomic!: boolean;
  @ApiProperty({ example: false })
  dryRun!: boolean;
  @ApiPropertyOptional({ example: 'AAPL', description: 'Given for files without a symbol column' })
  symbol?: string;
  @ApiPropertyOptional({ enum: ['MM/DD/YYYY', 'DD/MM/YYYY'], example: 'MM/DD/YYYY' })
  dateFormat?: string;
  @ApiPropertyOptional({ enum: ['.', ',', 'auto'], example: ',' })
  decimal?: string;
}

export class UploadProgressDto {
  @ApiProperty({ example: 1048576 })
  bytesRead!: number;
  @ApiProperty({ type: 'integer', nullable: true, example: 4194304, description: 'null: unknown' })
  bytesTotal!: number | null;
  @ApiProperty({ example: 25000 })
  rows!: number;
}

/** GET /api/v1/uploads/:id (and each element of the list, there without errors[]). */
export class UploadViewDto {
  @ApiProperty({ example: '0b8e6c1e-6d6c-4a4e-9d8e-2f1f0f3c2a11', format: 'uuid' })
  uploadId!: string;
  @ApiProperty({ enum: UPLOAD_STATUSES, example: 'completed' })
  status!: string;
  @ApiProperty({ enum: ['sync', 'async'], example: 'async' })
  mode!: string;
  @ApiProperty({ enum: ['csv', 'cli'], example: 'csv' })
  source!: string;
  @ApiProperty({ type: String, nullable: true, example: 'AAPL.csv' })
  fileName!: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    example: 'etl',
    description: 'API key name, cli:<user>@<host> for imports, null without API_KEYS',
  })
  client!: string | null;
  @ApiProperty({ type: String, nullable: true, example: '203.0.113.7' })
  clientIp!: string | null;
  @ApiProperty({ type: UploadOptionsDto })
  options!: UploadOptionsDto;
  @ApiProperty({ type: UploadProgressDto })
  progress!: UploadProgressDto;
  @ApiProperty({ type: UploadCountsDto })
  report!: UploadCountsDto;
  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'Why it failed or was interrupted',
  })
  message!: string | null;
  @ApiProperty({ example: '2024-06-01T12:00:00.000Z', format: 'date-time' })
  createdAt!: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' })
  startedAt!: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' })
  finishedAt!: string | null;
  @ApiProperty({ type: 'integer', nullable: true, example: 12 })
  durationMs!: number | null;
}

/**
 * Page-number pagination of the audit list. Its own class rather than the bar list's, which grows
 * cursor fields this list does not have.
 */
export class UploadPaginationDto {
  @ApiProperty({ example: 1 })
  page!: number;
  @ApiProperty({ example: 50 })
  limit!: number;
  @ApiProperty({ example: 120, description: 'Uploads recorded' })
  total!: number;
  @ApiProperty({ example: 3 })
  totalPages!: number;
}

/** GET /api/v1/uploads. */
export class UploadPageDto {
  @ApiProperty({ type: [UploadViewDto] })
  data!: UploadViewDto[];
  @ApiProperty({ type: UploadPaginationDto })
  pagination!: UploadPaginationDto;
}
