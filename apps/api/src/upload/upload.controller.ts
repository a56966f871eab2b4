import { ApiProblems, UploadBudget } from '@app/common';
import { UploadRateLimit } from '../security/rate-limit.guard';
import { Read, Secured } from '../security/security.decorators';
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
  UseInterceptors,
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
import { UploadAcceptedDto, UploadPageDto, UploadReportDto, UploadViewDto } from './dto/upload.dto';
import { UploadAccepted, UploadReport, UploadService, UploadView } from './upload.service';
import { UploadIdempotencyInterceptor } from './upload-idempotency.interceptor';

@ApiTags('uploads')
@Controller()
export class UploadController {
  constructor(private readonly service: UploadService) {}

  @Post('api/v1/data/upload')
  @UseInterceptors(UploadIdempotencyInterceptor)
  @UploadBudget()
  @Secured()
  @UploadRateLimit()
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
  @ApiOkResponse({ type: UploadReportDto, description: 'The report' })
  @ApiAcceptedResponse({
    type: UploadAcceptedDto,
    description: 'Queued (async); `Location` is the status URL',
    headers: { Location: { description: 'The status URL', schema: { type: 'string' } } },
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Makes a retry safe: the same key with the same file and parameters replays the first response (Idempotent-Replayed: true) for 24 h.',
  })
  @ApiProblems(
    'IDEMPOTENCY_KEY_REUSED',
    'IDEMPOTENCY_IN_PROGRESS',
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
    return this.accept(res, await this.service.upload(req, query));
  }

  private accept(res: Response, result: UploadReport | UploadAccepted) {
    if (result.status === 'queued') {
      res.status(202).location(result.statusUrl);
      res.setHeader('Preference-Applied', 'respond-async');
    }
    return result;
  }

  @Get('api/v1/uploads')
  @Secured('admin')
  @ApiOperation({
    summary: 'List uploads (audit)',
    description: 'Newest first: who, when, file, size, counts, status.',
  })
  @ApiOkResponse({ type: UploadPageDto })
  @ApiProblems('VALIDATION_ERROR')
  list(@Query() query: ListUploadsQueryDto) {
    return this.service.list(query);
  }

  @Get('api/v1/uploads/:id')
  @Read()
  @ApiOperation({ summary: 'Status, progress and report of one upload' })
  @ApiParam({ name: 'id', example: '0b8e6c1e-6d6c-4a4e-9d8e-2f1f0f3c2a11' })
  @ApiOkResponse({ type: UploadViewDto })
  @ApiProblems('NOT_FOUND')
  get(@Param('id') id: string): Promise<UploadView> {
    return this.service.get(id);
  }

  @Get('api/v1/uploads/:id/errors')
  @Read()
  @Header('Content-Type', 'text/csv; charset=utf-8')
  @ApiOperation({
    summary: 'The rejected rows of an upload, as CSV',
    description:
      'Columns: line, code, column, value, message, record (the row as it was in the file).',
  })
  @ApiParam({ name: 'id', example: '0b8e6c1e-6d6c-4a4e-9d8e-2f1f0f3c2a11' })
  @ApiProduces('text/csv')
  @ApiOkResponse({
    description: 'The rejected rows (a header only when there were none)',
    content: {
      'text/csv': {
        schema: { type: 'string' },
        example:
          'line,code,column,value,message,record\n4,HIGH_BELOW_LOW,High,9,high 9 is below low 12,"AAPL,2024-01-03,10,9,12,10,100"\n',
      },
    },
    headers: {
      'Content-Disposition': {
        description: 'attachment; filename="upload-<id>-rejected.csv"',
        schema: { type: 'string' },
      },
    },
  })
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
