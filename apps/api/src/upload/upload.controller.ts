import { ApiProblems } from '@app/common';
import {
  Controller,
  Get,
  Header,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  Res,
  StreamableFile,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiConsumes,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Readable } from 'node:stream';
import { ListUploadsQueryDto, UploadQueryDto } from './dto/upload.query.dto';
import { UploadAccepted, UploadReport, UploadService, UploadView } from './upload.service';

const prefersAsync = (req: Request): boolean =>
  /(^|[\s,;])respond-async([\s,;]|$)/i.test(String(req.headers.prefer ?? ''));

@ApiTags('uploads')
@Controller()
export class UploadController {
  constructor(private readonly service: UploadService) {}

  @Post('api/v1/data/upload')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Upload a CSV file of bars',
    description:
      'Multipart field `file`, or a raw `text/csv` body. Streamed: parsed, validated and written in batches as it arrives. ' +
      'Headers are matched case-insensitively (BOM and <> stripped; ticker→symbol, timestamp/time→date, vol→volume, adj close→adj_close); ' +
      'comma, semicolon and tab are detected. `line` in errors is the physical line where the record starts (header = 1). ' +
      'With `Prefer: respond-async` or `async=true`: 202 and a status URL.',
  })
  @ApiConsumes('multipart/form-data', 'text/csv')
  @ApiBody({
    schema: {
      oneOf: [
        {
          type: 'object',
          properties: { file: { type: 'string', format: 'binary' } },
          required: ['file'],
        },
        {
          type: 'string',
          example:
            'symbol,date,open,high,low,close,volume\nAAPL,2024-01-02,187.15,188.44,183.89,185.64,82488700\n',
        },
      ],
    },
  })
  @ApiHeader({
    name: 'Prefer',
    required: false,
    description: '`respond-async` to process in the background',
  })
  @ApiOkResponse({
    description: 'The report',
    schema: {
      example: {
        uploadId: '0b8e6c1e-6d6c-4a4e-9d8e-2f1f0f3c2a11',
        status: 'completed',
        rows: 3,
        inserted: 2,
        updated: 0,
        skipped: 0,
        failed: 1,
        errors: [
          {
            line: 4,
            column: 'High',
            value: '9',
            code: 'HIGH_BELOW_LOW',
            message: 'high 9 is below low 12',
          },
        ],
        errorsTruncated: false,
        errorCounts: { HIGH_BELOW_LOW: 1 },
        dryRun: false,
        durationMs: 12,
      },
    },
  })
  @ApiAcceptedResponse({
    description: 'Queued (async)',
    schema: {
      example: {
        uploadId: '0b8e6c1e-6d6c-4a4e-9d8e-2f1f0f3c2a11',
        status: 'queued',
        statusUrl: '/api/v1/uploads/0b8e6c1e-6d6c-4a4e-9d8e-2f1f0f3c2a11',
      },
    },
  })
  @ApiProblems(
    'VALIDATION_ERROR',
    'PAYLOAD_TOO_LARGE',
    'UNSUPPORTED_MEDIA_TYPE',
    'INVALID_CSV_HEADER',
    'EMPTY_FILE',
    'ROWS_REJECTED',
  )
  async upload(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Query() query: UploadQueryDto,
  ): Promise<UploadReport | UploadAccepted> {
    const result = await this.service.upload(req, query, prefersAsync(req));
    if (result.status === 'queued') {
      res.status(202).location(result.statusUrl);
      res.setHeader('Preference-Applied', 'respond-async');
    }
    return result;
  }

  @Get('api/v1/uploads')
  @ApiOperation({
    summary: 'List uploads (audit)',
    description: 'Newest first: who, when, file, size, counts, status.',
  })
  @ApiProblems('VALIDATION_ERROR')
  list(@Query() query: ListUploadsQueryDto) {
    return this.service.list(query);
  }

  @Get('api/v1/uploads/:id')
  @ApiOperation({ summary: 'Status, progress and report of one upload' })
  @ApiParam({ name: 'id', example: '0b8e6c1e-6d6c-4a4e-9d8e-2f1f0f3c2a11' })
  @ApiProblems('NOT_FOUND')
  get(@Param('id') id: string): Promise<UploadView> {
    return this.service.get(id);
  }

  @Get('api/v1/uploads/:id/errors')
  @Header('Content-Type', 'text/csv; charset=utf-8')
  @ApiOperation({
    summary: 'The rejected rows of an upload, as CSV',
    description:
      'Columns: line, code, column, value, message, record (the row as it was in the file).',
  })
  @ApiParam({ name: 'id', example: '0b8e6c1e-6d6c-4a4e-9d8e-2f1f0f3c2a11' })
  @ApiProduces('text/csv')
  @ApiProblems('NOT_FOUND')
  async errors(
    @Param('id') id: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<StreamableFile> {
    const body = await this.service.rejectedRows(id);
    res.setHeader('Content-Disposition', `attachment; filename="upload-${id}-rejected.csv"`);
    return new StreamableFile(typeof body === 'string' ? Readable.from([body]) : body);
  }
}
