import { spawnSync } from 'node:child_process';
import { runProcess } from './support/run-process';
import { bar, describeEachDialect } from './support/test-app';

/**
 * The export's CSV is read as-is by pandas: `pd.read_csv(url, parse_dates=["date"])`. Debian's
 * python3-pandas (installed by .ci/run); pyenv and the like may put a python3 without pandas
 * first on the PATH, so the system one is tried too.
 */
const CANDIDATES = ['python3', '/usr/bin/python3'];

/** Looked for while the suite is declared (nothing is serving yet, so spawnSync blocks nobody). */
const python = CANDIDATES.find(
  (candidate) => spawnSync(candidate, ['-c', 'import pandas'], { stdio: 'ignore' }).status === 0,
);

const SCRIPT = `
import json, sys
import pandas as pd
df = pd.read_csv(sys.argv[1], parse_dates=["date"])
print(json.dumps({
    "columns": list(df.columns),
    "dtypes": {c: str(t) for c, t in df.dtypes.items()},
    "rows": len(df),
    "symbols": list(df["symbol"]),
    "dates": [d.strftime("%Y-%m-%d") for d in df["date"]],
    "adj_close_missing": int(df["adj_close"].isna().sum()),
    "close_sum": float(df["close"].sum()),
    "volume_sum": int(df["volume"].sum()),
}))
`;

const title = python
  ? 'export read by pandas.read_csv'
  : 'export read by pandas.read_csv [skipped: no python3 with pandas; apt-get install python3-pandas]';

describeEachDialect(title, (t) => {
  (python ? it : it.skip)(
    'parses the CSV with the right columns, types, dates and missing adj_close',
    async () => {
      await t.http
        .post('/api/v1/data')
        .set('Content-Type', 'application/json')
        .send([
          bar({ adjClose: 185.1 }),
          bar({ date: '2024-01-03', close: 186.5, high: 188.44 }),
          bar({
            symbol: 'BRK.B',
            open: 360.1,
            high: 361,
            low: 358,
            close: 359.99,
            volume: 3000000,
          }),
        ])
        .expect(200);
      const url = `${await t.url()}/api/v1/data/export`;
      const run = await runProcess(python!, ['-c', SCRIPT, url]);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({
        columns: ['symbol', 'date', 'open', 'high', 'low', 'close', 'adj_close', 'volume'],
        dtypes: {
          symbol: 'object',
          date: 'datetime64[ns]',
          open: 'float64',
          high: 'float64',
          low: 'float64',
          close: 'float64',
          adj_close: 'float64',
          volume: 'int64',
        },
        rows: 3,
        symbols: ['AAPL', 'AAPL', 'BRK.B'],
        dates: ['2024-01-02', '2024-01-03', '2024-01-02'],
        adj_close_missing: 2,
        close_sum: 185.64 + 186.5 + 359.99,
        volume_sum: 82488700 * 2 + 3000000,
      });
    },
  );
});
