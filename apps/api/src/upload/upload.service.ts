import { APP_CONFIG, AppConfig } from '@app/config';
import { AppError, detachedFromRequest, NotFoundError } from '@app/common';
import { UploadRecord, UploadsRepository } from '@app/database';
import {
  CsvFormatError,
  CsvHeaderError,
  CsvIngestOptions,
  CsvIngestReport,
  CsvIngestor,
  IngestInterruptedError,
} from '@app/ingest';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Request } from 'express';
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { ListUploadsQueryDto, UploadQueryDto } from './dto/upload.query.dto';
import { RejectedRowsStore, rejectedRowsCsv } from './rejected-rows.store';
import { ByteLimit, lingeringCloseAfterResponse, openUploadSource } from './upload-source';
import { UploadJobs } from './upload.jobs';
import { ShutdownInterruption, UploadRecorder, UploadRun } from './upload.recorder';
import { identityOf } from '../security/client-identity';

/** The audit's "who": the API key's name; none when the service runs without keys. */
const keyNameOf = (req: Request): string | undefined => {
  const identity = identityOf(req);
  return identity.kind === 'key' ? identity.name : undefined;
};

/** `Prefer: respond-async`: the client asks for 202 and a status URL. */
export const prefersAsync = (req: Request): boolean =>
  /(^|[\s,;])respond-async([\s,;]|$)/i.test(String(req.headers.prefer ?? ''));

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

type IngestSettings = Pick<
  CsvIngestOptions,
  'onConflict' | 'atomic' | 'dryRun' | 'symbol' | 'dateFormat' | 'decimal'
>;

/**
 * Uploads: sync (stream → report) and async (spool → 202 → background job). The source opens
 * the request's file (upload-source.ts), the recorder keeps its record (upload.recorder.ts), the
 * job registry runs and stops background work (upload.jobs.ts); this service puts them together
 * and translates ingest errors into problems.
 */
@Injectable()
export class UploadService implements OnApplicationBootstrap {
  private readonly logger = new Logger(UploadService.name);
  /** Requests whose file is hashed as it is read (Idempotency-Key): marked, then the stream. */
  private readonly hashed = new WeakMap<Request, ByteLimit | 'wanted'>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly ingestor: CsvIngestor,
    private readonly uploads: UploadsRepository,
    private readonly recorder: UploadRecorder,
    private readonly jobs: UploadJobs,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Unfinished uploads of a previous run are swept by UploadSweeper once their heartbeat is
    // stale, never those another live replica is running.
    await mkdir(this.config.http.uploadDir, { recursive: true });
  }

  /** Hash this request's file as it is read (see bodyDigestOf). */
  hashBodyOf(req: Request): void {
    this.hashed.set(req, 'wanted');
  }

  /** sha256 of the file `upload` read for this request (after hashBodyOf). */
  bodyDigestOf(req: Request): string {
    const stream = this.hashed.get(req);
    return stream instanceof ByteLimit ? stream.digest() : '';
  }

  async upload(req: Request, query: UploadQueryDto): Promise<UploadReport | UploadAccepted> {
    try {
      return await this.receive(req, query);
    } catch (err) {
      // Answered before the client finished sending: let it finish, then hang up.
      if (!req.complete) this.hangUpAfterAnswer(req);
      throw err;
    }
  }

  /** For an answer given before the body was read: the client may finish sending, then the connection closes. */
  hangUpAfterAnswer(req: Request): void {
    lingeringCloseAfterResponse(req, this.config.http.uploadMaxBytes);
  }

  private async receive(
    req: Request,
    query: UploadQueryDto,
  ): Promise<UploadReport | UploadAccepted> {
    const source = await openUploadSource(req, this.config.http.uploadMaxBytes);
    if (this.hashed.has(req)) this.hashed.set(req, source.stream.hashing());
    const settings: IngestSettings = {
      onConflict: query.onConflict,
      atomic: query.atomic,
      dryRun: query.dryRun,
      symbol: query.symbol,
      dateFormat: query.dateFormat,
      decimal: query.decimal,
    };
    const isAsync = query.async || prefersAsync(req);
    const record = {
      id: randomUUID(),
      mode: isAsync ? ('async' as const) : ('sync' as const),
      source: 'csv' as const,
      fileName: source.fileName,
      client: keyNameOf(req),
      clientIp: req.ip,
      options: settings,
    };
    if (!isAsync) {
      const run = await this.recorder.start({
        ...record,
        status: 'processing',
        bytesTotal: source.declaredBytes,
      });
      return this.runSync(run, source.stream, settings);
    }

    // Async: the whole file goes to disk first (still streaming, still limited), then 202.
    const spool = this.spoolPath(record.id);
    const started = performance.now();
    try {
      await pipeline(source.stream, createWriteStream(spool));
    } catch (err) {
      await rm(spool, { force: true });
      const run = await this.recorder.start(
        { ...record, status: 'failed', bytesTotal: source.declaredBytes },
        started,
      );
      await run.failed(err, source.stream.bytes);
      throw await this.toHttpError(run.id, err);
    }
    const bytes = source.stream.bytes;
    const run = await this.recorder.start({ ...record, status: 'queued', bytesTotal: bytes });
    const spoolStream = createReadStream(spool);
    this.jobs.start(
      () =>
        this.runAsync(run, spoolStream, bytes, settings).finally(() => rm(spool, { force: true })),
      () => spoolStream.destroy(new ShutdownInterruption()),
    );
    return { uploadId: run.id, status: 'queued', statusUrl: statusUrlOf(run.id) };
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

  /** Runs the ingest for one upload, its rejected rows to the database; answers the report. */
  private async ingest(
    run: UploadRun,
    stream: Readable,
    settings: IngestSettings,
    onProgress?: (rows: number) => void,
  ): Promise<CsvIngestReport> {
    const rejected = new RejectedRowsStore(this.uploads, run.id);
    try {
      return await this.ingestor.ingest(stream, {
        ...settings,
        onCommitted: run.onCommitted,
        onRejected: (r, e) => rejected.add(r, e),
        onProgress,
      });
    } finally {
      // Rows that could not be kept are logged, not fatal: the report still counts them.
      await rejected
        .close()
        .catch((err: unknown) =>
          this.logger.error(
            { err, uploadId: run.id },
            'could not store some rejected rows of an upload',
          ),
        );
    }
  }

  private async runSync(
    run: UploadRun,
    stream: ByteLimit,
    settings: IngestSettings,
  ): Promise<UploadReport> {
    let report: CsvIngestReport | undefined;
    try {
      report = await this.ingest(run, stream, settings);
      // The parser may stop early (a line over 4 MiB ends the file): the limit counts the bytes
      // received, not the lines parsed, so the rest is read (and discarded) before answering.
      await readToEnd(stream);
    } catch (err) {
      const failure = report ? new IngestInterruptedError(err, report) : err;
      await run.failed(failure, stream.bytes);
      throw await this.toHttpError(run.id, failure);
    }
    const outcome = await run.completed(report, stream.bytes);
    const body: UploadReport = {
      uploadId: run.id,
      status: 'completed',
      ...report,
      dryRun: settings.dryRun,
      durationMs: outcome.durationMs,
    };
    if (outcome.rejectedAtomically) {
      const { errors, ...counts } = body;
      throw new AppError(
        'ROWS_REJECTED',
        settings.atomic
          ? `${report.failed} of ${report.rows} rows are invalid; atomic=true, so nothing was written.`
          : `None of the ${report.rows} rows could be written; the errors say why.`,
        {
          errors,
          extensions: { ...counts, statusUrl: statusUrlOf(run.id), uploadStatus: 'failed' },
        },
      );
    }
    return body;
  }

  private async runAsync(
    run: UploadRun,
    spoolStream: Readable,
    bytes: number,
    settings: IngestSettings,
  ): Promise<void> {
    const counter = new ByteLimit(Number.MAX_SAFE_INTEGER);
    try {
      await run.processing();
      const report = await this.ingest(
        run,
        spoolStream.on('error', (err) => counter.destroy(err)).pipe(counter),
        settings,
        (rows) => run.progress(counter.bytes, rows),
      );
      await run.completed(report, bytes);
    } catch (err) {
      await run
        .failed(err, counter.bytes)
        .catch((e: unknown) =>
          this.logger.error(
            { err: e, uploadId: run.id },
            'could not record the failure of an upload',
          ),
        );
    }
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
