import { APP_CONFIG, AppConfig } from '@app/config';
import { assignRequestId } from '@app/common';
import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule as PinoLoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';

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
              // Bodies and headers are never logged; the request line says enough.
              serializers: {
                req: (req: { method: string; url: string }) => ({
                  method: req.method,
                  url: req.url,
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
