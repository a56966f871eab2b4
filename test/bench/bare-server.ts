/**
 * The GET /api/v1/data baseline: a bare node:http server on a mysql2 pool reading what the API
 * reads (one page + COUNT(*)) the plain way, as two statements on two connections (the API reads
 * both with one statement), with the same JSON shape. No framework, no validation, no logging:
 * the ceiling the API's read path is measured against.
 */
import { createServer } from 'node:http';
import { createPool } from 'mysql2/promise';

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

const COLUMNS = 'id, symbol, `date`, `open`, high, low, `close`, adj_close, volume';

createServer((req, res) => {
  const q = new URL(req.url ?? '/', 'http://x').searchParams;
  const symbol = q.get('symbol') ?? '';
  const start = q.get('start_date') ?? '1900-01-01';
  const end = q.get('end_date') ?? '2999-12-31';
  const limit = Number(q.get('limit') ?? 100);
  const page = Number(q.get('page') ?? 1);
  const where = 'WHERE symbol = ? AND `date` >= ? AND `date` <= ?';
  Promise.all([
    pool.query(
      `SELECT ${COLUMNS} FROM historical_data ${where} ORDER BY \`date\` ASC, symbol ASC LIMIT ? OFFSET ?`,
      [symbol, start, end, limit, (page - 1) * limit],
    ),
    pool.query(`SELECT COUNT(*) AS total FROM historical_data ${where}`, [symbol, start, end]),
  ]).then(
    ([[rows], [count]]) => {
      const total = Number((count as { total: number }[])[0].total);
      const data = (rows as Record<string, unknown>[]).map((r) => {
        const { adj_close, ...rest } = r;
        return adj_close === null ? rest : { ...rest, adjClose: adj_close };
      });
      const body = JSON.stringify({
        data,
        pagination: { page, limit, total, totalPages: Math.ceil(total / limit) },
      });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
    },
    (err: Error) => res.writeHead(500).end(err.message),
  );
}).listen(Number(process.env.PORT ?? 3901), '127.0.0.1');
