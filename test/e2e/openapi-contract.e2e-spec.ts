import { TestApp } from './support/test-app';

/*
 * What a generated client is told by /docs-json. (`npm run contract:check` compiles a client
 * against docs/openapi.json; `npm run openapi:lint` runs Redocly's rules on it.)
 */
type Schema = { $ref?: string; type?: string; properties?: object; items?: Schema };
type Operation = {
  operationId: string;
  parameters?: { name: string; in: string; required?: boolean; schema?: { default?: unknown } }[];
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
  security?: unknown[];
};
type Document = {
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
};

describe('OpenAPI contract', () => {
  const t = new TestApp('sqlite');
  let doc: Document;
  beforeAll(async () => {
    await t.start();
    doc = (await t.http.get('/docs-json').expect(200)).body as Document;
  });
  afterAll(() => t.stop());

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({
        route: `${method.toUpperCase()} ${path}`,
        op,
      })),
    );

  it('describes the body of every success response with a named schema (or text for CSV)', () => {
    const vague: string[] = [];
    for (const { route, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (!status.startsWith('2') || status === '204') continue;
        const content = Object.entries(response.content ?? {});
        if (content.length === 0) vague.push(`${route} ${status}: no content`);
        for (const [type, { schema }] of content) {
          const named = schema?.$ref?.startsWith('#/components/schemas/');
          // Streams of text (CSV, NDJSON) are described as strings with an example.
          const text =
            (type.startsWith('text/') || type === 'application/x-ndjson') &&
            schema?.type === 'string';
          if (!named && !text) vague.push(`${route} ${status} ${type}: ${JSON.stringify(schema)}`);
        }
      }
    }
    expect(vague).toEqual([]);
    // The upload routes' bodies are real shapes, down to the nested report.
    const view = doc.components.schemas.UploadViewDto as { properties: Record<string, Schema> };
    expect(view.properties.report.$ref).toBe('#/components/schemas/UploadCountsDto');
    expect(doc.paths['/api/v1/uploads'].get.responses['200'].content).toEqual({
      'application/json': { schema: { $ref: '#/components/schemas/UploadPageDto' } },
    });
    expect(doc.paths['/api/v1/uploads/{id}/errors'].get.responses['200'].content).toHaveProperty(
      'text/csv',
    );
  });

  it('names a server and marks the health probes public with security: []', () => {
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/' })]);
    expect(doc.paths['/health'].get.security).toEqual([]);
    expect(doc.paths['/health/ready'].get.security).toEqual([]);
    for (const { route, op } of operations()) {
      if (!route.includes('/health'))
        expect({ route, security: op.security }).not.toEqual({ route, security: undefined });
    }
  });

  it('never marks a query parameter with a default as required (sort, page, limit, ...)', () => {
    // The query parameters the API really cannot do without (no default exists for them).
    const REQUIRED = new Set(['GET /api/v1/data/aggregate interval']);
    const wrong = operations().flatMap(({ route, op }) =>
      (op.parameters ?? [])
        .filter((p) => p.in === 'query' && p.required)
        .map((p) => `${route} ${p.name}`)
        .filter((name) => !REQUIRED.has(name)),
    );
    expect(wrong).toEqual([]);
    const sort = doc.paths['/api/v1/data'].get.parameters!.find((p) => p.name === 'sort')!;
    expect(sort.required).toBe(false);
    expect(sort.schema?.default).toBe('asc');
  });
});
