import { join } from 'node:path';
import { runProcess } from '../../e2e/support/run-process';

/** The little of better-sqlite3 used here (the package ships no types; TypeORM wraps it elsewhere). */
interface Sqlite {
  pragma(source: string): unknown;
  prepare(sql: string): { run(...params: unknown[]): unknown };
  exec(sql: string): unknown;
  transaction(work: () => void): () => void;
  close(): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Database = require('better-sqlite3') as new (file: string) => Sqlite;

const ROOT = join(__dirname, '..', '..', '..');
const CLI = join(ROOT, 'dist/apps/cli/src/main.js');

/**
 * A migrated SQLite file holding symbols × perSymbol bars (weekdays from 2007, random walks; 200 ×
 * 5,000 = 1,000,000 by default),
 * written straight into the tables in one transaction: through the API it would take minutes on
 * a test machine, and this measures reading, not loading. The symbol catalogue is rebuilt the
 * way its migration builds it.
 */
export async function seedBars(
  file: string,
  symbols = 200,
  perSymbol = 5000,
): Promise<{ bars: number; symbols: number }> {
  const migrated = await runProcess(process.execPath, [CLI, 'migrate', 'run'], {
    PATH: process.env.PATH,
    DATABASE_URL: `sqlite:${file}`,
    LOG_LEVEL: 'warn',
  });
  if (migrated.status !== 0) throw new Error(`migrate run failed: ${migrated.stderr}`);

  const dates: string[] = [];
  for (let t = Date.UTC(2007, 0, 1); dates.length < perSymbol; t += 864e5) {
    const day = new Date(t).getUTCDay();
    if (day !== 0 && day !== 6) dates.push(new Date(t).toISOString().slice(0, 10));
  }
  const db = new Database(file);
  try {
    // A throwaway file: no journal, no fsync, a large page cache for the two index builds.
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -131072');
    db.pragma('temp_store = MEMORY');
    const insert = db.prepare(
      'INSERT INTO historical_data (symbol, "date", "open", high, low, "close", volume) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    db.transaction(() => {
      for (let s = 0; s < symbols; s++) {
        const symbol = `SYM${String(s).padStart(3, '0')}`;
        let close = 20 + random() * 200;
        for (const date of dates) {
          const open = close;
          close = Math.max(1, open * (1 + (random() - 0.5) * 0.04));
          const high = Math.max(open, close) * (1 + random() * 0.01);
          const low = Math.min(open, close) * (1 - random() * 0.01);
          insert.run(
            symbol,
            date,
            +open.toFixed(4),
            +high.toFixed(4),
            +low.toFixed(4),
            +close.toFixed(4),
            Math.floor(1e6 + random() * 9e6),
          );
        }
      }
      db.exec('DELETE FROM symbols');
      db.exec(
        'INSERT INTO symbols (symbol, first_date, last_date, bars) SELECT symbol, MIN("date"), MAX("date"), COUNT(*) FROM historical_data GROUP BY symbol',
      );
    })();
  } finally {
    db.close();
  }
  return { bars: symbols * perSymbol, symbols };
}
