/**
 * The export baseline: a bare node:http server streaming the export's statement from one mysql2
 * connection (`query().stream()`) as the same CSV bytes the API writes (header, `String(n)`
 * numbers, empty adj_close when null, `\n` after every line), 64 KiB per write, with
 * backpressure. No framework, no fast-csv, no logging: the ceiling GET /api/v1/data/export is
 * measured against.
 */
import { createServer } from 'node:http';
import { createPool } from 'mysql2';
import { pipeline, Transform, TransformCallback } from 'node:stream';

const url = new URL(process.env.BENCH_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/hd_bench');
const pool = createPool({
  host: url.hostname,
  port: Number(url.port || 3306),
  user: decodeURIComponent(url.username),
  password: decodeURIComponent(url.password),
  database: url.pathname.slice(1),
  connectionLimit: 4,
  dateStrings: true,
  decimalNumbers: true,
  supportBigNumbers: true,
});

const SQL =
  'SELECT id, symbol, `date`, `open`, high, low, `close`, adj_close, volume FROM historical_data ORDER BY symbol, `date`';

interface Row {
  symbol: string;
  date: string;
  open: number;
  high: number;
  low: number;
  close: number;
  adj_close: number | null;
  volume: number;
}

class CsvLines extends Transform {
  private pending = 'symbol,date,open,high,low,close,adj_close,volume\n';

  constructor() {
    super({ writableObjectMode: true });
  }

  override _transform(r: Row, _enc: BufferEncoding, done: TransformCallback): void {
    this.pending += `${r.symbol},${r.date},${r.open},${r.high},${r.low},${r.close},${r.adj_close ?? ''},${r.volume}\n`;
    if (this.pending.length >= 65536) {
      this.push(this.pending);
      this.pending = '';
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    this.push(this.pending);
    done();
  }
}

createServer((req, res) => {
  if (req.url === '/health') return void res.end('ok');
  pool.getConnection((err, conn) => {
    if (err) return void res.writeHead(500).end(err.message);
    res.writeHead(200, { 'Content-Type': 'text/csv; charset=utf-8' });
    pipeline(conn.query(SQL).stream({ highWaterMark: 1000 }), new CsvLines(), res, (failed) => {
      if (failed) conn.destroy();
      else conn.release();
    });
  });
}).listen(Number(process.env.PORT ?? 3911), '127.0.0.1');
