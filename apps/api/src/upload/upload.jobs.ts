import { detachedFromRequest } from '@app/common';
import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { UploadRecorder } from './upload.recorder';

/**
 * Background uploads in progress, each with the way to stop it. On shutdown every job is asked
 * to stop (its committed batches stay, it is recorded as interrupted) and awaited.
 */
@Injectable()
export class UploadJobs implements BeforeApplicationShutdown {
  private readonly logger = new Logger(UploadJobs.name);
  private readonly running = new Map<Promise<void>, () => void>();

  constructor(private readonly recorder: UploadRecorder) {}

  /** Starts `work` outside the request's time budget; `stop` ends it early. */
  start(work: () => Promise<void>, stop: () => void): void {
    const job = detachedFromRequest(work).finally(() => this.running.delete(job));
    this.running.set(job, stop);
  }

  get size(): number {
    return this.running.size;
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.running.size === 0) return;
    this.logger.warn(
      `stopping ${this.running.size} background upload(s); they will be marked interrupted`,
    );
    // A job waiting for the database to record its end stops waiting: the sweep covers it.
    this.recorder.stopRetrying();
    for (const stop of this.running.values()) stop();
    await Promise.allSettled(this.running.keys());
  }
}
