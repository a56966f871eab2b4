import { AppError, NotFoundError, ProblemFieldError, ValidationError } from '@app/common';
import { Bar, BarRecord, HistoricalDataRepository, isUniqueViolation } from '@app/database';
import { BAR_FIELDS, BarWriter, createBarValidator, RawBar, WriteReport } from '@app/ingest';
import { Injectable } from '@nestjs/common';
import { BarFilterQueryDto } from './dto/list-bars.query.dto';
import type { ListBarsQuery } from './dto/list-bars.query.parser';
import { CursorScope, decodeCursor, encodeCursor } from './bar-cursor';
import { WriteBarsQueryDto } from './dto/write-bars.query.dto';

export const MAX_BARS_PER_REQUEST = 10_000;

export interface BarPage {
  data: Bar[];
  pagination: {
    page: number;
    limit: number;
    total: number;
    totalPages: number;
    nextCursor: string | null;
  };
}

/** Reads a JSON element into the rule set's input shape; `adj_close` is accepted as an alias. */
function toRawBar(element: unknown): RawBar | undefined {
  if (typeof element !== 'object' || element === null || Array.isArray(element)) return undefined;
  const o = element as Record<string, unknown>;
  return {
    symbol: o.symbol,
    date: o.date,
    open: o.open,
    high: o.high,
    low: o.low,
    close: o.close,
    adjClose: o.adjClose !== undefined ? o.adjClose : o.adj_close,
    volume: o.volume,
  };
}

/**
 * The members a bar body may have. `id` is what GET answers with, accepted so that a bar read can
 * be sent back as it is: ignored by POST (the store assigns ids), checked against the path by
 * PUT and PATCH.
 */
const BODY_FIELDS = new Set([...BAR_FIELDS, 'adj_close', 'id']);
const BODY_FIELD_LIST = 'symbol, date, open, high, low, close, adjClose (or adj_close), volume';

/** At most this many entries in a 400's errors[] (a 10 000-bar array may repeat one mistake). */
const MAX_LISTED_ERRORS = 1000;

/** Members of a body element that are no bar field, each as a problem entry (none: empty). */
function unknownFields(o: object, index?: number): ProblemFieldError[] {
  const found: ProblemFieldError[] = [];
  for (const field in o) {
    if (!BODY_FIELDS.has(field)) {
      found.push({
        ...(index === undefined ? {} : { index }),
        field,
        message: `${field} is not a bar field (${BODY_FIELD_LIST})`,
      });
    }
  }
  return found;
}

/** PUT/PATCH: no unknown member, and an `id` in the body must be the one in the path. */
function checkSingleBody(body: unknown, id: number): void {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
  const errors = unknownFields(body);
  const bodyId = (body as { id?: unknown }).id;
  if (bodyId !== undefined && bodyId !== id) {
    errors.push({
      field: 'id',
      message: `id in the body (${JSON.stringify(bodyId)}) is not ${id}`,
    });
  }
  if (errors.length) {
    throw new ValidationError(`Invalid bar: ${errors.map((e) => e.field).join(', ')}.`, errors);
  }
}

function notAnObject(): ValidationError {
  return new ValidationError('The body must be a bar object.', [
    { field: 'body', message: 'expected a JSON object' },
  ]);
}

function toRecord(bar: Bar): BarRecord {
  return { ...bar, adjClose: bar.adjClose ?? null };
}

@Injectable()
export class HistoricalDataService {
  constructor(
    private readonly repository: HistoricalDataRepository,
    private readonly writer: BarWriter,
  ) {}

  /**
   * A page of bars. Without a cursor: page `page` by OFFSET, with the count of the whole filter.
   * With one: the rows after the cursor's position by keyset (no OFFSET, no COUNT; `total` is the
   * first page's count, carried in the cursor). Every page but the last carries `nextCursor`.
   */
  async list(query: ListBarsQuery): Promise<BarPage> {
    const filter = {
      symbol: query.symbol,
      symbols: query.symbols,
      startDate: query.start_date,
      endDate: query.end_date,
    };
    const scope: CursorScope = {
      symbols: query.symbols ?? (query.symbol ? [query.symbol] : []),
      startDate: query.start_date,
      endDate: query.end_date,
      sort: query.sort,
    };
    let page: number;
    let total: number;
    let found: { rows: Bar[]; more: boolean };
    if (query.cursor !== undefined) {
      const at = decodeCursor(query.cursor, scope);
      found = await this.repository.findPage({
        ...filter,
        sort: query.sort,
        limit: query.limit,
        after: at,
        count: false,
      });
      page = at.page + 1;
      total = at.total;
    } else {
      const counted = await this.repository.findPage({
        ...filter,
        sort: query.sort,
        limit: query.limit,
        offset: (query.page - 1) * query.limit,
        count: true,
      });
      found = counted;
      page = query.page;
      total = counted.total ?? 0;
    }
    const last = found.rows[found.rows.length - 1];
    const nextCursor =
      found.more && last
        ? encodeCursor({ date: last.date, symbol: last.symbol, page, total }, scope)
        : null;
    return {
      data: found.rows,
      pagination: {
        page,
        limit: query.limit,
        total,
        totalPages: Math.ceil(total / query.limit),
        nextCursor,
      },
    };
  }

  async get(id: number): Promise<Bar> {
    const bar = await this.repository.findById(id);
    if (!bar) throw new NotFoundError(`No bar with id ${id}.`);
    return bar;
  }

  /** Bulk write of a JSON array. Returns the report, or throws 422 when nothing could be written. */
  async createMany(body: unknown, query: WriteBarsQueryDto): Promise<WriteReport> {
    if (!Array.isArray(body)) {
      throw new ValidationError('The body must be a JSON array of bars.', [
        { field: 'body', message: 'expected a JSON array of bar objects' },
      ]);
    }
    if (body.length > MAX_BARS_PER_REQUEST) {
      throw new AppError(
        'PAYLOAD_TOO_LARGE',
        `At most ${MAX_BARS_PER_REQUEST} bars per request (got ${body.length}); split the array or use /api/v1/data/upload.`,
      );
    }
    if (body.length === 0) {
      throw new ValidationError('The array holds no bars.', [
        { field: 'body', message: 'expected at least one bar' },
      ]);
    }
    // Malformed elements (not objects, or with members no bar has) refuse the whole request:
    // a misspelt or unsupported field must not be dropped silently (`vwap`, `adjclose`).
    const malformed: ProblemFieldError[] = [];
    const raws = body.map((element: unknown, index) => {
      const raw = toRawBar(element);
      if (!raw) {
        malformed.push({
          index,
          field: `[${index}]`,
          message: 'each element must be a bar object',
        });
      } else {
        for (const field in element as object) {
          if (!BODY_FIELDS.has(field)) {
            malformed.push(...unknownFields(element as object, index));
            break;
          }
        }
      }
      return raw ?? {};
    });
    if (malformed.length) {
      const elements = new Set(malformed.map((e) => e.index)).size;
      throw new ValidationError(
        `${elements} of ${body.length} elements are not valid bar objects; nothing was written.` +
          (malformed.length > MAX_LISTED_ERRORS
            ? ` The first ${MAX_LISTED_ERRORS} of ${malformed.length} problems are listed.`
            : ''),
        malformed.slice(0, MAX_LISTED_ERRORS),
      );
    }

    const report = await this.writer.write(raws, {
      onConflict: query.onConflict,
      atomic: query.atomic,
    });
    const written = report.inserted + report.updated + report.skipped;
    if (report.failed > 0 && (query.atomic || written === 0)) {
      const { errors, ...counts } = report;
      throw new AppError(
        'ROWS_REJECTED',
        query.atomic
          ? `${report.failed} of ${report.received} bars are invalid; atomic=true, so nothing was written.`
          : `None of the ${report.received} bars could be written.`,
        { errors, extensions: counts },
      );
    }
    return report;
  }

  async replace(id: number, body: unknown): Promise<Bar> {
    checkSingleBody(body, id);
    return this.save(id, () => this.validateOne(toRawBar(body)));
  }

  async patch(id: number, body: unknown): Promise<Bar> {
    const patch = toRawBar(body);
    if (!patch) throw notAnObject();
    checkSingleBody(body, id);
    return this.save(id, (current) => {
      const merged: RawBar = { ...toRecord(current) };
      for (const field of BAR_FIELDS) if (patch[field] !== undefined) merged[field] = patch[field];
      return this.validateOne(merged);
    });
  }

  async remove(id: number): Promise<void> {
    const deleted = await this.repository.transaction((tx) => this.repository.deleteById(tx, id));
    if (!deleted) throw new NotFoundError(`No bar with id ${id}.`);
  }

  async removeMatching(query: BarFilterQueryDto): Promise<{ deleted: number }> {
    if (!query.symbol && !query.start_date && !query.end_date) {
      throw new ValidationError('Refusing to delete every bar: give symbol and/or a date range.', [
        { field: 'symbol', message: 'at least one of symbol, start_date, end_date is required' },
      ]);
    }
    const deleted = await this.repository.transaction((tx) =>
      this.repository.deleteMatching(tx, {
        symbol: query.symbol,
        startDate: query.start_date,
        endDate: query.end_date,
      }),
    );
    return { deleted };
  }

  private async save(id: number, build: (current: Bar) => BarRecord): Promise<Bar> {
    try {
      return await this.repository.transaction(async (tx) => {
        const current = await this.repository.findById(id, tx);
        if (!current) throw new NotFoundError(`No bar with id ${id}.`);
        await this.repository.replace(tx, id, build(current), current.symbol);
        return (await this.repository.findById(id, tx))!;
      });
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new AppError('ALREADY_EXISTS', 'Another bar already has this symbol and date.');
      }
      throw err;
    }
  }

  private validateOne(raw: RawBar | undefined): BarRecord {
    if (!raw) throw notAnObject();
    const result = createBarValidator()(raw);
    if (!result.ok) {
      throw new ValidationError(
        `Invalid bar: ${result.errors.map((e) => e.field).join(', ')}.`,
        result.errors,
      );
    }
    return result.bar;
  }
}
