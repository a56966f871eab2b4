import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describeEachDialect, TestApp } from './support/test-app';

const fixture = (name: string): Buffer => readFileSync(join(__dirname, '..', 'fixtures', name));
const PROBLEM = /application\/problem\+json/;
const HEADER = 'symbol,date,open,high,low,close,volume\n';
const rows = (n: number, symbol = 'AAA', from = 0): string =>
  Array.from({ length: n }, (_, i) => {
    const d = new Date(Date.UTC(1990, 0, 1) + (from + i) * 86_400_000).toISOString().slice(0, 10);
    return `${symbol},${d},10,12,9,11,${1000 + i}\n`;
  }).join('');

async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeEachDialect('CSV upload', (t) => {
  const upload = (body: Buffer | string, query = '', type = 'text/csv') =>
    t.http.post(`/api/v1/data/upload${query}`).set('Content-Type', type).send(body);
  const multipart = (body: Buffer | string, name = 'prices.csv', query = '') =>
    t.http.post(`/api/v1/data/upload${query}`).attach('file', Buffer.from(body), name);

  it('loads a Yahoo Finance export (no symbol column) with symbol=, storing adj_close', async () => {
    const res = await multipart(fixture('yahoo-aapl.csv'), 'AAPL.csv', '?symbol=aapl').expect(200);
    expect(res.body).toMatchObject({
      uploadId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      status: 'completed',
      rows: 4,
      inserted: 4,
      updated: 0,
      skipped: 0,
      failed: 0,
      errors: [],
      errorsTruncated: false,
      durationMs: expect.any(Number),
    });
    const stored = await t.rows();
    expect(stored).toHaveLength(4);
    expect(stored[0]).toMatchObject({ symbol: 'AAPL', date: '2024-01-02' });
    expect(Number(stored[0].adj_close)).toBe(184.73497);
    const api = await t.http.get('/api/v1/data?symbol=AAPL&limit=1').expect(200);
    expect(api.body.data[0]).toMatchObject({
      open: 187.149994,
      adjClose: 184.73497,
      volume: 82488700,
    });
  });

  it('loads a Stooq export: <> headers, YYYYMMDD dates, <TIME> and extra columns ignored', async () => {
    const res = await upload(fixture('stooq-daily.csv')).expect(200);
    expect(res.body).toMatchObject({ rows: 3, inserted: 3, failed: 0 });
    expect((await t.rows()).map((r) => `${String(r.symbol)} ${String(r.date)}`)).toEqual([
      'AAPL.US 2024-01-02',
      'AAPL.US 2024-01-03',
      'MSFT.US 2024-01-02',
    ]);
  });

  it('reads BOM, CRLF and quoted fields with commas, quotes and newlines, counting physical lines', async () => {
    const bad = fixture('quoted-multiline-crlf-bom.csv')
      .toString()
      .replace('181.99,182.76', '181.99,1.76');
    const res = await upload(bad).expect(200);
    expect(res.body).toMatchObject({ rows: 4, inserted: 3, failed: 1 });
    // Records start on lines 2, 3 (two lines), 5 (three lines, with "71,983,600") and 8.
    expect(res.body.errors).toEqual([
      {
        line: 8,
        column: 'High',
        value: '1.76',
        code: 'HIGH_BELOW_LOW',
        message: 'high 1.76 is below low 180.17',
      },
    ]);
    const [, , third] = await t.rows();
    expect(Number(third.volume)).toBe(71983600);
  });

  it('detects tab and semicolon delimiters; aliases; dateFormat=DD/MM/YYYY; $ and grouping; exponent volume', async () => {
    await upload(fixture('tab-dayfirst.csv'), '?dateFormat=DD/MM/YYYY').expect(200, /"inserted":2/);
    await upload(fixture('semicolon-dotdates.csv')).expect(200, /"inserted":1/);
    const stored = await t.rows();
    expect(stored.map((r) => `${String(r.symbol)} ${String(r.date)}`)).toEqual([
      'BTC-USD 2024-01-02',
      '^GSPC 2024-01-13',
      '^GSPC 2024-01-14',
    ]);
    expect(Number(stored[0].open)).toBe(44187.14);
    expect(Number(stored[0].volume)).toBe(1029145);
    // Read month-first, every row fails: nothing written is a 422, the dates' hint included.
    const monthFirst = await upload(fixture('tab-dayfirst.csv')).expect(422);
    expect(monthFirst.body.errorCounts).toEqual({ INVALID_DATE: 2 });
    expect(monthFirst.body.errors[0].message).toContain('dateFormat=DD/MM/YYYY');
  });

  it('reports each bad row with its line, column, value and code', async () => {
    const res = await upload(fixture('bad-rows.csv')).expect(200);
    expect(res.body).toMatchObject({ rows: 12, inserted: 1, failed: 11 });
    expect(
      res.body.errors.map((e: Record<string, unknown>) => [e.line, e.column, e.value, e.code]),
    ).toEqual([
      [3, 'date', '2024-02-30', 'INVALID_DATE'],
      [4, 'symbol', '', 'MISSING_FIELD'],
      [5, 'open', 'abc', 'INVALID_NUMBER'],
      [6, 'high', '2', 'HIGH_BELOW_LOW'],
      [7, 'open', '5', 'OPEN_OUT_OF_RANGE'],
      [8, 'volume', '-3', 'INVALID_VOLUME'],
      [9, 'date', '1899-12-31', 'DATE_OUT_OF_RANGE'],
      [10, '', 'AAPL,2024-01-08,1,2,1,1.5', 'WRONG_COLUMN_COUNT'],
      [11, 'date', '2024-01-02', 'DUPLICATE_IN_FILE'],
      [12, 'symbol', 'BAD SYMBOL!', 'INVALID_SYMBOL'],
      [13, 'open', '0', 'NON_POSITIVE_PRICE'],
    ]);
    expect(res.body.errorCounts).toMatchObject({
      INVALID_DATE: 1,
      WRONG_COLUMN_COUNT: 1,
      DUPLICATE_IN_FILE: 1,
    });
    expect(await t.count()).toBe(1);
  });

  it('onConflict: update reports updated, skip leaves rows, error reports ALREADY_EXISTS by line', async () => {
    await upload(HEADER + rows(3)).expect(200);
    const changed = HEADER + rows(3).replace(/,11,/g, ',11.5,') + rows(1, 'AAA', 3);
    await upload(changed).expect(200, /"inserted":1,"updated":3,"skipped":0/);
    await upload(HEADER + rows(4).replace(/,11,/g, ',10.5,'), '?onConflict=skip').expect(
      200,
      /"inserted":0,"updated":0,"skipped":4/,
    );
    const res = await upload(HEADER + rows(5), '?onConflict=error').expect(200);
    expect(res.body).toMatchObject({ inserted: 1, failed: 4 });
    expect(
      res.body.errors.map((e: { line: number; code: string }) => `${e.line}:${e.code}`),
    ).toEqual(['2:ALREADY_EXISTS', '3:ALREADY_EXISTS', '4:ALREADY_EXISTS', '5:ALREADY_EXISTS']);
    const [first] = await t.rows();
    expect(Number(first.close)).toBe(11.5);
    const csv = await t.http.get(`/api/v1/uploads/${res.body.uploadId}/errors`).expect(200);
    expect(csv.text.split('\n')[1]).toBe(
      `2,ALREADY_EXISTS,date,1990-01-01,AAA 1990-01-01 is already stored (onConflict=error),"AAA,1990-01-01,10,12,9,11,1000"`,
    );
  });

  it('atomic=true: one bad row among thousands writes nothing (422), and the upload is recorded failed', async () => {
    const body = HEADER + rows(4500) + 'AAA,2050-01-01,1,2,1,1.5,1\n';
    const res = await upload(body, '?atomic=true').expect(422).expect('Content-Type', PROBLEM);
    expect(res.body).toMatchObject({
      code: 'ROWS_REJECTED',
      rows: 4501,
      inserted: 0,
      failed: 1,
      status: 422,
      uploadStatus: 'failed',
    });
    expect(res.body.errors).toEqual([
      expect.objectContaining({ line: 4502, code: 'DATE_OUT_OF_RANGE' }),
    ]);
    expect(await t.count()).toBe(0);
    const record = await t.http.get(`/api/v1/uploads/${res.body.uploadId}`).expect(200);
    expect(record.body).toMatchObject({ status: 'failed', report: { inserted: 0, failed: 1 } });
    await upload(HEADER + rows(4500), '?atomic=true').expect(200, /"inserted":4500/);
  });

  it('dryRun=true validates and predicts counts without writing', async () => {
    await upload(HEADER + rows(2)).expect(200);
    const res = await upload(HEADER + rows(3) + 'AAA,bad,1,2,1,1.5,1\n', '?dryRun=true').expect(
      200,
    );
    expect(res.body).toMatchObject({ dryRun: true, rows: 4, inserted: 1, updated: 2, failed: 1 });
    expect(await t.count()).toBe(2);
  });

  it('missing required columns → 422 INVALID_CSV_HEADER naming them; nothing written', async () => {
    const res = await upload('Date,Open,Close\n2024-01-02,1,1\n')
      .expect(422)
      .expect('Content-Type', PROBLEM);
    expect(res.body).toMatchObject({
      code: 'INVALID_CSV_HEADER',
      missing: ['symbol', 'high', 'low', 'volume'],
    });
    expect(res.body.detail).toContain('symbol, high, low, volume');
    expect(await t.count()).toBe(0);
  });

  it.each([
    ['an empty body', ''],
    ['blank lines only', '\n\n\r\n'],
    ['a header only', HEADER],
  ])('%s → 422 EMPTY_FILE', async (_name, body) => {
    const res = await upload(body).expect(422);
    expect(res.body.code).toBe('EMPTY_FILE');
  });

  it('binary content, JSON and unknown types → 415; multipart without a file field → 400', async () => {
    const png = Buffer.from([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52,
    ]);
    expect((await multipart(png, 'chart.png').expect(415)).body.code).toBe(
      'UNSUPPORTED_MEDIA_TYPE',
    );
    expect((await upload('[]', '', 'application/json').expect(415)).body.code).toBe(
      'UNSUPPORTED_MEDIA_TYPE',
    );
    expect((await upload('x', '', 'image/png').expect(415)).body.code).toBe(
      'UNSUPPORTED_MEDIA_TYPE',
    );
    const noFile = await t.http.post('/api/v1/data/upload').field('other', 'x').expect(400);
    expect(noFile.body.errors).toEqual([expect.objectContaining({ field: 'file' })]);
  });

  it('a truncated last line and an unterminated quote are reported rows, not failures of the upload', async () => {
    const truncated = await upload(fixture('truncated-last-line.csv')).expect(200);
    expect(truncated.body).toMatchObject({ rows: 2, inserted: 1, failed: 1 });
    expect(truncated.body.errors).toEqual([
      expect.objectContaining({ line: 3, code: 'WRONG_COLUMN_COUNT' }),
    ]);
    const unterminated = await upload(fixture('unterminated-quote.csv')).expect(200);
    expect(unterminated.body).toMatchObject({ inserted: 0, updated: 1, failed: 1 });
    expect(unterminated.body.errors).toEqual([
      expect.objectContaining({ line: 3, code: 'WRONG_COLUMN_COUNT' }),
    ]);
  });

  it('a 1 MB single line is one rejected row', async () => {
    const res = await upload(HEADER + 'A'.repeat(1_048_576) + '\n' + rows(1)).expect(200);
    expect(res.body).toMatchObject({ rows: 2, inserted: 1, failed: 1 });
    expect(res.body.errors[0]).toMatchObject({ line: 2, code: 'WRONG_COLUMN_COUNT' });
    expect(res.body.errors[0].value.length).toBeLessThan(300);
  });

  it('a line longer than 4 MiB ends the file as one rejected record; the rows before it are written', async () => {
    const res = await upload(
      HEADER + rows(3) + 'B'.repeat(5 * 1024 * 1024) + '\n' + rows(1, 'ZZZ'),
    ).expect(200);
    expect(res.body).toMatchObject({ rows: 4, inserted: 3, failed: 1 });
    expect(res.body.errors).toEqual([
      expect.objectContaining({
        line: 5,
        code: 'WRONG_COLUMN_COUNT',
        message: expect.stringContaining('longer than'),
      }),
    ]);
  });

  it('lists the first 1000 errors, flags the rest and counts every code', async () => {
    const bad = Array.from({ length: 1500 }, (_, i) => `X,2024-01-01,1,2,1,1.5,-${i + 1}\n`).join(
      '',
    );
    const res = await upload(HEADER + rows(10) + bad).expect(200);
    expect(res.body).toMatchObject({
      rows: 1510,
      inserted: 10,
      failed: 1500,
      errorsTruncated: true,
    });
    expect(res.body.errors).toHaveLength(1000);
    expect(res.body.errorCounts).toEqual({ INVALID_VOLUME: 1500 });
    const csv = await t.http.get(`/api/v1/uploads/${res.body.uploadId}/errors`).expect(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.headers['content-disposition']).toContain('rejected.csv');
    const lines = csv.text.trim().split('\n');
    expect(lines[0]).toBe('line,code,column,value,message,record');
    expect(lines).toHaveLength(1501);
    expect(lines[1]).toBe(
      '12,INVALID_VOLUME,volume,-1,volume must be a whole number >= 0,"X,2024-01-01,1,2,1,1.5,-1"',
    );
  });

  it('async: 202 with Location, then status with progress and report, the audit list and the errors CSV', async () => {
    const res = await multipart(HEADER + rows(6000) + 'AAA,1990-01-01,1,2,1,1.5,1\n', 'big.csv')
      .set('Prefer', 'respond-async')
      .expect(202);
    expect(res.headers.location).toBe(`/api/v1/uploads/${res.body.uploadId}`);
    expect(res.body).toEqual({
      uploadId: expect.any(String),
      status: 'queued',
      statusUrl: res.headers.location,
    });
    const done = await until(
      async () =>
        (await t.http.get(res.headers.location).expect(200)).body as {
          status: string;
          progress: { bytesRead: number; bytesTotal: number };
        },
      (b) => b.status === 'completed',
    );
    expect(done).toMatchObject({
      status: 'completed',
      mode: 'async',
      fileName: 'big.csv',
      // No API_KEYS here: no key names the uploader; the address is recorded apart.
      client: null,
      clientIp: expect.any(String),
      progress: { rows: 6001, bytesTotal: expect.any(Number) },
      report: {
        rows: 6001,
        inserted: 6000,
        failed: 1,
        errors: [expect.objectContaining({ line: 6002, code: 'DUPLICATE_IN_FILE' })],
      },
      finishedAt: expect.any(String),
    });
    expect(done.progress.bytesRead).toBe(done.progress.bytesTotal);
    expect(await t.count()).toBe(6000);

    await upload(HEADER + rows(1), '?async=true').expect(202);
    const list = await t.http.get('/api/v1/uploads?limit=10').expect(200);
    expect(list.body.pagination.total).toBe(2);
    expect(list.body.data[1]).toMatchObject({
      uploadId: res.body.uploadId,
      fileName: 'big.csv',
      report: { errors: [] },
    });
    await t.http.get('/api/v1/uploads/00000000-0000-0000-0000-000000000000').expect(404);
    await t.http.get('/api/v1/uploads/nope/errors').expect(404);
  });

  it('sweeps to interrupted only uploads whose heartbeat is stale, never one a live replica runs', async () => {
    const gone = (await upload(HEADER + rows(1)).expect(200)).body.uploadId as string;
    const live = (await upload(HEADER + rows(1)).expect(200)).body.uploadId as string;
    // One left processing by an instance that died long ago; one another replica is running now
    // (its heartbeat is as fresh as its creation).
    await t.dataSource.query(
      "UPDATE uploads SET status = 'processing', owner_instance = 'gone-pod', heartbeat_at = '2000-01-01 00:00:00.000' WHERE id = ?",
      [gone],
    );
    await t.dataSource.query(
      "UPDATE uploads SET status = 'processing', owner_instance = 'live-pod' WHERE id = ?",
      [live],
    );
    const { UploadSweeper } = await import('../../apps/api/src/upload/upload.sweeper');
    expect(await t.app.get(UploadSweeper).sweep()).toBe(1);
    const status = async (id: string) =>
      (await t.http.get(`/api/v1/uploads/${id}`).expect(200)).body as Record<string, unknown>;
    expect(await status(gone)).toMatchObject({
      status: 'interrupted',
      message: expect.stringContaining('heartbeat went stale'),
      finishedAt: expect.any(String),
    });
    expect(await status(live)).toMatchObject({ status: 'processing' });
  });
});

describeEachDialect('CSV upload chunking', (t) => {
  beforeAll(async () => {
    await t.app.listen(0, '127.0.0.1');
  });

  /** POSTs `body` as a chunked text/csv stream cut at the given byte offsets. */
  const postInChunks = (body: Buffer, cuts: number[], query: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const { port } = t.app.getHttpServer().address() as AddressInfo;
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: `/api/v1/data/upload${query}`,
          headers: { 'Content-Type': 'text/csv' },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(JSON.parse(text) as Record<string, unknown>));
        },
      );
      req.on('error', reject);
      let prev = 0;
      for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
        req.write(body.subarray(prev, cut));
        prev = cut;
      }
      req.end(body.subarray(prev));
    });

  it('the same bytes cut into any chunks give the same report', async () => {
    const extra = [
      'AAPL,2024-02-30,1,2,1,1.5,10,"bad ""date"""',
      'AAPL,2024-01-02,1,2,1,1.5,10,dup',
      'MSFT,2024-01-02,1,2,3,1.5,10,é€',
      '',
    ].join('\r\n');
    const body = Buffer.concat([fixture('quoted-multiline-crlf-bom.csv'), Buffer.from(extra)]);
    const strip = (r: Record<string, unknown>) => ({
      ...r,
      uploadId: undefined,
      durationMs: undefined,
    });
    const whole = strip(await postInChunks(body, [], '?dryRun=true'));
    expect(whole).toMatchObject({ rows: 7, failed: 3 });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: body.length - 1 }), { maxLength: 12 }),
        async (cuts) => {
          expect(strip(await postInChunks(body, cuts, '?dryRun=true'))).toEqual(whole);
        },
      ),
      { numRuns: 25 },
    );
  });
});

describeEachDialect('CSV upload limits and interruptions', (t) => {
  const LIMIT = 64 * 1024;
  const limited = new TestApp(t.dialect, t.baseOverrides);
  beforeAll(() => limited.start({ UPLOAD_MAX_BYTES: String(LIMIT) }));
  afterAll(() => limited.stop());

  const rawPost = (app: TestApp, headers: Record<string, string>) => {
    const { port } = app.app.getHttpServer().address() as AddressInfo;
    return httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/api/v1/data/upload',
      headers,
    });
  };

  beforeAll(async () => {
    await limited.app.listen(0, '127.0.0.1');
  });

  it('a declared size over UPLOAD_MAX_BYTES gets 413 before any of the body is sent', async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = rawPost(limited, {
        'Content-Type': 'text/csv',
        'Content-Length': String(LIMIT * 100),
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.flushHeaders(); // headers only: the server must answer without waiting for the body
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('a streamed body crossing the limit gets 413 as soon as it does, without reading the rest', async () => {
    const chunk = rows(200);
    let sent = 0;
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = rawPost(limited, { 'Content-Type': 'text/csv', 'Transfer-Encoding': 'chunked' });
      let answered = false;
      req.on('response', (res) => {
        answered = true;
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', (err) => (answered ? undefined : reject(err)));
      req.write(HEADER);
      const pump = (): void => {
        if (answered || sent > LIMIT * 50) return void req.end();
        sent += chunk.length;
        req.write(chunk, () => setImmediate(pump));
      };
      pump();
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    // How much the client got to send meanwhile is timing (the server discards it unread during
    // the lingering close); what the server *read* is bounded below, from the upload record.
    const [upload] = (await limited.http.get('/api/v1/uploads').expect(200)).body.data;
    expect(upload).toMatchObject({
      status: 'failed',
      message: expect.stringContaining('UPLOAD_MAX_BYTES'),
    });
    expect(upload.progress.bytesRead).toBeLessThanOrEqual(LIMIT + chunk.length * 4);
    expect(await limited.count()).toBe(upload.report.inserted + upload.report.updated);
  });

  it('a client that disconnects half way leaves exactly the batches the upload record says were committed', async () => {
    await t.app.listen(0, '127.0.0.1');
    const req = rawPost(t, { 'Content-Type': 'text/csv', 'Transfer-Encoding': 'chunked' });
    req.on('error', () => undefined);
    req.write(HEADER);
    for (let i = 0; i < 5; i++) req.write(rows(2000, 'DIS', i * 2000));
    // Wait until at least one batch is committed, then vanish mid-file.
    await until(
      async () =>
        Number(
          (
            await t.dataSource.query<{ n: number }[]>('SELECT COUNT(*) AS n FROM historical_data')
          )[0].n,
        ),
      (n) => n > 0,
    );
    req.write('DIS,2024-01-0');
    req.destroy();
    const record = await until(
      async () =>
        (await t.http.get('/api/v1/uploads').expect(200)).body.data[0] as {
          status: string;
          report: { inserted: number };
        },
      (u: { status: string; report: { inserted: number } }) => u.status === 'failed',
    );
    expect(record).toMatchObject({
      status: 'failed',
      message: expect.stringContaining('disconnected'),
    });
    expect(await t.count()).toBe(record.report.inserted);
    expect(record.report.inserted % 2000).toBe(0);
  });
});
