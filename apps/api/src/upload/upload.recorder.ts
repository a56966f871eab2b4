import { detachedFromRequest } from '@app/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import {
  NewUpload,
  untilStored,
  UploadLease,
  UploadOutcome,
  UploadsRepository,
  UploadStatus,
  WriteCounts,
} from '@app/database';
import { CsvIngestReport, IngestInterruptedError } from '@app/ingest';
import { Inject, Injectable, Logger } from '@nestjs/common';
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
    /** Keeps this instance's claim on the upload while it runs (none once it has ended). */
    private readonly lease: UploadLease | undefined,
    /** Records the final state: once, or (background jobs) until the database takes it. */
    private readonly record: (what: string, work: () => Promise<void>) => Promise<void>,
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
    // One rule with POST /api/v1/data: a write that wrote nothing because rows failed is a 422
    // (atomic, or every row failed); a dry run is a report either way.
    const written = report.inserted + report.updated + report.skipped;
    const rejectedAtomically =
      !this.options.dryRun && report.failed > 0 && (this.options.atomic || written === 0);
    const status = rejectedAtomically ? 'failed' : 'completed';
    const durationMs = this.durationMs;
    await this.finish({
      status,
      bytesRead,
      rows: report.rows,
      failed: report.failed,
      errorCounts: report.errorCounts,
      errors: report.errors,
      errorsTruncated: report.errorsTruncated,
      message: rejectedAtomically
        ? this.options.atomic
          ? `${report.failed} row(s) failed; atomic=true, so nothing was written`
          : `every row failed (${report.failed}); nothing was written`
        : undefined,
      durationMs,
    });
    return { status, rejectedAtomically, durationMs };
  }

  /**
   * The upload stopped part way: failed (or interrupted, on shutdown), with the partial report of
   * what was read and rejected before it stopped; the committed counts are already recorded.
   */
  async failed(err: unknown, bytesRead: number): Promise<void> {
    const partial = err instanceof IngestInterruptedError ? err.report : undefined;
    const cause = err instanceof IngestInterruptedError ? err.cause : err;
    await this.finish({
      status: cause instanceof ShutdownInterruption ? 'interrupted' : 'failed',
      bytesRead,
      rows: partial?.rows ?? 0,
      failed: partial?.failed ?? 0,
      errorCounts: partial?.errorCounts ?? {},
      errors: partial?.errors ?? [],
      errorsTruncated: partial?.errorsTruncated ?? false,
      message: cause instanceof Error ? cause.message : String(cause),
      durationMs: this.durationMs,
    });
  }

  /** The final state, recorded even past the request's time budget; then the claim is let go. */
  private async finish(outcome: UploadOutcome): Promise<void> {
    try {
      await this.record(`the end (${outcome.status}) of upload ${this.id}`, () =>
        detachedFromRequest(() => this.uploads.finish(this.id, outcome)),
      );
    } finally {
      this.lease?.release();
    }
  }
}

/**
 * Opens upload records (see UploadRun). Each is owned by this instance (INSTANCE_ID) and holds a
 * lease on it while it runs: its heartbeat keeps other replicas from sweeping it (UploadSweeper).
 * A background (async) upload's final state is retried until the database takes it, so it never
 * stays `processing` after its job is gone; a sync upload or import has a caller waiting, so its
 * final state is tried once (if that fails, its heartbeat goes stale and it is swept).
 */
@Injectable()
export class UploadRecorder {
  private readonly logger = new Logger('Uploads');
  private stopping = false;

  constructor(
    private readonly uploads: UploadsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The service is stopping: final states are no longer retried (the sweep covers them). */
  stopRetrying(): void {
    this.stopping = true;
  }

  /** Records a new upload; `started` (performance.now()) is when its work began. */
  async start(
    upload: NewUpload & { options: { atomic: boolean; dryRun: boolean } },
    started = performance.now(),
  ): Promise<UploadRun> {
    const { instanceId, heartbeatMs } = this.config.uploads;
    await this.uploads.create({ ...upload, owner: instanceId });
    const running = upload.status === 'queued' || upload.status === 'processing';
    const lease = running
      ? new UploadLease(this.uploads, instanceId, upload.id, heartbeatMs)
      : undefined;
    const record =
      upload.mode === 'async'
        ? (what: string, work: () => Promise<void>) =>
            untilStored(what, work, { stopped: () => this.stopping, logger: this.logger })
        : (_what: string, work: () => Promise<void>) => work();
    return new UploadRun(this.uploads, upload.id, upload.options, started, lease, record);
  }
}
