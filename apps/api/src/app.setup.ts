import { APP_CONFIG, AppConfig } from '@app/config';
import { assignRequestId, createValidationPipe, jsonBody, ProblemDetailsFilter } from '@app/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { httpMetricsMiddleware } from '@app/observability';
import { Logger } from 'nestjs-pino';
import { AppModule, AppOptions } from './app.module';
import { buildOpenApiDocument } from './openapi';

/** JSON bodies: 10 000 bars with long symbols and string prices fit well inside this. */
export const JSON_BODY_LIMIT = '20mb';

/** Everything between "module graph built" and "listening", shared by main, e2e tests and the CLI. */
export function configureApp(app: NestExpressApplication): void {
  const config = app.get<AppConfig>(APP_CONFIG);
  app.useLogger(app.get(Logger));
  app.use(httpMetricsMiddleware);
  app.use(
    (
      req: Parameters<typeof assignRequestId>[0],
      res: Parameters<typeof assignRequestId>[1],
      next: () => void,
    ) => {
      assignRequestId(req, res);
      next();
    },
  );
  app.disable('x-powered-by');
  app.set('trust proxy', config.http.trustProxy);
  app.use(jsonBody(JSON_BODY_LIMIT));
  if (config.http.corsOrigins.length > 0) {
    app.enableCors({
      origin: config.http.corsOrigins.includes('*') ? true : config.http.corsOrigins,
      exposedHeaders: ['X-Request-Id', 'Location'],
    });
  }
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ProblemDetailsFilter());

  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, () => document, {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
    customSiteTitle: 'Historical Data API',
  });
}

export async function createApp(options: AppOptions = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(options), {
    bufferLogs: true,
    bodyParser: false,
  });
  configureApp(app);
  return app;
}
