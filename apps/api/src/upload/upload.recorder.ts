import { detachedFromRequest } from '@app/common';
import { NewUpload, UploadsRepository, UploadStatus, WriteCounts } from '@app/database';
import { CsvIngestReport, IngestInterruptedError } from '@app/ingest';
import { Injectable } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';

/** The service is stopping: a background upload ends here, recorded as interrupted. */
export class ShutdownInterruption extends Error {
  constructor() {
    super(
      'the service shut down before this upload finished; the batches counted here were committed',
    );
    this.name = 'ShutdownInterruption';
  }
}

/** How a finished upload ended, as recorded. */
export interface RecordedOutcome {
  status: UploadStatus;
  /** atomic=true met failed rows: nothing was written. */
  rejectedAtomically: boolean;
  durationMs: number;
}

/**
 * One upload's record, from start to finish: the lifecycle every CSV upload (API, sync or async)
 * and every CLI import goes through, so both record the same things the same way. Bookkeeping
 * writes are detached from the request's time budget: they are recorded even past it.
 */
export class UploadRun {
  constructor(
    private readonly uploads: UploadsRepository,
    readonly id: string,
    private readonly options: { atomic: boolean; dryRun: boolean },
    private readonly started: number,
  ) {}

  /** The ingest's commit hook: committed counts join the transaction that wrote the rows. */
  readonly onCommitted = (tx: QueryRunner, counts: WriteCounts): Promise<void> =>
    this.uploads.addCommitted(tx, this.id, counts);

  get durationMs(): number {
    return Math.round(performance.now() - this.started);
  }

  async processing(): Promise<void> {
    await this.uploads.markProcessing(this.id);
  }

  /** Progress while running (for status polling); best effort. */
  progress(bytesRead: number, rows: number): void {
    this.uploads.setProgress(this.id, bytesRead, rows).catch(() => undefined);
  }

  /** The file was read to its end: completed, or failed when atomic met failed rows. */
  async completed(report: CsvIngestReport, bytesRead: number): Promise<RecordedOutcome> {
    const rejectedAtomically = this.options.atomic && !this.options.dryRun && report.failed > 0;
    const status = rejectedAtomically ? 'failed' : 'completed';
    const durationMs = this.durationMs;
    await detachedFromRequest(() =>
      this.uploads.finish(this.id, {
        status,
        bytesRead,
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
    return { status, rejectedAtomically, durationMs };
  }

  /**
   * The upload stopped part way: failed (or interrupted, on shutdown), with the partial report of
   * what was read and rejected before it stopped; the committed counts are already recorded.
   */
  async failed(err: unknown, bytesRead: number): Promise<void> {
    const partial = err instanceof IngestInterruptedError ? err.report : undefined;
    const cause = err instanceof IngestInterruptedError ? err.cause : err;
    await detachedFromRequest(() =>
      this.uploads.finish(this.id, {
        status: cause instanceof ShutdownInterruption ? 'interrupted' : 'failed',
        bytesRead,
        rows: partial?.rows ?? 0,
        failed: partial?.failed ?? 0,
        errorCounts: partial?.errorCounts ?? {},
        errors: partial?.errors ?? [],
        errorsTruncated: partial?.errorsTruncated ?? false,
        message: cause instanceof Error ? cause.message : String(cause),
        durationMs: this.durationMs,
      }),
    );
  }
}

/** Opens upload records (see UploadRun). */
@Injectable()
export class UploadRecorder {
  constructor(private readonly uploads: UploadsRepository) {}

  /** Records a new upload; `started` (performance.now()) is when its work began. */
  async start(
    upload: NewUpload & { options: { atomic: boolean; dryRun: boolean } },
    started = performance.now(),
  ): Promise<UploadRun> {
    await this.uploads.create(upload);
    return new UploadRun(this.uploads, upload.id, upload.options, started);
  }
}
