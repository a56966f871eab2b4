import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bar, describeEachDialect } from './support/test-app';

type Interval = 'week' | 'month' | 'quarter' | 'year';
interface Row {
  symbol: string;
  periodStart: string;
  periodEnd: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  bars: number;
}
interface InputBar {
  symbol: string;
  date: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

const DAY = 86_400_000;

/**
 * The reference: written independently of the service (no shared code, no SQL). A period is
 * named by its first and last day, found by walking the calendar one day at a time.
 */
function bounds(interval: Interval, date: string): [string, string] {
  const d = new Date(`${date}T00:00:00Z`);
  const same = (x: Date): boolean => {
    switch (interval) {
      case 'year':
        return x.getUTCFullYear() === d.getUTCFullYear();
      case 'quarter':
        return (
          x.getUTCFullYear() === d.getUTCFullYear() &&
          Math.floor(x.getUTCMonth() / 3) === Math.floor(d.getUTCMonth() / 3)
        );
      case 'month':
        return x.getUTCFullYear() === d.getUTCFullYear() && x.getUTCMonth() === d.getUTCMonth();
      case 'week': {
        // ISO weeks run Monday..Sunday: same week when both have the same Monday.
        const monday = (y: Date) => y.getTime() - ((y.getUTCDay() + 6) % 7) * DAY;
        return monday(x) === monday(d);
      }
    }
  };
  let start = d.getTime();
  while (same(new Date(start - DAY))) start -= DAY;
  let end = d.getTime();
  while (same(new Date(end + DAY))) end += DAY;
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return [iso(start), iso(end)];
}

function reference(bars: InputBar[], interval: Interval): Row[] {
  const groups = new Map<string, InputBar[]>();
  for (const b of bars) {
    const key = `${b.symbol}|${bounds(interval, b.date).join('|')}`;
    groups.set(key, [...(groups.get(key) ?? []), b]);
  }
  return [...groups.entries()]
    .map(([key, list]) => {
      const [symbol, periodStart, periodEnd] = key.split('|');
      const sorted = [...list].sort((a, b) => (a.date < b.date ? -1 : 1));
      return {
        symbol,
        periodStart,
        periodEnd,
        open: sorted[0].open,
        high: Math.max(...sorted.map((b) => b.high)),
        low: Math.min(...sorted.map((b) => b.low)),
        close: sorted[sorted.length - 1].close,
        volume: sorted.reduce((sum, b) => sum + b.volume, 0),
        bars: sorted.length,
      };
    })
    .sort((a, b) =>
      a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.periodStart < b.periodStart ? -1 : 1,
    );
}

/**
 * Two years across three year ends, with holes: weekdays only for ABC (some weeks missing
 * entirely), every calendar day for BTC-USD (weekend bars). Prices with up to 4 decimals.
 */
function generated(): InputBar[] {
  const out: InputBar[] = [];
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let ms = Date.UTC(2019, 11, 20); ms <= Date.UTC(2021, 0, 10); ms += DAY) {
    const date = new Date(ms).toISOString().slice(0, 10);
    const dow = new Date(ms).getUTCDay();
    for (const symbol of ['ABC', 'BTC-USD']) {
      if (symbol === 'ABC' && (dow === 0 || dow === 6)) continue;
      if (rand() < 0.15) continue;
      const open = Math.round((50 + rand() * 50) * 10_000) / 10_000;
      const close = Math.round((50 + rand() * 50) * 10_000) / 10_000;
      const high = Math.round((Math.max(open, close) + rand() * 5) * 10_000) / 10_000;
      const low = Math.round((Math.min(open, close) - rand() * 5) * 10_000) / 10_000;
      out.push({ symbol, date, open, high, low, close, volume: Math.floor(rand() * 1e9) });
    }
  }
  return out;
}

describeEachDialect(
  'aggregate',
  (t) => {
    it('resamples real data (examples/AAPL-yahoo.csv) to weeks and months', async () => {
      const csv = readFileSync(join(__dirname, '..', '..', 'examples', 'AAPL-yahoo.csv'), 'utf8');
      await t.http
        .post('/api/v1/data/upload?symbol=AAPL')
        .set('Content-Type', 'text/csv')
        .send(csv)
        .expect(200);
      const bars: InputBar[] = csv
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => {
          const [date, open, high, low, close, , volume] = line.split(',');
          return {
            symbol: 'AAPL',
            date,
            open: +open,
            high: +high,
            low: +low,
            close: +close,
            volume: +volume,
          };
        });
      for (const interval of ['week', 'month'] as const) {
        const res = await t.http
          .get(`/api/v1/data/aggregate?symbol=aapl&interval=${interval}`)
          .expect(200);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(res.body).toEqual({ data: reference(bars, interval) });
      }
      const month = await t.http.get('/api/v1/data/aggregate?symbol=AAPL&interval=month');
      expect(month.body.data).toEqual([
        expect.objectContaining({
          periodStart: '2024-01-01',
          periodEnd: '2024-01-31',
          open: 187.149994,
          bars: 10,
        }),
      ]);
    });

    it('matches an independent computation for every interval, across year ends, with gaps and weekend bars', async () => {
      const bars = generated();
      for (let i = 0; i < bars.length; i += 5000)
        await t.http
          .post('/api/v1/data')
          .send(bars.slice(i, i + 5000))
          .expect(200);
      for (const interval of ['week', 'month', 'quarter', 'year'] as const) {
        const res = await t.http
          .get(`/api/v1/data/aggregate?symbols=BTC-USD,abc&interval=${interval}`)
          .expect(200);
        expect(res.body.data).toEqual(reference(bars, interval));
      }
      // A date range cuts whole bars, not periods: the first week holds only the bars in range.
      const ranged = await t.http
        .get(
          '/api/v1/data/aggregate?symbol=ABC&interval=week&start_date=2020-12-30&end_date=2021-01-03',
        )
        .expect(200);
      expect(ranged.body.data).toEqual(
        reference(
          bars.filter(
            (b) => b.symbol === 'ABC' && b.date >= '2020-12-30' && b.date <= '2021-01-03',
          ),
          'week',
        ),
      );
      expect(ranged.body.data[0]).toMatchObject({
        periodStart: '2020-12-28',
        periodEnd: '2021-01-03',
      });
    });

    it('is not read as a bar id, answers an empty list for an unknown symbol, and is fresh after a write', async () => {
      expect(
        (await t.http.get('/api/v1/data/aggregate?symbol=NONE&interval=year').expect(200)).body,
      ).toEqual({ data: [] });
      await t.http.post('/api/v1/data').send([bar()]).expect(200);
      const first = await t.http
        .get('/api/v1/data/aggregate?symbol=AAPL&interval=year')
        .expect(200);
      expect(first.body.data[0]).toMatchObject({ close: 185.64, bars: 1 });
      await t.http
        .post('/api/v1/data')
        .send([bar({ date: '2024-01-03', close: 184.25 })])
        .expect(200);
      const second = await t.http
        .get('/api/v1/data/aggregate?symbol=AAPL&interval=year')
        .expect(200);
      expect(second.body.data[0]).toMatchObject({ close: 184.25, bars: 2, volume: 2 * 82488700 });
    });

    it('refuses bad parameters with one problem+json naming each', async () => {
      const fields = async (query: string): Promise<string[]> => {
        const res = await t.http.get(`/api/v1/data/aggregate?${query}`).expect(400);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' });
        return (res.body.errors as { field: string }[]).map((e) => e.field);
      };
      expect(await fields('symbol=AAPL&interval=day')).toEqual(['interval']);
      expect(await fields('symbol=AAPL')).toEqual(['interval']);
      expect(await fields('interval=week')).toEqual(['symbol']);
      const many = Array.from({ length: 101 }, (_, i) => `S${i}`).join(',');
      expect(await fields(`symbols=${many}&interval=week`)).toEqual(['symbols']);
      expect(await fields('symbol=AAPL&symbols=MSFT&interval=week')).toEqual(['symbols']);
      expect(await fields('symbols=AAPL,,MSFT&interval=week')).toEqual(['symbols']);
      expect(
        await fields('symbol=AAPL&interval=hour&start_date=2024-02-30&end_date=2024-13-01&x=1'),
      ).toEqual(['x', 'interval', 'start_date', 'end_date']);
      expect(
        await fields('symbol=AAPL&interval=week&start_date=2024-02-01&end_date=2024-01-01'),
      ).toEqual(['end_date']);
      const exactly100 = Array.from({ length: 100 }, (_, i) => `S${i}`).join(',');
      await t.http.get(`/api/v1/data/aggregate?symbols=${exactly100}&interval=week`).expect(200);
    });
  },
  // The machine running the suite may be busy: event-loop lag must not shed these requests.
  { OVERLOAD_MAX_EVENT_LOOP_LAG_MS: '60000' },
);
