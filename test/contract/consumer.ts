/*
 * The API as a generated client sees it (`npm run contract:check`). openapi-typescript turns
 * docs/openapi.json into ./generated/openapi.d.ts; this file calls the routes through openapi-fetch
 * and pins the types of what comes back. It is only type-checked: a response documented as
 * `object` or `any`, a parameter wrongly marked required, or a renamed field fails the build.
 *
 * To cover a new route: add a function below that calls it and pins a few fields with
 * `expectType`, and list it in `calls`.
 */
import createClient from 'openapi-fetch';
import type { components, paths } from './generated/openapi';

type Schemas = components['schemas'];
/** A client that asks for JSON (a route may offer CSV too: this one only sees the JSON body). */
type Client = ReturnType<typeof createClient<paths, 'application/json'>>;
/** A client that reads CSV bodies as text. */
type CsvClient = ReturnType<typeof createClient<paths, 'text/csv'>>;

/** True only when A and B are the same type (`any` equals nothing but `any`). */
type Equals<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Compiles only when `value` has exactly the type `Expected`: never when it is `any`. */
function expectType<Expected>() {
  return <Actual>(
    value: Actual,
    ..._exact: Equals<Actual, Expected> extends true ? [] : [mismatch: never]
  ): Actual => value;
}

/** A failed call: its body is the problem+json document. */
function fail(error: unknown): never {
  const code: Schemas['ProblemDto']['code'] | undefined = (
    error as Schemas['ProblemDto'] | undefined
  )?.code;
  throw new Error(`request failed: ${code ?? 'no problem body'}`);
}

/** GET /api/v1/data: no parameter is required (sort, page and limit have defaults). */
async function listBars(api: Client) {
  const { data: page, error } = await api.GET('/api/v1/data', {
    params: { query: { symbol: 'AAPL', start_date: '2024-01-01', limit: 10 } },
  });
  if (!page) return fail(error);
  expectType<number>()(page.pagination.total);
  expectType<number>()(page.pagination.totalPages);
  const bar = page.data[0];
  expectType<number>()(bar.close);
  expectType<string>()(bar.date);
  expectType<number | undefined>()(bar.adjClose);
  const desc = await api.GET('/api/v1/data', { params: { query: { sort: 'desc' } } });
  return [page, desc.data] as const;
}

/** GET /api/v1/data with a cursor: keyset paging, nextCursor typed as string | null. */
async function walkWithCursor(api: Client) {
  const first = await api.GET('/api/v1/data', {
    params: { query: { symbols: 'AAPL,MSFT', limit: 1000 } },
  });
  if (!first.data) return fail(first.error);
  const cursor = expectType<string | null>()(first.data.pagination.nextCursor);
  if (cursor === null) return first.data;
  const next = await api.GET('/api/v1/data', {
    params: { query: { symbols: 'AAPL,MSFT', limit: 1000, cursor } },
  });
  return next.data;
}

/** GET /api/v1/data/export: CSV (or NDJSON) text, streamed. */
async function exportBars(_api: Client, csvApi: CsvClient) {
  const { data: csv, error } = await csvApi.GET('/api/v1/data/export', {
    params: { query: { symbols: 'AAPL,MSFT', start_date: '2024-01-01', format: 'csv' } },
    parseAs: 'text',
  });
  if (csv === undefined) return fail(error);
  expectType<string>()(csv);
  return csv;
}

/** GET /api/v1/data/aggregate: bars resampled to calendar periods. */
async function aggregate(api: Client) {
  const { data: page, error } = await api.GET('/api/v1/data/aggregate', {
    params: { query: { symbol: 'AAPL', interval: 'month' } },
  });
  if (!page) return fail(error);
  const row = page.data[0];
  expectType<string>()(row.periodStart);
  expectType<string>()(row.periodEnd);
  expectType<number>()(row.open);
  expectType<number>()(row.volume);
  expectType<number>()(row.bars);
  return page;
}

/** GET /api/v1/symbols, one symbol, its latest bar and its gaps. */
async function symbols(api: Client) {
  const { data: page, error } = await api.GET('/api/v1/symbols', {});
  if (!page) return fail(error);
  expectType<string>()(page.data[0].firstDate);
  expectType<number>()(page.data[0].bars);
  const one = await api.GET('/api/v1/symbols/{symbol}', { params: { path: { symbol: 'AAPL' } } });
  if (one.data) expectType<string>()(one.data.lastDate);
  const latest = await api.GET('/api/v1/symbols/{symbol}/latest', {
    params: { path: { symbol: 'AAPL' } },
  });
  if (latest.data) expectType<number>()(latest.data.close);
  const gaps = await api.GET('/api/v1/symbols/{symbol}/gaps', {
    params: { path: { symbol: 'AAPL' }, query: { min_business_days: 3 } },
  });
  if (gaps.data) expectType<number>()(gaps.data.data[0].businessDays);
  return page;
}

/** GET /api/v1/data/{id} */
async function oneBar(api: Client) {
  const { data: bar, error } = await api.GET('/api/v1/data/{id}', {
    params: { path: { id: 1 } },
  });
  if (!bar) return fail(error);
  expectType<number>()(bar.volume);
  expectType<string>()(bar.symbol);
  return bar;
}

/** GET /api/v1/uploads (admin): the audit list. */
async function listUploads(api: Client) {
  const { data: page, error } = await api.GET('/api/v1/uploads', {
    params: { query: { page: 1 } },
  });
  if (!page) return fail(error);
  expectType<number>()(page.pagination.total);
  const upload = page.data[0];
  expectType<string | null>()(upload.fileName);
  expectType<number>()(upload.report.inserted);
  expectType<'sync' | 'async'>()(upload.mode);
  return page;
}

/** GET /api/v1/uploads/{id}: status, progress and the report with its rejected rows. */
async function uploadReport(api: Client) {
  const { data: upload, error } = await api.GET('/api/v1/uploads/{id}', {
    params: { path: { id: '0b8e6c1e-6d6c-4a4e-9d8e-2f1f0f3c2a11' } },
  });
  if (!upload) return fail(error);
  expectType<'queued' | 'processing' | 'completed' | 'failed' | 'interrupted'>()(upload.status);
  expectType<number | null>()(upload.progress.bytesTotal);
  expectType<number>()(upload.report.errors[0].line);
  expectType<number>()(upload.report.errorCounts.HIGH_BELOW_LOW);
  expectType<boolean>()(upload.options.atomic);
  return upload;
}

/** GET /api/v1/data with `Accept: text/csv`: the page as CSV text. */
async function listBarsAsCsv(_api: Client, csvApi: CsvClient) {
  const { data: csv, error } = await csvApi.GET('/api/v1/data', {
    params: { query: { symbol: 'AAPL' } },
    headers: { Accept: 'text/csv' },
    parseAs: 'text',
  });
  if (csv === undefined) return fail(error);
  expectType<string>()(csv);
  return csv;
}

/** GET /api/v1/uploads/{id}/errors: CSV text, not JSON. */
async function rejectedRows(_api: Client, csvApi: CsvClient) {
  const { data: csv, error } = await csvApi.GET('/api/v1/uploads/{id}/errors', {
    params: { path: { id: '0b8e6c1e-6d6c-4a4e-9d8e-2f1f0f3c2a11' } },
    parseAs: 'text',
  });
  if (csv === undefined) return fail(error);
  expectType<string>()(csv);
  return csv;
}

/** GET /health and /health/ready: public, typed. */
async function health(api: Client) {
  const live = await api.GET('/health');
  const ready = await api.GET('/health/ready');
  if (live.data) expectType<'ok'>()(live.data.status);
  if (ready.data) expectType<'up' | 'down'>()(ready.data.details.database.status);
  return [live.data, ready.data] as const;
}

export const calls: Record<string, (api: Client, csvApi: CsvClient) => Promise<unknown>> = {
  listBars,
  walkWithCursor,
  exportBars,
  aggregate,
  symbols,
  listBarsAsCsv,
  oneBar,
  listUploads,
  uploadReport,
  rejectedRows,
  health,
};

/** Every call against a running server, e.g. `runAll('http://localhost:3000')`. */
export async function runAll(baseUrl: string, apiKey?: string): Promise<void> {
  const headers = apiKey ? { 'X-API-Key': apiKey } : {};
  const api = createClient<paths, 'application/json'>({ baseUrl, headers });
  const csvApi = createClient<paths, 'text/csv'>({ baseUrl, headers });
  for (const call of Object.values(calls)) await call(api, csvApi);
}
