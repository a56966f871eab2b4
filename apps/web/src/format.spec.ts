import fc from 'fast-check';
import {
  candleAtOrBefore,
  csvCandles,
  dayToTime,
  exportUrl,
  formatBytes,
  formatDuration,
  problemMessage,
  queryString,
  timeToDay,
  toProblem,
  uploadRate,
} from './format';

const day = fc
  .date({
    min: new Date('1900-01-01T00:00:00Z'),
    max: new Date('2100-12-31T00:00:00Z'),
    noInvalidDate: true,
  })
  .map((d) => d.toISOString().slice(0, 10));

describe('explorer helpers', () => {
  it('queryString drops empty values and encodes the rest', () => {
    expect(queryString({})).toBe('');
    expect(queryString({ symbol: 'BRK.B', start_date: undefined, atomic: false, limit: 50 })).toBe(
      '?symbol=BRK.B&limit=50',
    );
    expect(queryString({ symbol: '^GSPC', cursor: 'a/b+c=' })).toBe(
      '?symbol=%5EGSPC&cursor=a%2Fb%2Bc%3D',
    );
  });

  it('queryString round-trips through URLSearchParams', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }), fc.string({ minLength: 1 })), (d) => {
        const parsed = Object.fromEntries(new URLSearchParams(queryString(d).slice(1)));
        expect(parsed).toEqual(d);
      }),
    );
  });

  it('exportUrl carries the view filter and the format', () => {
    expect(exportUrl({ symbol: 'AAPL', start: '2024-01-01', end: '2024-12-31' }, 'csv')).toBe(
      '/api/v1/data/export?symbol=AAPL&start_date=2024-01-01&end_date=2024-12-31&format=csv',
    );
    expect(exportUrl({ symbol: 'AAPL' }, 'ndjson')).toBe(
      '/api/v1/data/export?symbol=AAPL&format=ndjson',
    );
  });

  it('dayToTime and timeToDay are inverses at UTC midnight', () => {
    expect(dayToTime('1970-01-02')).toBe(86400);
    fc.assert(fc.property(day, (d) => expect(timeToDay(dayToTime(d))).toBe(d)));
  });

  it('csvCandles reads the export CSV as candles, columns found by name', () => {
    const csv = [
      'symbol,date,open,high,low,close,adj_close,volume',
      'BRK.B,2024-01-02,10.5,11,9.25,10.75,,1200',
      '^GSPC,2024-01-03,4700.1,4710,4690,4705.5,4705.5,0',
      '',
    ].join('\n');
    expect(csvCandles(csv)).toEqual([
      {
        time: dayToTime('2024-01-02'),
        end: '2024-01-02',
        open: 10.5,
        high: 11,
        low: 9.25,
        close: 10.75,
        volume: 1200,
      },
      {
        time: dayToTime('2024-01-03'),
        end: '2024-01-03',
        open: 4700.1,
        high: 4710,
        low: 4690,
        close: 4705.5,
        volume: 0,
      },
    ]);
    // A reordered header still reads; an empty export is no candles; a missing column is named.
    expect(csvCandles('date,volume,close,low,high,open\n2024-01-02,5,4,3,2,1\n')).toEqual([
      {
        time: dayToTime('2024-01-02'),
        end: '2024-01-02',
        open: 1,
        high: 2,
        low: 3,
        close: 4,
        volume: 5,
      },
    ]);
    expect(csvCandles('symbol,date,open,high,low,close,adj_close,volume\n')).toEqual([]);
    expect(() => csvCandles('symbol,date,open\n')).toThrow('The export has no "high" column.');
  });

  it('candleAtOrBefore finds the candle a gap starts in', () => {
    const times = ['2024-01-01', '2024-02-01', '2024-03-01'].map(dayToTime);
    expect(candleAtOrBefore(times, '2023-12-31')).toBe(-1);
    expect(candleAtOrBefore(times, '2024-01-01')).toBe(0);
    expect(candleAtOrBefore(times, '2024-02-15')).toBe(1);
    expect(candleAtOrBefore(times, '2030-01-01')).toBe(2);
    expect(candleAtOrBefore([], '2024-01-01')).toBe(-1);
  });

  it('candleAtOrBefore agrees with a linear scan', () => {
    fc.assert(
      fc.property(fc.uniqueArray(day), day, (days, probe) => {
        const times = days.sort().map(dayToTime);
        const t = dayToTime(probe);
        let expected = -1;
        times.forEach((x, i) => {
          if (x <= t) expected = i;
        });
        expect(candleAtOrBefore(times, probe)).toBe(expected);
      }),
    );
  });

  it('formats sizes and durations for people', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(57_800_000)).toBe('58 MB');
    expect(formatDuration(42.4)).toBe('42 s');
    expect(formatDuration(185)).toBe('3 min 5 s');
    expect(formatDuration(3720)).toBe('1 h 2 min');
  });

  it('uploadRate: rows/s between samples, percent and time left from the bytes', () => {
    const rate = uploadRate(
      { at: 0, bytesRead: 0, rows: 0 },
      { at: 2000, bytesRead: 1000, rows: 50_000 },
      4000,
    );
    expect(rate).toEqual({ rowsPerSecond: 25_000, percent: 25, etaSeconds: 6 });
    expect(
      uploadRate({ at: 5, bytesRead: 0, rows: 0 }, { at: 5, bytesRead: 0, rows: 0 }, null),
    ).toEqual({
      rowsPerSecond: 0,
    });
  });

  it('problemMessage: the detail, with what to do for 401/403/429/503', () => {
    const detail = 'This route needs an API key (X-API-Key or Authorization: Bearer).';
    expect(problemMessage(toProblem(401, { detail, code: 'UNAUTHENTICATED' }))).toBe(
      `${detail} Enter an API key above (it is kept for this tab only).`,
    );
    expect(problemMessage(toProblem(403, { title: 'Forbidden' }))).toMatch(/^Forbidden This key/);
    expect(problemMessage(toProblem(429, { detail: 'Slow down.' }))).toMatch(/wait a moment/);
    expect(problemMessage(toProblem(503, 'upstream down'))).toMatch(/^upstream down The service/);
    expect(problemMessage(toProblem(500, undefined))).toBe('HTTP 500');
  });
});
