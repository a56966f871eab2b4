import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { API_KEY_SCHEME, BEARER_SCHEME, PUBLIC_OPERATION } from './security/security.decorators';

/**
 * The version OpenAPI states is the package's (package.json, the one source of truth; the
 * changelog and releases follow it). Found by walking up from this file, which sits at
 * apps/api/src in the sources and dist/apps/api/src once built.
 */
export function packageVersion(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file))
      return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Historical Data API')
    .setDescription(
      'Daily OHLCV bars: load them as JSON (or CSV), query them by symbol and date range. ' +
        'Every error is RFC 9457 application/problem+json with a stable `code` and the `requestId` ' +
        '(also in the X-Request-Id response header). See docs/API.md for the full guide.',
    )
    .setVersion(packageVersion())
    .setLicense('MIT', 'https://opensource.org/licenses/MIT')
    // Relative: the document is served by the API itself (/docs-json), so "/" is wherever it
    // runs; a generated client is given its base URL by the caller.
    .addServer('/', 'The server that serves this document')
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
      {
        type: 'http',
        scheme: 'bearer',
        // Nest defaults this to JWT; the keys are opaque strings, so no format is claimed.
        bearerFormat: undefined,
        description: 'The same API key as a bearer token.',
      },
      BEARER_SCHEME,
    )
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (controllerKey, methodKey) =>
      `${controllerKey.replace(/Controller$/, '')}_${methodKey}`,
  });
  for (const item of Object.values(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = item[method] as (Record<string, unknown> & object) | undefined;
      if (operation?.[PUBLIC_OPERATION]) {
        delete operation[PUBLIC_OPERATION];
        operation.security = [];
      }
    }
  }
  return document;
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
