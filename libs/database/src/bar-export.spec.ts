import fc from 'fast-check';
import { writeToString } from 'fast-csv';
import { barArbitrary, ruleSetSymbol } from '../../../test/fixtures/bar.arbitrary';
import { BarCursor } from './bar-cursor';
import { barCsvLine, BarExport, CSV_HEADER, exportFileName } from './bar-export';
import type { Bar } from './historical-data.types';

/** A cursor over bars in memory, optionally failing after `failAfter` of them. */
class ListCursor extends BarCursor<Bar> {
  private i = 0;

  constructor(
    private readonly bars: Bar[],
    private readonly failAfter?: number,
  ) {
    super((row: never) => row);
  }

  /** Batches of up to 700 bars (not a divisor of anything here: uneven chunks on purpose). */
  override _read(): void {
    if (this.i === this.failAfter) return void this.destroy(new Error('connection lost'));
    if (this.i >= this.bars.length) return void this.push(null);
    const end = Math.min(this.bars.length, this.i + 700, this.failAfter ?? Infinity);
    this.pushBatch(this.bars.slice(this.i, end));
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
  close: 100 + i / 3,
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
    const out = await text(new BarExport(new ListCursor([bar(0, 99.5), bar(1)]), 'csv'));
    expect(out).toBe(
      `${CSV_HEADER.join(',')}\n^GSPC,2024-01-01,100.5,101.25,99.125,100,99.5,1000000\n` +
        `BRK.B,2024-01-02,101.5,102.25,100.125,${100 + 1 / 3},,1000001\n`,
    );
  });

  it('writes the header alone for no bars, and nothing at all as NDJSON', async () => {
    expect(await text(new BarExport(new ListCursor([]), 'csv'))).toBe(`${CSV_HEADER.join(',')}\n`);
    expect(await text(new BarExport(new ListCursor([]), 'ndjson'))).toBe('');
  });

  it('writes NDJSON as JSON.stringify of each bar, over many 64 KiB chunks', async () => {
    const bars = Array.from({ length: 5000 }, (_, i) => bar(i, i % 3 ? undefined : i));
    const exported = new BarExport(new ListCursor(bars), 'ndjson');
    expect(await text(exported)).toBe(bars.map((b) => `${JSON.stringify(b)}\n`).join(''));
    expect(exported.rows).toBe(5000);
  });

  it('keeps CSV lines whole across chunks', async () => {
    const bars = Array.from({ length: 5000 }, (_, i) => bar(i));
    const lines = (await text(new BarExport(new ListCursor(bars), 'csv'))).split('\n');
    expect(lines).toHaveLength(5002);
    expect(lines.slice(1, -1).every((l) => l.split(',').length === 8)).toBe(true);
  });

  it('fails the body when the cursor fails, so the route can cut the transfer', async () => {
    const bars = Array.from({ length: 5000 }, (_, i) => bar(i));
    await expect(text(new BarExport(new ListCursor(bars, 3000), 'csv'))).rejects.toThrow(
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
