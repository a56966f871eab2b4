import { Logger } from '@nestjs/common';
import { UploadsRepository } from './uploads.repository';

/**
 * An instance's claim on a running upload: its heartbeat is refreshed every `heartbeatMs` until
 * the lease is released, so other replicas leave it alone (they sweep only stale heartbeats).
 * A failed refresh is retried at the next beat: a database outage longer than the stale window
 * lets another instance sweep the upload, which is the point.
 */
export class UploadLease {
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly uploads: UploadsRepository,
    readonly owner: string,
    readonly id: string,
    heartbeatMs: number,
  ) {
    this.timer = setInterval(() => {
      this.uploads.heartbeat(owner, [id]).catch(() => undefined);
    }, heartbeatMs);
    this.timer.unref();
  }

  release(): void {
    clearInterval(this.timer);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs a bookkeeping write until it is stored: while the database is unreachable it is tried
 * again with a jittered, growing delay (at most `maxDelayMs`), so an upload's final state is
 * recorded once the database is back instead of the upload staying `processing` forever. Gives
 * up only when `stopped()` says so (the process is shutting down); the upload's heartbeat then
 * goes stale and another instance (or the next start) sweeps it to `interrupted`.
 */
export async function untilStored<T>(
  what: string,
  work: () => Promise<T>,
  options: { stopped?: () => boolean; maxDelayMs?: number; logger?: Logger } = {},
): Promise<T> {
  const { stopped = () => false, maxDelayMs = 5000, logger = new Logger('Uploads') } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (stopped()) throw err;
      const delay =
        Math.min(maxDelayMs, 100 * 2 ** Math.min(attempt, 10)) * (0.5 + Math.random() / 2);
      logger.warn(
        `could not record ${what} (attempt ${attempt}: ${(err as Error).message}); trying again in ${Math.round(delay)} ms`,
      );
      await sleep(delay);
    }
  }
}
