import { APP_CONFIG, AppConfig } from '@app/config';
import { AppError, detachedFromRequest, NotFoundError } from '@app/common';
import { HistoricalDataRepository, UploadRecord, UploadsRepository } from '@app/database';
import {
  CsvFormatError,
  CsvHeaderError,
  CsvIngestOptions,
  CsvIngestReport,
  CsvIngestor,
  IngestInterruptedError,
} from '@app/ingest';
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import type { Request } from 'express';
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, ReadStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { ListUploadsQueryDto, UploadQueryDto } from './dto/upload.query.dto';
import { RejectedRowsFile, REJECTED_HEADER } from './rejected-rows.file';
import { ByteLimit, lingeringCloseAfterResponse, openUploadSource } from './upload-source';
import { identityOf } from '../security/client-identity';

/** The audit's "who": the API key's name; none when the service runs without keys. */
const keyNameOf = (req: Request): string | undefined => {
  const identity = identityOf(req);
  return identity.kind === 'key' ? identity.name : undefined;
};

export interface UploadReport extends CsvIngestReport {
  uploadId: string;
  status: 'completed';
  dryRun: boolean;
  durationMs: number;
}

export interface UploadAccepted {
  uploadId: string;
  status: 'queued';
  statusUrl: string;
}

export interface UploadView {
  uploadId: string;
  status: UploadRecord['status'];
  mode: UploadRecord['mode'];
  source: UploadRecord['source'];
  fileName: string | null;
  client: string | null;
  clientIp: string | null;
  options: Record<string, unknown>;
  progress: { bytesRead: number; bytesTotal: number | null; rows: number };
  report: Omit<CsvIngestReport, 'errorCounts'> & { errorCounts: Record<string, number> };
  message: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
}

export function toView(u: UploadRecord, withErrors = true): UploadView {
  return {
    uploadId: u.id,
    status: u.status,
    mode: u.mode,
    source: u.source,
    fileName: u.fileName,
    client: u.client,
    clientIp: u.clientIp,
    options: u.options,
    progress: { bytesRead: u.bytesRead, bytesTotal: u.bytesTotal, rows: u.rows },
    report: {
      rows: u.rows,
      inserted: u.inserted,
      updated: u.updated,
      skipped: u.skipped,
      failed: u.failed,
      errors: withErrors ? u.errors : [],
      errorsTruncated: u.errorsTruncated || (!withErrors && u.errors.length > 0),
      errorCounts: u.errorCounts,
    },
    message: u.message,
    createdAt: u.createdAt,
    startedAt: u.startedAt,
    finishedAt: u.finishedAt,
    durationMs: u.durationMs,
  };
}

/** Uploads: sync (stream → report) and async (spool → 202 → background), all recorded in `uploads`. */
/** The service is stopping: background uploads end here, recorded as interrupted. */
class ShutdownInterruption extends Error {
  constructor() {
    super(
      'the service shut down before this upload finished; the batches counted here were committed',
    );
  }
}

@Injectable()
export class UploadService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(UploadService.name);
  /** Background uploads in progress, each with the way to stop it. */
  private readonly running = new Map<Promise<void>, () => void>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly ingestor: CsvIngestor,
    private readonly uploads: UploadsRepository,
    private readonly bars: HistoricalDataRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await mkdir(this.config.http.uploadDir, { recursive: true });
    const interrupted = await this.uploads.interruptUnfinished(
      'the service stopped before this upload finished; upload the file again',
    );
    if (interrupted)
      this.logger.warn(
        `marked ${interrupted} unfinished upload(s) from a previous run as interrupted`,
      );
  }

  async upload(
    req: Request,
    query: UploadQueryDto,
    preferAsync: boolean,
    /** Sees the file's byte stream before it is read (to hash it for idempotency). */
    onSource?: (stream: ByteLimit) => void,
  ): Promise<UploadReport | UploadAccepted> {
    const limit = this.config.http.uploadMaxBytes;
    try {
      return await this.receive(req, query, preferAsync, onSource);
    } catch (err) {
      // Answered before the client finished sending: let it finish, then hang up.
      if (!req.complete) lingeringCloseAfterResponse(req, limit);
      throw err;
    }
  }

  private async receive(
    req: Request,
    query: UploadQueryDto,
    preferAsync: boolean,
    onSource?: (stream: ByteLimit) => void,
  ): Promise<UploadReport | UploadAccepted> {
    const source = await openUploadSource(req, this.config.http.uploadMaxBytes);
    onSource?.(source.stream);
    const id = randomUUID();
    const options = {
      onConflict: query.onConflict,
      atomic: query.atomic,
      dryRun: query.dryRun,
      symbol: query.symbol,
      dateFormat: query.dateFormat,
      decimal: query.decimal,
    };
    const isAsync = query.async || preferAsync;
    const record = {
      id,
      mode: isAsync ? ('async' as const) : ('sync' as const),
      source: 'csv' as const,
      fileName: source.fileName,
      client: keyNameOf(req),
      clientIp: req.ip,
      options,
    };
    if (!isAsync) {
      await this.uploads.create({
        ...record,
        status: 'processing',
        bytesTotal: source.declaredBytes,
      });
      return this.runSync(id, source.stream, options);
    }

    // Async: the whole file goes to disk first (still streaming, still limited), then 202.
    const spool = this.spoolPath(id);
    const started = performance.now();
    try {
      await pipeline(source.stream, createWriteStream(spool));
    } catch (err) {
      await rm(spool, { force: true });
      await this.uploads.create({ ...record, status: 'failed', bytesTotal: source.declaredBytes });
      await this.recordFailure(id, err, source.stream.bytes, started);
      throw await this.toHttpError(id, err);
    }
    await this.uploads.create({ ...record, status: 'queued', bytesTotal: source.stream.bytes });
    const spoolStream = createReadStream(spool);
    // The job outlives the request: it runs outside the request's time budget.
    const job = detachedFromRequest(() =>
      this.runAsync(id, spoolStream, source.stream.bytes, options),
    ).finally(() => this.running.delete(job));
    this.running.set(job, () => spoolStream.destroy(new ShutdownInterruption()));
    return { uploadId: id, status: 'queued', statusUrl: statusUrlOf(id) };
  }

  /** For an answer given before the body was read: the client may finish sending, then the connection closes. */
  hangUpAfterAnswer(req: Request): void {
    lingeringCloseAfterResponse(req, this.config.http.uploadMaxBytes);
  }

  /** Reads the request's file to its end, hashing it, and writes nothing (idempotent replays). */
  async digestOfFile(req: Request): Promise<string> {
    const source = await openUploadSource(req, this.config.http.uploadMaxBytes);
    const stream = source.stream.hashing();
    stream.resume();
    await finished(stream);
    return stream.digest();
  }

  async get(id: string): Promise<UploadView> {
    return toView(await this.find(id));
  }

  async list(query: ListUploadsQueryDto) {
    const { rows, total } = await this.uploads.list(query.limit, (query.page - 1) * query.limit);
    return {
      data: rows.map((u) => toView(u, false)),
      pagination: {
        page: query.page,
        limit: query.limit,
        total,
        totalPages: Math.ceil(total / query.limit),
      },
    };
  }

  /** The rejected rows as CSV (header only when there were none). */
  async rejectedRows(id: string): Promise<Readable | string> {
    await this.find(id);
    const path = this.rejectedPath(id);
    const exists = await stat(path).then(
      () => true,
      () => false,
    );
    return exists ? createReadStream(path) : REJECTED_HEADER;
  }

  private async find(id: string): Promise<UploadRecord> {
    const upload = /^[0-9a-f-]{36}$/.test(id) ? await this.uploads.findById(id) : null;
    if (!upload) throw new NotFoundError(`No upload with id ${id}.`);
    return upload;
  }

  private async runSync(
    id: string,
    stream: ByteLimit,
    options: Omit<CsvIngestOptions, 'uploadId'>,
  ): Promise<UploadReport> {
    const started = performance.now();
    const rejected = new RejectedRowsFile(this.rejectedPath(id));
    let report: CsvIngestReport | undefined;
    try {
      report = await this.ingestor.ingest(
        stream,
        { ...options, uploadId: id, onRejected: (r, e) => rejected.add(r, e) },
        this.bars.dialect,
      );
      // The parser may stop early (a line over 4 MiB ends the file): the limit counts the bytes
      // received, not the lines parsed, so the rest is read (and discarded) before answering.
      await readToEnd(stream);
    } catch (err) {
      await rejected.close();
      const failure = report ? new IngestInterruptedError(err, report) : err;
      await this.recordFailure(id, failure, stream.bytes, started);
      throw await this.toHttpError(id, failure);
    }
    await rejected.close();
    return this.complete(id, report, stream.bytes, started, options);
  }

  /** Stops background uploads: in-flight batches commit, the rest is recorded as interrupted. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.running.size === 0) return;
    this.logger.warn(
      `stopping ${this.running.size} background upload(s); they will be marked interrupted`,
    );
    for (const stop of this.running.values()) stop();
    await Promise.allSettled(this.running.keys());
  }

  private async runAsync(
    id: string,
    spoolStream: ReadStream,
    bytes: number,
    options: Omit<CsvIngestOptions, 'uploadId'>,
  ): Promise<void> {
    const started = performance.now();
    const rejected = new RejectedRowsFile(this.rejectedPath(id));
    const counter = new ByteLimit(Number.MAX_SAFE_INTEGER);
    try {
      await this.uploads.markProcessing(id);
      const report = await this.ingestor.ingest(
        spoolStream.on('error', (err) => counter.destroy(err)).pipe(counter),
        {
          ...options,
          uploadId: id,
          onRejected: (r, e) => rejected.add(r, e),
          onProgress: (rows) => {
            this.uploads.setProgress(id, counter.bytes, rows).catch(() => undefined);
          },
        },
        this.bars.dialect,
      );
      await rejected.close();
      await this.complete(id, report, bytes, started, options).catch((err: unknown) => {
        if (!(err instanceof AppError && err.code === 'ROWS_REJECTED')) throw err;
      });
    } catch (err) {
      await rejected.close();
      await this.recordFailure(id, err, counter.bytes, started).catch((e: unknown) =>
        this.logger.error({ err: e, uploadId: id }, 'could not record the failure of an upload'),
      );
    } finally {
      await rm(String(spoolStream.path), { force: true });
    }
  }

  private async complete(
    id: string,
    report: CsvIngestReport,
    bytes: number,
    started: number,
    options: Omit<CsvIngestOptions, 'uploadId'>,
  ): Promise<UploadReport> {
    const durationMs = Math.round(performance.now() - started);
    // One rule with POST /api/v1/data: a write that wrote nothing because rows failed is a 422.
    const written = report.inserted + report.updated + report.skipped;
    const rejectedAtomically =
      !options.dryRun && report.failed > 0 && (options.atomic || written === 0);
    // Bookkeeping: recorded even when the request's time budget is spent.
    await detachedFromRequest(() =>
      this.uploads.finish(id, {
        status: rejectedAtomically ? 'failed' : 'completed',
        bytesRead: bytes,
        rows: report.rows,
        failed: report.failed,
        errorCounts: report.errorCounts,
        errors: report.errors,
        errorsTruncated: report.errorsTruncated,
        message: rejectedAtomically
          ? options.atomic
            ? `${report.failed} row(s) failed; atomic=true, so nothing was written`
            : `every row failed (${report.failed}); nothing was written`
          : undefined,
        durationMs,
      }),
    );
    const body: UploadReport = {
      uploadId: id,
      status: 'completed',
      ...report,
      dryRun: options.dryRun,
      durationMs,
    };
    if (rejectedAtomically) {
      const { errors, ...counts } = body;
      throw new AppError(
        'ROWS_REJECTED',
        options.atomic
          ? `${report.failed} of ${report.rows} rows are invalid; atomic=true, so nothing was written.`
          : `None of the ${report.rows} rows could be written; the errors say why.`,
        {
          errors,
          extensions: { ...counts, statusUrl: statusUrlOf(id), uploadStatus: 'failed' },
        },
      );
    }
    return body;
  }

  private async recordFailure(
    id: string,
    err: unknown,
    bytes: number,
    started: number,
  ): Promise<void> {
    const partial = err instanceof IngestInterruptedError ? err.report : undefined;
    const cause = err instanceof IngestInterruptedError ? err.cause : err;
    // Bookkeeping: recorded even when the request's time budget is spent.
    await detachedFromRequest(() =>
      this.uploads.finish(id, {
        status: cause instanceof ShutdownInterruption ? 'interrupted' : 'failed',
        bytesRead: bytes,
        rows: partial?.rows ?? 0,
        failed: partial?.failed ?? 0,
        errorCounts: partial?.errorCounts ?? {},
        errors: partial?.errors ?? [],
        errorsTruncated: partial?.errorsTruncated ?? false,
        message: cause instanceof Error ? cause.message : String(cause),
        durationMs: performance.now() - started,
      }),
    );
  }

  /**
   * The answer for an upload that stopped: its problem carries the upload's id and what the
   * upload record says was committed (the batches commit with their counts, so that is exact:
   * a 413 or a timeout never hides written rows).
   */
  private async toHttpError(id: string, err: unknown): Promise<unknown> {
    const cause = err instanceof IngestInterruptedError ? err.cause : err;
    const problem = problemOf(cause);
    if (!problem) return cause;
    const upload = await detachedFromRequest(() => this.uploads.findById(id));
    const committed = {
      rows: upload?.rows ?? 0,
      inserted: upload?.inserted ?? 0,
      updated: upload?.updated ?? 0,
      skipped: upload?.skipped ?? 0,
      failed: upload?.failed ?? 0,
    };
    const written = committed.inserted + committed.updated + committed.skipped;
    const detail =
      problem.code === 'PAYLOAD_TOO_LARGE'
        ? `${problem.detail} ${written ? `${written} row(s) were committed before the limit was reached (inserted ${committed.inserted}, updated ${committed.updated}, skipped ${committed.skipped}); the upload record at statusUrl says the same.` : 'Nothing was written.'}`
        : problem.detail;
    return new AppError(problem.code, detail, {
      ...problem.options,
      extensions: {
        ...problem.options.extensions,
        uploadId: id,
        statusUrl: statusUrlOf(id),
        uploadStatus: upload?.status ?? 'failed',
        ...committed,
      },
    });
  }

  private spoolPath(id: string): string {
    return join(this.config.http.uploadDir, `${id}.csv`);
  }

  private rejectedPath(id: string): string {
    return join(this.config.http.uploadDir, `${id}.rejected.csv`);
  }
}

const statusUrlOf = (id: string): string => `/api/v1/uploads/${id}`;

/** The parser's and the source's errors, as the problems the client sees. */
function problemOf(cause: unknown): AppError | undefined {
  if (cause instanceof AppError) return cause;
  if (cause instanceof CsvHeaderError) {
    return new AppError('INVALID_CSV_HEADER', cause.message, {
      errors: cause.missing.map((c) => ({
        field: c,
        message: `required column "${c}" is missing`,
      })),
      extensions: { missing: cause.missing, found: cause.found },
    });
  }
  if (cause instanceof CsvFormatError) {
    const code =
      cause.problem === 'EMPTY_FILE'
        ? 'EMPTY_FILE'
        : cause.problem === 'UNREADABLE_HEADER'
          ? 'INVALID_CSV_HEADER'
          : 'UNSUPPORTED_MEDIA_TYPE';
    return new AppError(code, cause.message);
  }
  return undefined;
}

/** Reads what is left of a stream, discarding it; rejects with the stream's error. */
function readToEnd(stream: Readable): Promise<void> {
  if (stream.readableEnded) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const drain = (): void => {
      while (stream.read() !== null);
    };
    stream.on('readable', drain);
    finished(stream, { writable: false }).then(
      () => {
        stream.off('readable', drain);
        resolve();
      },
      (err: Error) => {
        stream.off('readable', drain);
        reject(err);
      },
    );
    drain();
  });
}
