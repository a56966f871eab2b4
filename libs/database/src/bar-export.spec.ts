import fc from 'fast-check';
import { writeToString } from 'fast-csv';
import { barArbitrary, ruleSetSymbol } from '../../../test/fixtures/bar.arbitrary';
import { BarCursor } from './bar-cursor';
import { BarExport, EXPORT_LINES, ExportFormat, exportFileName } from './bar-export';
import { BarRow, barCsvLine, CSV_HEADER, decimalText, rowCsvLine, toBar } from './bar-row';
import type { Bar } from './historical-data.types';

/** A bar as the table row mysql2's export connections hand over: DECIMAL (20,8) and BIGINT as text. */
const asRow = (b: Bar): BarRow => ({
  id: String(b.id),
  symbol: b.symbol,
  date: b.date,
  open: b.open.toFixed(8),
  high: b.high.toFixed(8),
  low: b.low.toFixed(8),
  close: b.close.toFixed(8),
  adj_close: b.adjClose === undefined ? null : b.adjClose.toFixed(8),
  volume: String(b.volume),
});

/** A cursor over bars in memory (as export rows, in the format's lines), optionally failing after `failAfter` of them. */
class ListCursor extends BarCursor<string> {
  private i = 0;

  constructor(
    private readonly bars: Bar[],
    format: ExportFormat,
    private readonly failAfter?: number,
  ) {
    super((row: never) => EXPORT_LINES[format].line(row));
  }

  /** Batches of up to 700 bars (not a divisor of anything here: uneven chunks on purpose). */
  override _read(): void {
    if (this.i === this.failAfter) return void this.destroy(new Error('connection lost'));
    if (this.i >= this.bars.length) return void this.push(null);
    const end = Math.min(this.bars.length, this.i + 700, this.failAfter ?? Infinity);
    this.pushBatch(this.bars.slice(this.i, end).map((b) => this.toItem(asRow(b) as never)));
    this.i = end;
  }
}

const bar = (i: number, adjClose?: number): Bar => ({
  id: i + 1,
  symbol: i % 2 ? 'BRK.B' : '^GSPC',
  date: `2024-01-${String((i % 28) + 1).padStart(2, '0')}`,
  open: 100.5 + i,
  high: 101.25 + i,
  low: 99.125 + i,
  close: 100 + i / 8,
  ...(adjClose !== undefined ? { adjClose } : {}),
  volume: 1_000_000 + i,
});

async function text(exported: BarExport): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of exported.body) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString();
}

describe('BarExport', () => {
  it('writes CSV: the header, one line per bar, empty adj_close when not stored, \\n at the end', async () => {
    const out = await text(new BarExport(new ListCursor([bar(0, 99.5), bar(1)], 'csv'), 'csv'));
    expect(out).toBe(
      `${CSV_HEADER.join(',')}\n^GSPC,2024-01-01,100.5,101.25,99.125,100,99.5,1000000\n` +
        'BRK.B,2024-01-02,101.5,102.25,100.125,100.125,,1000001\n',
    );
  });

  it('writes the header alone for no bars, and nothing at all as NDJSON', async () => {
    expect(await text(new BarExport(new ListCursor([], 'csv'), 'csv'))).toBe(
      `${CSV_HEADER.join(',')}\n`,
    );
    expect(await text(new BarExport(new ListCursor([], 'ndjson'), 'ndjson'))).toBe('');
  });

  it('writes NDJSON as JSON.stringify of each bar, over many 64 KiB chunks', async () => {
    const bars = Array.from({ length: 5000 }, (_, i) => bar(i, i % 3 ? undefined : i));
    const exported = new BarExport(new ListCursor(bars, 'ndjson'), 'ndjson');
    expect(await text(exported)).toBe(bars.map((b) => `${JSON.stringify(b)}\n`).join(''));
    expect(exported.rows).toBe(5000);
  });

  it('keeps CSV lines whole across chunks', async () => {
    const bars = Array.from({ length: 5000 }, (_, i) => bar(i));
    const lines = (await text(new BarExport(new ListCursor(bars, 'csv'), 'csv'))).split('\n');
    expect(lines).toHaveLength(5002);
    expect(lines.slice(1, -1).every((l) => l.split(',').length === 8)).toBe(true);
  });

  it('fails the body when the cursor fails, so the route can cut the transfer', async () => {
    const bars = Array.from({ length: 5000 }, (_, i) => bar(i));
    await expect(text(new BarExport(new ListCursor(bars, 'csv', 3000), 'csv'))).rejects.toThrow(
      'connection lost',
    );
  });
});

/** What fast-csv's formatter writes for these bars, with the options the export used to pass it. */
const fastCsv = (bars: Bar[]): Promise<string> =>
  writeToString(
    bars.map((b) => [b.symbol, b.date, b.open, b.high, b.low, b.close, b.adjClose ?? '', b.volume]),
    { headers: [...CSV_HEADER], alwaysWriteHeaders: true, includeEndRowDelimiter: true },
  );

describe('barCsvLine', () => {
  // Rule-set symbols, and anything else a table could hold: quotes, commas, pipes, NUL, CR/LF.
  const arbitraryBar = barArbitrary(
    fc.oneof(
      ruleSetSymbol,
      fc.string({ unit: fc.constantFrom('A', '"', ',', '|', '\r', '\n', '\0', ' ', 'é') }),
    ),
  );

  it('writes the bytes fast-csv formats for the same rows (header aside)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arbitraryBar, { maxLength: 20 }), async (bars) => {
        const expected = await fastCsv(bars);
        expect(`${CSV_HEADER.join(',')}\n${bars.map((b) => barCsvLine(b)).join('')}`).toBe(
          expected,
        );
      }),
    );
  });
});

/** DECIMAL(p, scale) as MySQL writes it: sign, integer digits, point, exactly `scale` decimals. */
const decimalString = (scale: number) =>
  fc.tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 20n - 1n })).map(([negative, units]) => {
    const digits = units.toString().padStart(scale + 1, '0');
    const text = scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
    return negative ? `-${text}` : text;
  });

describe('decimalText', () => {
  it('writes what String(Number(text)) writes, for any DECIMAL text', () => {
    fc.assert(
      fc.property(
        fc.oneof(decimalString(8), decimalString(2), decimalString(0), decimalString(12)),
        (text) => expect(decimalText(text)).toBe(String(Number(text))),
      ),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['187.15000000', '187.15'],
    ['100.00000000', '100'],
    ['0.00000000', '0'],
    ['-0.00000000', '0'],
    ['0.00000100', '0.000001'],
    ['0.00000010', '1e-7'],
    ['123456789012.12345678', '123456789012.12346'],
    ['007.50', '7.5'],
  ])('%s -> %s', (text, expected) => expect(decimalText(text)).toBe(expected));
});

describe('rowCsvLine', () => {
  it("writes a row's DECIMAL and BIGINT text as barCsvLine writes the numbers", () => {
    const row = fc.record({
      id: fc.nat().map(String),
      symbol: ruleSetSymbol,
      date: fc.constant('2024-01-02'),
      open: decimalString(8),
      high: decimalString(8),
      low: decimalString(8),
      close: decimalString(8),
      adj_close: fc.option(decimalString(8), { nil: null }),
      volume: fc.nat({ max: Number.MAX_SAFE_INTEGER }).map(String),
    });
    fc.assert(fc.property(row, (r) => expect(rowCsvLine(r)).toBe(barCsvLine(toBar(r)))));
  });

  it('writes a row of numbers (SQLite) as barCsvLine does', () => {
    fc.assert(
      fc.property(barArbitrary(), (b) =>
        expect(
          rowCsvLine({
            ...asRow(b),
            open: b.open,
            high: b.high,
            low: b.low,
            close: b.close,
            adj_close: b.adjClose ?? null,
            volume: b.volume,
          }),
        ).toBe(barCsvLine(b)),
      ),
    );
  });
});

describe('exportFileName', () => {
  it.each([
    [{}, 'csv', 'bars_all.csv'],
    [{ symbols: ['AAPL'] }, 'csv', 'bars_AAPL.csv'],
    [
      { symbols: ['MSFT', 'AAPL'], startDate: '2024-01-01' },
      'ndjson',
      'bars_AAPL_MSFT_from_2024-01-01.ndjson',
    ],
    [{ symbols: ['^GSPC'], endDate: '2024-12-31' }, 'csv', 'bars__GSPC_to_2024-12-31.csv'],
    [
      { symbols: ['A', 'B', 'C', 'D'], startDate: '2024-01-01', endDate: '2024-12-31' },
      'csv',
      'bars_4-symbols_2024-01-01_to_2024-12-31.csv',
    ],
  ] as const)('%j as %s -> %s', (selection, format, name) => {
    expect(exportFileName(selection, format)).toBe(name);
  });
});
