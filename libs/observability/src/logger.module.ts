import { APP_CONFIG, AppConfig, redactUrl } from '@app/config';
import { assignRequestId } from '@app/common';
import { DynamicModule, Module, Provider } from '@nestjs/common';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule as PinoLoggerModule } from 'nestjs-pino';
import { storage } from 'nestjs-pino/storage';
import pino, { DestinationStream } from 'pino';
import { onRequestComplete, routeTemplate } from './metrics';

/** Paths pino removes from every line: credentials must never reach a log. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
];

export interface LoggerOptions {
  /** Where log lines go; stdout when absent. Tests pass a stream to read what was logged. */
  destination?: DestinationStream;
}

/**
 * trace_id and span_id of the span active where the line is written (the request's, inside a
 * request), so a log line leads to its trace. Reads the OpenTelemetry context at write time, which
 * works whatever order pino and the SDK were loaded in; nothing when tracing is off.
 */
export function traceFields(): Record<string, string> {
  const context = trace.getActiveSpan()?.spanContext();
  if (!context || !isSpanContextValid(context)) return {};
  return { trace_id: context.traceId, span_id: context.spanId };
}

/** What pino-http wrote for a request: its method and URL, the api_key query value redacted. */
function requestFields(req: { method?: string; url?: string; originalUrl?: string }): {
  method?: string;
  url: string;
} {
  return { method: req.method, url: redactUrl(req.originalUrl ?? req.url ?? '') };
}

/** pino's options, shared by the request log and every other line of the process. */
export function pinoOptions(
  log: AppConfig['log'],
  options: LoggerOptions = {},
): pino.LoggerOptions {
  return {
    level: log.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    mixin: traceFields,
    // Bodies and headers are never logged; the request line says enough.
    serializers: {
      req: requestFields,
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    transport:
      log.pretty && !options.destination
        ? { target: 'pino-pretty', options: { singleLine: true } }
        : undefined,
  };
}

type LoggedRequest = IncomingMessage & { id?: unknown; originalUrl?: string; log?: pino.Logger };

/**
 * The request's store for nestjs-pino's `PinoLogger` (what `Logger` from @nestjs/common writes
 * through inside a request): the child logger bound to `req` and `requestId` is made on first use,
 * so a request during which nothing logs makes none. `PinoLogger.assign` replaces it.
 */
class RequestStore {
  private child: pino.Logger | undefined;
  constructor(
    private readonly root: pino.Logger,
    private readonly req: LoggedRequest,
  ) {}
  get logger(): pino.Logger {
    return (this.child ??= this.root.child({ req: this.req, requestId: this.req.id }));
  }
  set logger(logger: pino.Logger) {
    this.child = logger;
  }
}

/**
 * The request log: one line when the response finishes or the client goes away, with the fields
 * and levels pino-http wrote (see docs/OPERATIONS.md), written from the metrics middleware's
 * completion hook; and the request's logger for code that logs while serving it, made lazily.
 */
export function requestLogMiddleware(
  root: pino.Logger,
): (req: LoggedRequest, res: ServerResponse, next: () => void) => void {
  // The completion line's fields are fixed and hold no credential (the method, the URL with its
  // api_key value redacted, the status, timings), so its logger skips the redaction pass, about
  // half of pino's work per line (docs/ARCHITECTURE.md, "Performance budget"). Every other line,
  // the request's own logger included, keeps REDACTED_PATHS.
  const lines = root.child({}, { redact: [] });
  return (req, res, next) => {
    const started = Date.now();
    assignRequestId(req, res);
    const store = new RequestStore(root, req);
    Object.defineProperty(req, 'log', {
      configurable: true,
      enumerable: false,
      get: () => store.logger,
    });
    onRequestComplete(res, () => {
      const responseTime = Date.now() - started;
      const fields = {
        req,
        requestId: req.id,
        res,
        ...(res.statusCode >= 500
          ? { err: new Error(`failed with status code ${res.statusCode}`) }
          : {}),
        responseTime,
        method: req.method,
        route: routeTemplate(req as LoggedRequest & { route?: unknown; baseUrl?: string }),
        status: res.statusCode,
        duration_ms: responseTime,
      };
      const message =
        res.statusCode >= 500
          ? 'request errored'
          : !req.readableAborted && res.writableEnded
            ? 'request completed'
            : 'request aborted';
      lines.info(fields, message);
    });
    storage.run(store, next);
  };
}

/** The process's root pino logger, made from the configuration (one per application). */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/** Bytes of log lines gathered before one write to stdout. */
export const LOG_BUFFER_BYTES = 4096;
/** The longest a line waits in that buffer on a quiet server (ms). */
export const LOG_FLUSH_MS = 250;

/**
 * stdout, buffered: lines are gathered up to LOG_BUFFER_BYTES (or LOG_FLUSH_MS) and written
 * asynchronously, one write(2) for ~10 request lines instead of one each (see
 * docs/ARCHITECTURE.md, "Performance budget"). pino writes what is left synchronously when the
 * process exits, whatever the reason (process.exit, an uncaught exception, the end of the event
 * loop); only a SIGKILL loses the buffer.
 */
export function bufferedStdout(): pino.DestinationStream {
  return pino.destination({
    dest: 1,
    sync: false,
    minLength: LOG_BUFFER_BYTES,
    periodicFlush: LOG_FLUSH_MS,
  });
}

@Module({})
export class LoggerModule {
  static forRoot(options: LoggerOptions = {}): DynamicModule {
    const rootLogger: Provider = {
      provide: ROOT_LOGGER,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) =>
        config.log.pretty && !options.destination
          ? pino(pinoOptions(config.log, options))
          : pino(pinoOptions(config.log, options), options.destination ?? bufferedStdout()),
    };
    return {
      module: LoggerModule,
      global: true,
      providers: [rootLogger],
      exports: [rootLogger],
      imports: [
        PinoLoggerModule.forRootAsync({
          providers: [rootLogger],
          inject: [ROOT_LOGGER],
          // nestjs-pino provides Logger and PinoLogger around this logger. Its own middleware
          // (pino-http, then the store binding) is bound to no route: requestLogMiddleware, which
          // configureApp installs ahead of the routes, does both.
          useFactory: (logger: pino.Logger) => ({
            pinoHttp: { logger },
            useExisting: true,
            forRoutes: [],
          }),
        }),
      ],
    };
  }
}
