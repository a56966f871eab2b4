import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { API_KEY_SCHEME, BEARER_SCHEME } from './security/security.decorators';

export const API_VERSION = '1.0.0';

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Historical Data API')
    .setDescription(
      'Daily OHLCV bars: load them as JSON (or CSV), query them by symbol and date range. ' +
        'Every error is RFC 9457 application/problem+json with a stable `code` and the `requestId` ' +
        '(also in the X-Request-Id response header). See docs/API.md for the full guide.',
    )
    .setVersion(API_VERSION)
    .addTag('historical-data', 'Daily bars: list, read, write, delete')
    .addTag('uploads', 'CSV uploads: streaming ingest, async jobs, audit')
    .addTag('health', 'Liveness and readiness for orchestrators')
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'X-API-Key',
        description: 'An API key from API_KEYS (role read, write or admin).',
      },
      API_KEY_SCHEME,
    )
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'The same API key as a bearer token.' },
      BEARER_SCHEME,
    )
    .build();
  return SwaggerModule.createDocument(app, config, {
    operationIdFactory: (controllerKey, methodKey) =>
      `${controllerKey.replace(/Controller$/, '')}_${methodKey}`,
  });
}

/** Recursively sorted keys, so the committed docs/openapi.json diffs cleanly (house rule 7). */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

export function serializeOpenApi(document: OpenAPIObject): string {
  return `${JSON.stringify(sortKeys(document), null, 2)}\n`;
}
