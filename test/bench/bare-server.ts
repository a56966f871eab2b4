/**
 * The GET /api/v1/data baseline: a bare node:http server on a mysql2 pool sending the API's own
 * statement (barPageSql from libs/database: the page and its COUNT(*) in one statement, the same
 * SQL text and parameters the repository sends) and answering with the same JSON shape. No
 * framework, no validation, no logging, no cache: the ceiling the API's read path is measured
 * against, over the same database work.
 */
import { createServer } from 'node:http';
import { createPool } from 'mysql2/promise';
import { barPageSql, toBar, type BarRow } from '@app/database';

const url = new URL(process.env.BENCH_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/hd_bench');
const pool = createPool({
  host: url.hostname,
  port: Number(url.port || 3306),
  user: decodeURIComponent(url.username),
  password: decodeURIComponent(url.password),
  database: url.pathname.slice(1),
  connectionLimit: Number(process.env.DB_POOL_SIZE ?? 10),
  dateStrings: true,
  decimalNumbers: true,
  supportBigNumbers: true,
});

createServer((req, res) => {
  const q = new URL(req.url ?? '/', 'http://x').searchParams;
  const limit = Number(q.get('limit') ?? 100);
  const page = Number(q.get('page') ?? 1);
  const { sql, params } = barPageSql({
    symbol: q.get('symbol') ?? undefined,
    startDate: q.get('start_date') ?? undefined,
    endDate: q.get('end_date') ?? undefined,
    sort: 'asc',
    limit,
    offset: (page - 1) * limit,
    count: true,
  });
  pool.query(sql, params).then(
    ([result]) => {
      const rows = result as (BarRow & { total: number })[];
      const total = Number(rows[0]?.total ?? 0);
      const data = rows.length === 1 && rows[0].id === null ? [] : rows.map(toBar);
      const body = JSON.stringify({
        data,
        pagination: { page, limit, total, totalPages: Math.ceil(total / limit) },
      });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
    },
    (err: Error) => res.writeHead(500).end(err.message),
  );
}).listen(Number(process.env.PORT ?? 3901), '127.0.0.1');
