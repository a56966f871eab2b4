// First: starts OpenTelemetry before anything it instruments is loaded.
import { tracing } from './instrument';
import {
  APP_CONFIG,
  AppConfig,
  ConfigValidationError,
  loadAppConfig,
  startupLogFormat,
} from '@app/config';
import { SchemaBehindError } from '@app/database';
import { reportStartupFailure } from '@app/observability';
import { Logger } from '@nestjs/common';
import type { Server } from 'node:http';
import { createApp } from './app.setup';
import { addAcceptHandles } from './overload/accept-handles';

/** Above common load-balancer idle timeouts (60 s), so the balancer closes idle sockets first. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** Capped by the kernel's net.core.somaxconn (4096 on current kernels). */
const LISTEN_BACKLOG = 4096;

async function bootstrap(): Promise<void> {
  // Checked before Nest starts: inside it, a bad value is printed by Nest, stack and all.
  loadAppConfig();
  const app = await createApp();
  const config = app.get<AppConfig>(APP_CONFIG);
  // A deep accept queue: a burst of connections (1000 clients at once) waits to be accepted, or
  // shed, instead of having SYNs dropped and retried a second later. Nest passes the extra
  // argument through to server.listen(port, host, backlog).
  const listen = app.listen.bind(app) as unknown as (
    port: number,
    host: string,
    backlog: number,
  ) => Promise<unknown>;
  await listen(config.http.port, config.http.host, LISTEN_BACKLOG);
  const server: Server = app.getHttpServer();
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1000;
  const db =
    config.database.dialect === 'sqlite'
      ? `SQLite ${config.database.path}`
      : `MySQL ${config.database.host}:${config.database.port}/${config.database.database}`;
  // Our own signal handling: Nest's re-raises the signal after closing (exit status 143).
  let closing = false;
  let closeAcceptHandles = (): void => undefined;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    const hardStop = setTimeout(() => {
      new Logger('Shutdown').error('shutdown did not finish in time; exiting');
      process.exit(1);
    }, config.http.shutdownGraceMs + 15_000).unref();
    new Logger('Shutdown').log(`received ${signal}`);
    // The listening socket stays open while any of its handles does. Node's own handle accepts
    // alone from here (readiness answers 503 while draining), until Nest closes the server.
    closeAcceptHandles();
    app
      .close()
      // Spans of the last requests are still buffered: export them before exiting.
      .then(() => tracing?.shutdown())
      .then(
        () => {
          clearTimeout(hardStop);
          process.exit(0);
        },
        (err: unknown) => {
          // stderr, synchronously: the logger may not flush before exit.
          console.error('Shutdown failed:', err);
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  new Logger('Bootstrap').log(
    `Historical Data API listening on http://${config.http.host}:${config.http.port} (docs at /docs, database ${db}, env ${config.env}, tracing ${config.tracing.enabled ? `to ${config.tracing.tracesUrl}` : 'off'})`,
  );
  // More accepts per event-loop turn, so that a saturated process still takes in new connections
  // (and serves or refuses them) instead of leaving them in the accept queue.
  closeAcceptHandles = await addAcceptHandles(
    server,
    config.http.overload.acceptHandles,
    LISTEN_BACKLOG,
    (reason) =>
      new Logger('Bootstrap').warn(
        `OVERLOAD_ACCEPT_HANDLES=${config.http.overload.acceptHandles}: extra accept handles unavailable (${reason}); accepting through one`,
      ),
  );
  if (closing) closeAcceptHandles();
}

bootstrap().catch((err: unknown) => {
  if (err instanceof ConfigValidationError) {
    reportStartupFailure(
      err.problems.map((p) => `Invalid configuration: ${p}`),
      startupLogFormat(),
    );
  } else if (err instanceof SchemaBehindError) {
    reportStartupFailure([err.message], startupLogFormat());
  } else {
    console.error('Startup failed:', err);
  }
  process.exit(1);
});
