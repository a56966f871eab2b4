import { ApiProblems, AppError, ProblemDto, ValidationError } from '@app/common';
import { CachedBySymbols, CachedItem, CachedList } from '../cache/cache.interceptor';
import { JsonIdempotencyInterceptor } from '../idempotency/idempotency.interceptor';
import { Read, Secured } from '../security/security.decorators';
import { Bar, BarExporter, CSV_HEADER } from '@app/database';
import type { WriteReport } from '@app/ingest';
import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  PipeTransform,
  Post,
  Put,
  Query,
  Req,
  Res,
  UseInterceptors,
} from '@nestjs/common';
import {
  ApiBody,
  ApiNoContentResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiTags,
  ApiHeader,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { BAR_CSV_HEADER } from './bar.csv';
import { AggregateService } from './aggregate.service';
import { AggregatePageDto } from './dto/aggregate.dto';
import { AggregateQuery, AggregateQueryDto } from './dto/aggregate.query.dto';
import { sendExport } from './bar-export.response';
import { ExportBarsQueryDto } from './dto/export-bars.query.dto';
import type { ExportBarsQuery } from './dto/export-bars.query.parser';
import { BarDto, BarPageDto, DeleteResultDto, WriteReportDto } from './dto/bar.dto';
import { BarInputDto, BarPatchDto } from './dto/bar-input.dto';
import { BarFilterQueryDto, ListBarsQueryDto } from './dto/list-bars.query.dto';
import { WriteBarsQueryDto } from './dto/write-bars.query.dto';
import { BarPage, HistoricalDataService, MAX_BARS_PER_REQUEST } from './historical-data.service';

/** Bar ids are positive integers; anything else is a 400 naming `id`. */
class BarIdPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    const id = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
    if (!(id >= 1)) {
      throw new ValidationError('Invalid value for: id.', [
        { field: 'id', message: 'id must be a positive whole number' },
      ]);
    }
    return id;
  }
}

function requireJson(req: Request): void {
  if (!req.is('application/json')) {
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      'Send the bars as Content-Type: application/json.',
    );
  }
}

@ApiTags('historical-data')
@ApiExtraModels(ProblemDto)
@Controller('api/v1/data')
export class HistoricalDataController {
  constructor(
    private readonly service: HistoricalDataService,
    private readonly aggregates: AggregateService,
    private readonly exporter: BarExporter,
  ) {}

  @Get()
  @Read()
  @CachedList()
  @ApiOperation({
    summary: 'List bars',
    description:
      'Bars filtered by symbol and an inclusive date range, ordered by date then symbol (`sort=desc` reverses both), one page at a time. ' +
      'JSON by default; `Accept: text/csv` gets the page as CSV; any other Accept is a 406.',
  })
  @ApiExtraModels(BarPageDto)
  @ApiOkResponse({
    description:
      'The page as JSON, or with `Accept: text/csv` its bars as CSV (the export columns; paging parameters as for JSON)',
    content: {
      'application/json': { schema: { $ref: getSchemaPath(BarPageDto) } },
      'text/csv': {
        schema: { type: 'string' },
        example: `${BAR_CSV_HEADER}AAPL,2024-01-02,187.15,188.44,183.89,185.64,184.73,82488700\n`,
      },
    },
    headers: { Vary: { description: 'Accept (and Accept-Encoding)', schema: { type: 'string' } } },
  })
  @ApiProblems('VALIDATION_ERROR', 'NOT_ACCEPTABLE')
  list(@Query() query: ListBarsQueryDto): Promise<BarPage> {
    return this.service.list(query);
  }

  // Declared before ':id' so that "aggregate" is not read as a bar id.
  @Get('aggregate')
  @Read()
  @CachedBySymbols()
  @ApiOperation({
    summary: 'Bars resampled to weeks, months, quarters or years',
    description:
      "One row per symbol and calendar period holding bars: open = the period's first bar's open, close = its last bar's close, high = max, low = min, volume = sum, bars = count. Weeks start on Monday; periodStart/periodEnd are the period's calendar bounds. Ordered by symbol, then period.",
  })
  @ApiOkResponse({ type: AggregatePageDto })
  @ApiProblems('VALIDATION_ERROR')
  aggregate(@Query() query: AggregateQueryDto): Promise<AggregatePageDto> {
    return this.aggregates.aggregate(query as unknown as AggregateQuery);
  }

  // Before ':id', which would otherwise take "export" for an id. Not cached (too big), no ETag.
  @Get('export')
  @Read()
  @ApiOperation({
    summary: 'Export bars as CSV or NDJSON (streamed)',
    description:
      'Every bar of the selection (no filter = every bar), ordered by symbol then date, streamed from a database cursor in constant memory; gzip when asked (Accept-Encoding). At most EXPORT_MAX_CONCURRENT run at once: one more gets 503 EXPORTS_BUSY with Retry-After. A transfer that fails part way is cut (no terminating chunk), never ended cleanly: see docs/API.md, "Export".',
  })
  @ApiProduces('text/csv', 'application/x-ndjson')
  @ApiOkResponse({
    description: 'The bars, as an attachment (Content-Disposition names the file).',
    content: {
      'text/csv': {
        schema: { type: 'string' },
        example: `${CSV_HEADER.join(',')}\nAAPL,2024-01-02,187.15,188.44,183.89,185.64,185.2,82488700\n`,
      },
      'application/x-ndjson': {
        schema: { type: 'string' },
        example:
          '{"id":1,"symbol":"AAPL","date":"2024-01-02","open":187.15,"high":188.44,"low":183.89,"close":185.64,"adjClose":185.2,"volume":82488700}\n',
      },
    },
  })
  @ApiProblems('VALIDATION_ERROR', 'EXPORTS_BUSY', 'DATABASE_UNAVAILABLE')
  export(
    @Query() query: ExportBarsQueryDto,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    // The DTO documents the parameters; its parseQuery hands over the parsed ExportBarsQuery.
    return sendExport(this.exporter, query as unknown as ExportBarsQuery, req, res);
  }

  @Get(':id')
  @Read()
  @CachedItem()
  @ApiOperation({ summary: 'Get one bar by id' })
  @ApiParam({ name: 'id', example: 1 })
  @ApiOkResponse({ type: BarDto })
  @ApiProblems('VALIDATION_ERROR', 'NOT_FOUND')
  get(@Param('id', BarIdPipe) id: number): Promise<Bar> {
    return this.service.get(id);
  }

  @Post()
  @Secured()
  @UseInterceptors(JsonIdempotencyInterceptor)
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Makes a retry safe: the same key with the same request replays the first response (Idempotent-Replayed: true) for 24 h.',
  })
  @ApiProblems('IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_IN_PROGRESS')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Write bars (bulk upsert)',
    description: `A JSON array of up to ${MAX_BARS_PER_REQUEST} bars, validated by the bar rule set. Valid rows are written in one transaction; invalid ones are reported by index (or, with atomic=true, refuse the whole request). A (symbol, date) repeated within the array is rejected on its later element with DUPLICATE_IN_FILE.`,
  })
  @ApiBody({ type: [BarInputDto] })
  @ApiOkResponse({ type: WriteReportDto, description: 'At least one row was written (or skipped)' })
  @ApiProblems(
    'VALIDATION_ERROR',
    'INVALID_JSON',
    'PAYLOAD_TOO_LARGE',
    'UNSUPPORTED_MEDIA_TYPE',
    'ROWS_REJECTED',
  )
  create(
    @Req() req: Request,
    @Query() query: WriteBarsQueryDto,
    @Body() body: unknown,
  ): Promise<WriteReport> {
    requireJson(req);
    return this.service.createMany(body, query);
  }

  @Put(':id')
  @Secured()
  @ApiOperation({ summary: 'Replace one bar', description: 'Every field is required, as in POST.' })
  @ApiParam({ name: 'id', example: 1 })
  @ApiBody({ type: BarInputDto })
  @ApiOkResponse({ type: BarDto })
  @ApiProblems('VALIDATION_ERROR', 'NOT_FOUND', 'ALREADY_EXISTS', 'UNSUPPORTED_MEDIA_TYPE')
  replace(
    @Req() req: Request,
    @Param('id', BarIdPipe) id: number,
    @Body() body: unknown,
  ): Promise<Bar> {
    requireJson(req);
    return this.service.replace(id, body);
  }

  @Patch(':id')
  @Secured()
  @ApiOperation({
    summary: 'Change some fields of one bar',
    description: 'The merged bar must pass the bar rule set. Send `adjClose: null` to clear it.',
  })
  @ApiParam({ name: 'id', example: 1 })
  @ApiBody({ type: BarPatchDto })
  @ApiOkResponse({ type: BarDto })
  @ApiProblems('VALIDATION_ERROR', 'NOT_FOUND', 'ALREADY_EXISTS', 'UNSUPPORTED_MEDIA_TYPE')
  patch(
    @Req() req: Request,
    @Param('id', BarIdPipe) id: number,
    @Body() body: unknown,
  ): Promise<Bar> {
    requireJson(req);
    return this.service.patch(id, body);
  }

  @Delete(':id')
  @Secured()
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete one bar' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiParam({ name: 'id', example: 1 })
  @ApiProblems('VALIDATION_ERROR', 'NOT_FOUND')
  remove(@Param('id', BarIdPipe) id: number): Promise<void> {
    return this.service.remove(id);
  }

  @Delete()
  @Secured('admin')
  @ApiOperation({
    summary: 'Delete bars matching a filter',
    description: 'At least one of symbol, start_date, end_date is required.',
  })
  @ApiOkResponse({ type: DeleteResultDto })
  @ApiProblems('VALIDATION_ERROR')
  removeMatching(@Query() query: BarFilterQueryDto): Promise<{ deleted: number }> {
    return this.service.removeMatching(query);
  }
}
