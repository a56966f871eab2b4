import { IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { bar, describeEachDialect } from './support/test-app';

/*
 * The upload path's answers in the cases a new user met (issue 12, "Wrong answers" and "Tried as
 * a new user would"): each is what a client sees over a real socket, on every dialect.
 */

/** Small, so that crossing it takes a few thousand rows (a few batches committed first). */
const LIMIT = 256 * 1024;
/** Over the 4 MiB line cap, for the long-line cases. */
const LONG_LIMIT = 6 * 1024 * 1024;
const HEADER = 'symbol,date,open,high,low,close,volume\n';
const rows = (n: number, symbol = 'AAA', from = 0): string =>
  Array.from({ length: n }, (_, i) => {
    const d = new Date(Date.UTC(1950, 0, 1) + (from + i) * 86_400_000).toISOString().slice(0, 10);
    return `${symbol},${d},10,12,9,11,${1000 + i}\n`;
  }).join('');

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The server sent `100 Continue`. */
  continued: boolean;
  /** The request failed on the socket (reset, broken pipe) after the answer, or instead of it. */
  socketError?: string;
}

/**
 * A raw node:http upload. `body` is written in `chunkBytes` pieces, each after the previous one
 * was handed to the socket, and stops as soon as an answer arrives (as curl does); with
 * `sendAllFirst`, the whole body goes out before the answer is looked at (as Python's urllib does).
 * With `Expect: 100-continue` the body is only sent after `100 Continue`.
 */
function rawUpload(
  baseUrl: string,
  options: {
    headers: Record<string, string>;
    body?: Buffer;
    query?: string;
    chunkBytes?: number;
    sendAllFirst?: boolean;
  },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let continued = false;
    let answered = false;
    let answer: Answer | undefined;
    const req = httpRequest(`${baseUrl}/api/v1/data/upload${options.query ?? ''}`, {
      method: 'POST',
      headers: options.headers,
    });
    req.on('response', (res) => {
      answered = true;
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        answer = { status: res.statusCode!, headers: res.headers, body, continued };
        resolve(answer);
      });
    });
    req.on('error', (err) => {
      if (answer) answer.socketError = err.message;
      else reject(err);
    });
    const body = options.body ?? Buffer.alloc(0);
    const size = options.chunkBytes ?? 64 * 1024;
    let sent = 0;
    const pump = (): void => {
      if ((answered && !options.sendAllFirst) || req.destroyed) return;
      if (sent >= body.length) return void req.end();
      const piece = body.subarray(sent, sent + size);
      sent += piece.length;
      req.write(piece, () => setImmediate(pump));
    };
    if (/100-continue/i.test(options.headers.Expect ?? '')) {
      req.on('continue', () => {
        continued = true;
        pump();
      });
      req.flushHeaders();
    } else pump();
  });
}

const problem = (a: Answer): Record<string, unknown> =>
  JSON.parse(a.body) as Record<string, unknown>;

describeEachDialect(
  'CSV upload: right answers',
  (t) => {
    let url: string;
    beforeAll(async () => {
      url = await t.url();
    });
    const uploads = async () =>
      (await t.http.get('/api/v1/uploads?limit=10').expect(200)).body as {
        data: { uploadId: string; status: string; message: string; report: { inserted: number } }[];
        pagination: { total: number };
      };

    it('a declared Content-Length over UPLOAD_MAX_BYTES gets 413 before 100 Continue; nothing is recorded or written', async () => {
      for (const type of ['text/csv', 'multipart/form-data; boundary=xyz']) {
        const answer = await rawUpload(url, {
          headers: {
            'Content-Type': type,
            'Content-Length': String(LIMIT * 10),
            Expect: '100-continue',
          },
          body: Buffer.from(HEADER + rows(10)),
        });
        expect(answer).toMatchObject({ status: 413, continued: false });
        expect(problem(answer)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
      }
      expect((await uploads()).pagination.total).toBe(0);
      expect(await t.count()).toBe(0);
    });

    it('with Expect: 100-continue under the limit, the body is asked for and loaded', async () => {
      const body = Buffer.from(HEADER + rows(3));
      const answer = await rawUpload(url, {
        headers: {
          'Content-Type': 'text/csv',
          'Content-Length': String(body.length),
          Expect: '100-continue',
        },
        body,
      });
      expect(answer).toMatchObject({ status: 200, continued: true });
      expect(problem(answer)).toMatchObject({ inserted: 3 });
    });

    it('a streamed body crossing the limit: 413 carrying the uploadId and exactly what was committed', async () => {
      const body = Buffer.from(HEADER + rows(20_000));
      // Small pieces, as a network delivers them: batches commit while the file arrives.
      const answer = await rawUpload(url, {
        headers: { 'Content-Type': 'text/csv', 'Transfer-Encoding': 'chunked' },
        body,
        chunkBytes: 4096,
      });
      expect(answer.status).toBe(413);
      const p = problem(answer);
      expect(p).toMatchObject({
        code: 'PAYLOAD_TOO_LARGE',
        uploadId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        uploadStatus: 'failed',
        statusUrl: `/api/v1/uploads/${String(p.uploadId)}`,
        inserted: expect.any(Number),
        updated: 0,
        skipped: 0,
      });
      // How much committed before the crossing depends on the write path (SQLite and INSERTs
      // commit every 2,000 rows, MySQL's streamed LOAD DATA every 50,000): the answer says which.
      expect(p.detail).toContain(
        Number(p.inserted) ? `${String(p.inserted)} row(s) were committed` : 'Nothing was written',
      );
      expect(await t.count()).toBe(p.inserted);
      const record = await t.http.get(String(p.statusUrl)).expect(200);
      expect(record.body).toMatchObject({
        status: 'failed',
        report: { inserted: p.inserted },
        message: expect.stringContaining('UPLOAD_MAX_BYTES'),
      });
    });

    it('atomic=true: a body crossing the limit is 413 with nothing committed', async () => {
      const answer = await rawUpload(url, {
        query: '?atomic=true',
        headers: { 'Content-Type': 'text/csv', 'Transfer-Encoding': 'chunked' },
        body: Buffer.from(HEADER + rows(20_000)),
      });
      expect(answer.status).toBe(413);
      expect(problem(answer)).toMatchObject({ uploadStatus: 'failed', inserted: 0, updated: 0 });
      expect(await t.count()).toBe(0);
    });

    it('an upload sent as JSON is 415 UNSUPPORTED_MEDIA_TYPE, whatever the body holds', async () => {
      for (const [type, body] of [
        ['application/json', HEADER + rows(2)],
        ['application/json; charset=utf-8', JSON.stringify([bar()])],
      ]) {
        const res = await t.http
          .post('/api/v1/data/upload')
          .set('Content-Type', type)
          .send(body)
          .expect(415);
        expect(res.body).toMatchObject({
          code: 'UNSUPPORTED_MEDIA_TYPE',
          detail: expect.stringContaining('POST them to /api/v1/data'),
        });
      }
      expect(await t.count()).toBe(0);
    });

    it('every row failed: 422 ROWS_REJECTED with the report, on CSV as on JSON; the upload recorded failed', async () => {
      const csv = await t.http
        .post('/api/v1/data/upload')
        .set('Content-Type', 'text/csv')
        .send(HEADER + 'AAA,2024-01-02,10,9,12,10,1\nAAA,nope,1,2,1,1,1\n')
        .expect(422)
        .expect('Content-Type', /problem\+json/);
      expect(csv.body).toMatchObject({
        code: 'ROWS_REJECTED',
        rows: 2,
        failed: 2,
        inserted: 0,
        uploadId: expect.any(String),
        uploadStatus: 'failed',
        errors: [
          expect.objectContaining({ line: 2, code: 'HIGH_BELOW_LOW' }),
          expect.objectContaining({ line: 3, code: 'INVALID_DATE' }),
        ],
      });
      const record = await t.http.get(`/api/v1/uploads/${String(csv.body.uploadId)}`).expect(200);
      expect(record.body).toMatchObject({ status: 'failed', report: { failed: 2 } });
      const json = await t.http
        .post('/api/v1/data')
        .send([bar({ high: 1 }), bar({ date: 'nope' })])
        .expect(422);
      expect(json.body).toMatchObject({ code: 'ROWS_REJECTED', failed: 2, inserted: 0 });
      // Not "every row failed": skipped rows were handled, so that is a 200.
      await t.http
        .post('/api/v1/data/upload')
        .set('Content-Type', 'text/csv')
        .send(HEADER + rows(2))
        .expect(200);
      await t.http
        .post('/api/v1/data/upload?onConflict=skip')
        .set('Content-Type', 'text/csv')
        .send(HEADER + rows(2) + 'AAA,bad,1,2,1,1,1\n')
        .expect(200, /"skipped":2/);
      // A dry run is a report by definition: 200 even when every row would fail.
      await t.http
        .post('/api/v1/data/upload?dryRun=true')
        .set('Content-Type', 'text/csv')
        .send(HEADER + 'AAA,nope,1,2,1,1,1\n')
        .expect(200, /"failed":1/);
    });

    it('slash dates that only the other dateFormat reads say so', async () => {
      const res = await t.http
        .post('/api/v1/data/upload')
        .set('Content-Type', 'text/csv')
        .send(HEADER + 'AAA,02/01/2024,10,12,9,11,1\nAAA,13/01/2024,10,12,9,11,1\n')
        .expect(200);
      expect(res.body.errors).toEqual([
        expect.objectContaining({
          line: 3,
          code: 'INVALID_DATE',
          message: expect.stringContaining('dateFormat=DD/MM/YYYY'),
        }),
      ]);
      const dayFirst = await t.http
        .post('/api/v1/data/upload?dateFormat=DD/MM/YYYY')
        .set('Content-Type', 'text/csv')
        .send(HEADER + 'BBB,01/13/2024,10,12,9,11,1\nBBB,13/01/2024,10,12,9,11,1\n')
        .expect(200);
      expect(dayFirst.body.errors).toEqual([
        expect.objectContaining({
          line: 2,
          message: expect.stringContaining('dateFormat=MM/DD/YYYY'),
        }),
      ]);
    });

    it('decimal commas: read in semicolon files, and anywhere with decimal=,', async () => {
      const semicolon =
        'Symbol;Date;Open;High;Low;Close;Volume\n' +
        'SX5E;02.01.2024;4.469,25;4.490,5;4.460,00;4.480,75;1000\n' +
        'SX5E;03.01.2024;4469,25;4490,5;4460;4480,75;1000\n';
      const res = await t.http
        .post('/api/v1/data/upload')
        .set('Content-Type', 'text/csv')
        .send(semicolon)
        .expect(200);
      expect(res.body).toMatchObject({ inserted: 2, failed: 0 });
      const tab =
        'symbol\tdate\topen\thigh\tlow\tclose\tvolume\nDAX\t2024-01-02\t1469,25\t1470\t1460,5\t1465\t10\n';
      await t.http
        .post('/api/v1/data/upload?decimal=,')
        .set('Content-Type', 'text/csv')
        .send(tab)
        .expect(200, /"inserted":1/);
      const stored = await t.rows();
      expect(stored.map((r) => [r.symbol, Number(r.open), Number(r.high)])).toEqual([
        ['DAX', 1469.25, 1470],
        ['SX5E', 4469.25, 4490.5],
        ['SX5E', 4469.25, 4490.5],
      ]);
      await t.http
        .post('/api/v1/data/upload?decimal=x')
        .set('Content-Type', 'text/csv')
        .send(tab)
        .expect(400);
    });

    it('gzip: Content-Encoding: gzip and a .csv.gz part are read through gunzip', async () => {
      const gz = gzipSync(HEADER + rows(5));
      const raw = await t.http
        .post('/api/v1/data/upload')
        .set('Content-Type', 'text/csv')
        .set('Content-Encoding', 'gzip')
        .send(gz)
        .expect(200);
      expect(raw.body).toMatchObject({ inserted: 5 });
      const part = await t.http
        .post('/api/v1/data/upload')
        .attach('file', gzipSync(HEADER + rows(3, 'GZ')), 'prices.csv.gz')
        .expect(200);
      expect(part.body).toMatchObject({ inserted: 3 });
      expect(await t.count()).toBe(8);
      const broken = await t.http
        .post('/api/v1/data/upload')
        .set('Content-Type', 'text/csv')
        .set('Content-Encoding', 'gzip')
        .send(gz.subarray(0, gz.length - 12))
        .expect(415);
      expect(broken.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    });

    it('a gzip bomb is 413: the limit counts decompressed bytes too', async () => {
      const bomb = gzipSync(Buffer.concat([Buffer.from(HEADER), Buffer.alloc(LIMIT + 1024, 'A')]));
      expect(bomb.length).toBeLessThan(LIMIT / 100);
      const res = await t.http
        .post('/api/v1/data/upload')
        .set('Content-Type', 'text/csv')
        .set('Content-Encoding', 'gzip')
        .send(bomb)
        .expect(413);
      expect(res.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', inserted: 0 });
    });
  },
  { UPLOAD_MAX_BYTES: String(LIMIT) },
);

describeEachDialect(
  'CSV upload: right answers for long lines',
  (t) => {
    let url: string;
    beforeAll(async () => {
      url = await t.url();
    });

    it.each([
      ['a raw body', 'text/csv'],
      ['a multipart file', 'multipart'],
    ])(
      '%s over the limit that is one long line is 413, not a completed upload with one bad row',
      async (_name, kind) => {
        const line = Buffer.alloc(LONG_LIMIT + 1024 * 1024, 'A');
        const csv = Buffer.concat([Buffer.from(HEADER), line, Buffer.from('\n')]);
        const body =
          kind === 'multipart'
            ? Buffer.concat([
                Buffer.from(
                  '--xyz\r\nContent-Disposition: form-data; name="file"; filename="long.csv"\r\nContent-Type: text/csv\r\n\r\n',
                ),
                csv,
                Buffer.from('\r\n--xyz--\r\n'),
              ])
            : csv;
        const answer = await rawUpload(url, {
          headers: {
            'Content-Type': kind === 'multipart' ? 'multipart/form-data; boundary=xyz' : kind,
            'Transfer-Encoding': 'chunked',
          },
          body,
        });
        expect(answer.status).toBe(413);
        expect(problem(answer)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', inserted: 0 });
        const listed = await t.http.get('/api/v1/uploads').expect(200);
        expect(listed.body.data[0]).toMatchObject({ status: 'failed' });
      },
    );

    it('a line over 4 MiB under the limit: the rest of the body is read (not left hanging) and the report given', async () => {
      const body = Buffer.from(
        HEADER + rows(3) + 'B'.repeat(5 * 1024 * 1024) + '\n' + rows(2, 'Z'),
      );
      const answer = await rawUpload(url, {
        headers: { 'Content-Type': 'text/csv', 'Content-Length': String(body.length) },
        body,
        sendAllFirst: true,
      });
      expect(answer.socketError).toBeUndefined();
      expect(answer.status).toBe(200);
      expect(problem(answer)).toMatchObject({ rows: 4, inserted: 3, failed: 1 });
    });

    it('a header line over 4 MiB is 422 INVALID_CSV_HEADER, and a client sending it all first gets the answer', async () => {
      const body = Buffer.from('symbol,' + 'x'.repeat(5 * 1024 * 1024) + '\n' + rows(10));
      for (const sendAllFirst of [true, false]) {
        const answer = await rawUpload(url, {
          headers: { 'Content-Type': 'text/csv', 'Content-Length': String(body.length) },
          body,
          sendAllFirst,
        });
        expect(answer.socketError).toBeUndefined();
        expect(answer.status).toBe(422);
        expect(problem(answer)).toMatchObject({
          code: 'INVALID_CSV_HEADER',
          detail: expect.stringContaining('longer than'),
        });
      }
      expect(await t.count()).toBe(0);
      // The connection is still usable afterwards: the next request is served.
      await t.http.get('/health').expect(200);
    });
  },
  { UPLOAD_MAX_BYTES: String(LONG_LIMIT) },
);
