import { APP_CONFIG, AppConfig } from '@app/config';
import { AppError, detachedFromRequest, NotFoundError } from '@app/common';
import {
  HistoricalDataRepository,
  untilStored,
  UploadLease,
  UploadRecord,
  UploadsRepository,
} from '@app/database';
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
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { ListUploadsQueryDto, UploadQueryDto } from './dto/upload.query.dto';
import { RejectedRowsStore, rejectedRowsCsv } from './rejected-rows.store';
import { ByteLimit, openUploadSource } from './upload-source';
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

  /** The service is stopping: bookkeeping writes stop retrying (see untilStored). */
  private stopping = false;

  async onApplicationBootstrap(): Promise<void> {
    // Unfinished uploads of a previous run are swept by UploadSweeper once their heartbeat is
    // stale, never those another live replica is running.
    await mkdir(this.config.http.uploadDir, { recursive: true });
  }

  /** This instance owns upload `id` while it runs: its heartbeat keeps other replicas off it. */
  private lease(id: string): UploadLease {
    const { instanceId, heartbeatMs } = this.config.uploads;
    return new UploadLease(this.uploads, instanceId, id, heartbeatMs);
  }

  async upload(
    req: Request,
    query: UploadQueryDto,
    preferAsync: boolean,
    /** Sees the file's byte stream before it is read (to hash it for idempotency). */
    onSource?: (stream: ByteLimit) => void,
  ): Promise<UploadReport | UploadAccepted> {
    const limit = this.config.http.uploadMaxBytes;
    const source = await openUploadSource(req, limit);
    onSource?.(source.stream);
    const id = randomUUID();
    const options = {
      onConflict: query.onConflict,
      atomic: query.atomic,
      dryRun: query.dryRun,
      symbol: query.symbol,
      dateFormat: query.dateFormat,
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
      owner: this.config.uploads.instanceId,
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
      throw err;
    }
    await this.uploads.create({ ...record, status: 'queued', bytesTotal: source.stream.bytes });
    const spoolStream = createReadStream(spool);
    // The job outlives the request: it runs outside the request's time budget.
    const job = detachedFromRequest(() =>
      this.runAsync(id, spoolStream, source.stream.bytes, options),
    ).finally(() => this.running.delete(job));
    this.running.set(job, () => spoolStream.destroy(new ShutdownInterruption()));
    return { uploadId: id, status: 'queued', statusUrl: `/api/v1/uploads/${id}` };
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

  /** The rejected rows as CSV (header only when there were none), from the database. */
  async rejectedRows(id: string): Promise<Readable> {
    await this.find(id);
    return rejectedRowsCsv(this.uploads, id);
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
    const rejected = new RejectedRowsStore(this.uploads, id);
    const lease = this.lease(id);
    let report: CsvIngestReport;
    try {
      report = await this.ingestor.ingest(
        stream,
        { ...options, uploadId: id, onRejected: (r, e) => rejected.add(r, e) },
        this.bars.dialect,
      );
    } catch (err) {
      await this.keepRejected(rejected);
      await this.recordFailure(id, err, stream.bytes, started);
      throw this.toHttpError(err);
    } finally {
      lease.release();
    }
    await this.keepRejected(rejected);
    return this.complete(id, report, stream.bytes, started, options);
  }

  /** Rejected rows that could not be stored are logged, not fatal: the report still counts them. */
  private async keepRejected(rejected: RejectedRowsStore): Promise<void> {
    await rejected
      .close()
      .catch((err: unknown) =>
        this.logger.error(
          { err, uploadId: rejected.uploadId },
          'could not store some rejected rows of an upload',
        ),
      );
  }

  /** Stops background uploads: in-flight batches commit, the rest is recorded as interrupted. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.running.size === 0) return;
    this.logger.warn(
      `stopping ${this.running.size} background upload(s); they will be marked interrupted`,
    );
    this.stopping = true;
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
    const rejected = new RejectedRowsStore(this.uploads, id);
    const counter = new ByteLimit(Number.MAX_SAFE_INTEGER);
    const lease = this.lease(id);
    // The job's final state is recorded even if the database is away when it ends: retried until
    // it is back (or the service stops), so the upload never stays `processing` with no job.
    const untilBack = { stopped: () => this.stopping, logger: this.logger };
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
      await this.keepRejected(rejected);
      await untilStored(
        `the completion of upload ${id}`,
        () =>
          this.complete(id, report, bytes, started, options).then(
            () => undefined,
            (err: unknown) => {
              if (!(err instanceof AppError && err.code === 'ROWS_REJECTED')) throw err;
            },
          ),
        untilBack,
      );
    } catch (err) {
      await this.keepRejected(rejected);
      await untilStored(
        `the failure of upload ${id}`,
        () => this.recordFailure(id, err, counter.bytes, started),
        untilBack,
      ).catch((e: unknown) =>
        this.logger.error({ err: e, uploadId: id }, 'could not record the failure of an upload'),
      );
    } finally {
      lease.release();
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
    const rejectedAtomically = options.atomic && report.failed > 0 && !options.dryRun;
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
          ? `${report.failed} row(s) failed; atomic=true, so nothing was written`
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
        `${report.failed} of ${report.rows} rows are invalid; atomic=true, so nothing was written.`,
        { errors, extensions: { ...counts, uploadStatus: 'failed' } },
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

  private toHttpError(err: unknown): unknown {
    const cause = err instanceof IngestInterruptedError ? err.cause : err;
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
      return cause.problem === 'EMPTY_FILE'
        ? new AppError('EMPTY_FILE', cause.message)
        : new AppError('UNSUPPORTED_MEDIA_TYPE', cause.message);
    }
    return cause;
  }

  private spoolPath(id: string): string {
    return join(this.config.http.uploadDir, `${id}.csv`);
  }
}
