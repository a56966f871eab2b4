import { bar, describeEachDialect } from './support/test-app';

/** The fixed metric names (docs/OPERATIONS.md, "Metrics"): dashboards and alerts query exactly these. */
const FIXED_METRICS = [
  'http_request_duration_seconds',
  'http_requests_total',
  'http_requests_in_flight',
  'db_query_duration_seconds',
  'ingest_rows_total',
  'ingest_duration_seconds',
  'uploads_total',
  'cache_requests_total',
  'rate_limited_requests_total',
];

/** The value of one sample line, e.g. sample(text, 'uploads_total{status="completed"}'). */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : NaN;
}

describeEachDialect('GET /metrics', (t) => {
  const scrape = async (): Promise<string> => {
    const res = await t.http.get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    return res.text;
  };

  it('exposes every documented metric and the default process and Node.js metrics', async () => {
    const text = await scrape();
    for (const name of FIXED_METRICS) expect(text).toContain(`# TYPE ${name} `);
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
  });

  it('labels requests by route template, never the raw URL; unmatched routes share one label', async () => {
    await t.http.get('/api/v1/data/123456').expect(404);
    await t.http.get('/api/v1/data/654321').expect(404);
    await t.http.get('/no/such/route/42').expect(404);
    await t.http.get('/api/v1/data?limit=5').expect(200);
    const text = await scrape();
    expect(text).toContain(
      'http_requests_total{method="GET",route="/api/v1/data/:id",status_code="404"}',
    );
    expect(
      sample(text, 'http_requests_total{method="GET",route="/api/v1/data/:id",status_code="404"}'),
    ).toBeGreaterThanOrEqual(2);
    expect(text).toContain('http_requests_total{method="GET",route="unmatched",status_code="404"}');
    expect(text).toContain(
      'http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/v1/data",status_code="200"}',
    );
    expect(text).not.toMatch(/route="[^"]*(123456|654321|such)/);
  });

  it('counts what ingest and the database actually did', async () => {
    const before = await scrape();
    await t.http
      .post('/api/v1/data')
      .send([bar(), bar({ date: '2024-01-03' }), bar({ high: 1 })])
      .expect(200);
    await t.http
      .post('/api/v1/data/upload')
      .set('Content-Type', 'text/csv')
      .send(
        'symbol,date,open,high,low,close,volume\nMSFT,2024-01-02,1,2,1,1.5,10\nMSFT,2024-01-02,1,2,1,1.5,10\n',
      )
      .expect(200);
    await t.http
      .post('/api/v1/data/upload?atomic=true')
      .set('Content-Type', 'text/csv')
      .send('symbol,date,open,high,low,close,volume\nX,2024-01-02,1,2,1,1.5,-1\n')
      .expect(422);
    const after = await scrape();
    // A labelled histogram series appears with its first observation: absent before means 0.
    const delta = (series: string) => sample(after, series) - (sample(before, series) || 0);
    expect(delta('ingest_rows_total{source="json",outcome="inserted"}')).toBe(2);
    expect(delta('ingest_rows_total{source="json",outcome="failed"}')).toBe(1);
    expect(delta('ingest_rows_total{source="csv",outcome="inserted"}')).toBe(1);
    expect(delta('ingest_rows_total{source="csv",outcome="failed"}')).toBe(2);
    expect(delta('uploads_total{status="completed"}')).toBe(1);
    expect(delta('uploads_total{status="failed"}')).toBe(1);
    expect(delta('ingest_duration_seconds_count{source="json"}')).toBe(1);
    expect(delta('ingest_duration_seconds_count{source="csv"}')).toBe(2);
    // The JSON write is an upsert_batch; the CSV rows go the same way on SQLite and as a
    // streamed LOAD DATA chunk (load_chunk) on MySQL/MariaDB: each write is timed either way.
    const timedWrites = (operation: string) =>
      delta(`db_query_duration_seconds_count{operation="${operation}"}`) || 0;
    expect(timedWrites('upsert_batch') + timedWrites('load_chunk')).toBeGreaterThanOrEqual(2);
    expect(sample(after, 'http_requests_in_flight')).toBe(1); // this scrape itself
  });
});
