import { APP_CONFIG, AppConfig } from '@app/config';
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  NestMiddleware,
  OnApplicationShutdown,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { NextFunction, Request, Response } from 'express';
import type { Server } from 'node:http';

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
  private inFlight = 0;
  private cutTimer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  get isDraining(): boolean {
    return this.draining;
  }

  /** Counts requests in progress (wired as the first middleware). */
  readonly track: NestMiddleware['use'] = (_req: Request, res: Response, next: NextFunction) => {
    this.inFlight++;
    res.once('close', () => this.inFlight--);
    next();
  };

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.draining = true;
    const grace = this.config.http.shutdownGraceMs;
    this.logger.log(
      `shutting down${signal ? ` on ${signal}` : ''}: readiness is 503; waiting up to ${grace} ms for ${this.inFlight} request(s) in flight`,
    );
    const deadline = Date.now() + grace;
    while (this.inFlight > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (this.inFlight > 0) {
      this.logger.warn(
        `grace period over with ${this.inFlight} request(s) still running: closing their connections`,
      );
      server?.closeAllConnections();
    } else {
      // Idle keep-alive sockets would otherwise hold server.close() open.
      server?.closeIdleConnections();
      // A request arriving in the last moment still gets the grace period before being cut.
      this.cutTimer = setTimeout(() => server?.closeAllConnections(), grace).unref();
    }
  }

  onApplicationShutdown(): void {
    clearTimeout(this.cutTimer);
    this.logger.log('shutdown complete');
  }
}
