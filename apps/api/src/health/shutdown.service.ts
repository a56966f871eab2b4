import { APP_CONFIG, AppConfig } from '@app/config';
import { cutLingeringSockets } from '@app/common';
import { requestsInFlight } from '@app/observability';
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationShutdown,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'node:http';
import { requestsWaiting } from '../overload/load-shedder';

/** Requests still to be answered: served now, or waiting for a place (load shedding). */
const unanswered = (): number => requestsInFlight() + requestsWaiting();

/**
 * Graceful shutdown. When the application starts closing (SIGTERM/SIGINT in main.ts, or
 * app.close()): readiness answers 503 at once, the server keeps serving while in-flight requests
 * finish, for at most SHUTDOWN_GRACE_MS; then Nest closes the server and whatever is still open
 * is cut, and the database pool closes last.
 */
@Injectable()
export class ShutdownService implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Shutdown');
  private draining = false;
  private cutTimer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  get isDraining(): boolean {
    return this.draining;
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.draining = true;
    const grace = this.config.http.shutdownGraceMs;
    this.logger.log(
      `shutting down${signal ? ` on ${signal}` : ''}: readiness is 503; waiting up to ${grace} ms for ${unanswered()} request(s) in flight`,
    );
    // Clients still sending after their answer (a 413) have nothing left to get: cut them now
    // rather than let them hold the server open for the grace period.
    this.cutLingering();
    const deadline = Date.now() + grace;
    while (unanswered() > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    this.cutLingering();
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (unanswered() > 0) {
      this.logger.warn(
        `grace period over with ${unanswered()} request(s) still running: closing their connections`,
      );
      server?.closeAllConnections();
    } else {
      // Idle keep-alive sockets would otherwise hold server.close() open.
      server?.closeIdleConnections();
      // A request arriving in the last moment still gets the grace period before being cut.
      this.cutTimer = setTimeout(() => server?.closeAllConnections(), grace).unref();
    }
  }

  private cutLingering(): void {
    const cut = cutLingeringSockets();
    if (cut) this.logger.log(`closed ${cut} connection(s) still sending after their answer`);
  }

  onApplicationShutdown(): void {
    clearTimeout(this.cutTimer);
    this.logger.log('shutdown complete');
  }
}
