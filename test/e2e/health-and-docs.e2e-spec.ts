import { readFileSync } from 'node:fs';
import { buildOpenApiDocument, serializeOpenApi } from '../../apps/api/src/openapi';
import { describeEachDialect, TestApp } from './support/test-app';

describeEachDialect('health', (t) => {
  it('GET /health answers without touching the database', async () => {
    await t.http.get('/health').expect(200, { status: 'ok' });
  });

  it('GET /health/ready answers 200 when the database does', async () => {
    const res = await t.http.get('/health/ready').expect(200);
    expect(res.body).toMatchObject({ status: 'ok', info: { database: { status: 'up' } } });
  });
});

describe('when the database goes away', () => {
  const t = new TestApp('sqlite');
  beforeAll(() => t.start());
  afterAll(() => t.stop());

  it('readiness is 503 problem+json, liveness stays 200, and reads fail as problems, not crashes', async () => {
    await t.dataSource.destroy();
    const ready = await t.http.get('/health/ready').expect(503);
    expect(ready.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(ready.body).toMatchObject({ code: 'NOT_READY', status: 503 });
    expect(ready.body.checks).toMatchObject({ database: { status: 'down' } });
    await t.http.get('/health').expect(200);
    const read = await t.http.get('/api/v1/data').expect(500);
    expect(read.body).toMatchObject({ code: 'INTERNAL_ERROR', errorId: expect.any(String) });
    expect(JSON.stringify(read.body)).not.toMatch(/at .*\.(js|ts):\d+/);
  });
});

describe('API documentation', () => {
  const t = new TestApp('sqlite');
  beforeAll(() => t.start());
  afterAll(() => t.stop());

  it('serves Swagger UI at /docs and the document at /docs-json', async () => {
    const html = await t.http.get('/docs').expect(200);
    expect(html.text).toContain('swagger-ui');
    const doc = await t.http.get('/docs-json').expect(200);
    expect(Object.keys(doc.body.paths).sort()).toEqual([
      '/api/v1/data',
      '/api/v1/data/export',
      '/api/v1/data/upload',
      '/api/v1/data/{id}',
      '/api/v1/uploads',
      '/api/v1/uploads/{id}',
      '/api/v1/uploads/{id}/errors',
      '/health',
      '/health/ready',
    ]);
    const list = doc.body.paths['/api/v1/data'].get;
    expect(list.parameters.map((p: { name: string }) => p.name).sort()).toEqual([
      'end_date',
      'limit',
      'page',
      'sort',
      'start_date',
      'symbol',
    ]);
    expect(list.responses['400'].content['application/problem+json']).toBeDefined();
    const create = doc.body.paths['/api/v1/data'].post;
    expect(Object.keys(create.responses).sort()).toEqual([
      '200',
      '400',
      '401',
      '403',
      '409',
      '413',
      '415',
      '422',
      '429',
    ]);
    expect(doc.body.components.securitySchemes).toMatchObject({
      'api-key': { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      bearer: { type: 'http', scheme: 'bearer' },
    });
    // The keys are opaque strings, not JWTs; the version is the package's, not a second one.
    expect(doc.body.components.securitySchemes.bearer).not.toHaveProperty('bearerFormat');
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(doc.body.info.version).toBe(pkg.version);
    expect(create.security).toEqual([{ 'api-key': [] }, { bearer: [] }]);
  });

  it('the committed docs/openapi.json matches the code', () => {
    // The same check CI runs with `npm run openapi:check`, here so a red test names the drift.
    const committed = readFileSync('docs/openapi.json', 'utf8');
    expect(committed).toBe(serializeOpenApi(buildOpenApiDocument(t.app)));
  });
});
