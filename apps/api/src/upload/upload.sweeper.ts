import { APP_CONFIG, AppConfig } from '@app/config';
import { UploadsRepository } from '@app/database';
import { inSpan } from '@app/observability';
import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';

export const STALE_UPLOAD_MESSAGE =
  'the instance running this upload stopped before it finished (its heartbeat went stale); the batches counted here were committed; upload the file again';

/**
 * Marks uploads `interrupted` once their owner stopped beating — on start-up and then every few
 * heartbeats, on every replica (the sweep is one idempotent UPDATE; whichever replica runs it
 * first does the work). Uploads that a live replica is running are never touched.
 */
@Injectable()
export class UploadSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(UploadSweeper.name);
  private timer?: NodeJS.Timeout;
  private sweeping = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly uploads: UploadsRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.sweep();
    const { heartbeatMs, staleAfterMs } = this.config.uploads;
    this.timer = setInterval(
      () => void this.sweep().catch(() => undefined),
      Math.max(heartbeatMs, Math.floor(staleAfterMs / 3)),
    );
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One sweep; the number of uploads it marked interrupted. */
  async sweep(): Promise<number> {
    if (this.sweeping) return 0;
    this.sweeping = true;
    try {
      // One trace per sweep (its statements inside it), not one per statement.
      const swept = await inSpan(
        'uploads.sweep',
        {},
        () => this.uploads.sweepStale(this.config.uploads.staleAfterMs, STALE_UPLOAD_MESSAGE),
        (interrupted) => ({ 'uploads.interrupted': interrupted }),
      );
      if (swept)
        this.logger.warn(`marked ${swept} upload(s) with a stale heartbeat as interrupted`);
      return swept;
    } catch (err) {
      this.logger.warn(`could not sweep stale uploads: ${(err as Error).message}`);
      return 0;
    } finally {
      this.sweeping = false;
    }
  }
}
