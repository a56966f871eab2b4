import { APP_CONFIG, AppConfig, redactUrl } from '@app/config';
import { assignRequestId } from '@app/common';
import { DynamicModule, Module } from '@nestjs/common';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule as PinoLoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { routeTemplate } from './metrics';

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

/** The fields of the one line written when a request completes (see docs/OPERATIONS.md). */
function completionFields(
  req: IncomingMessage,
  res: ServerResponse,
  val: Record<string, unknown>,
): Record<string, unknown> {
  return {
    ...val,
    method: req.method,
    route: routeTemplate(req as IncomingMessage & { route?: unknown; baseUrl?: string }),
    status: res.statusCode,
    duration_ms: val.responseTime,
  };
}

@Module({})
export class LoggerModule {
  static forRoot(options: LoggerOptions = {}): DynamicModule {
    return {
      module: LoggerModule,
      imports: [
        PinoLoggerModule.forRootAsync({
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig) => {
            const pinoOptions = {
              level: config.log.level,
              genReqId: assignRequestId,
              redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
              // Top-level, on the request line and on every log written while serving the request.
              customProps: (req: { id?: unknown }) => ({ requestId: req.id }),
              mixin: traceFields,
              customSuccessObject: completionFields,
              customErrorObject: (
                req: IncomingMessage,
                res: ServerResponse,
                _err: Error,
                val: Record<string, unknown>,
              ) => completionFields(req, res, val),
              // Bodies and headers are never logged; the request line says enough.
              serializers: {
                req: (req: { method: string; url: string }) => ({
                  method: req.method,
                  url: redactUrl(req.url),
                }),
                res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
              },
              transport:
                config.log.pretty && !options.destination
                  ? { target: 'pino-pretty', options: { singleLine: true } }
                  : undefined,
            };
            return {
              pinoHttp: options.destination ? [pinoOptions, options.destination] : pinoOptions,
            };
          },
        }),
      ],
    };
  }
}
