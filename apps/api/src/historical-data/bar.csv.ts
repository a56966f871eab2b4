import type { Bar } from '@app/database';

/** The columns of a bar as CSV: the export's header, readable as-is by pandas `read_csv`. */
export const BAR_CSV_HEADER = 'symbol,date,open,high,low,close,adj_close,volume\n';

/**
 * A page of bars as CSV text (header, then one line per bar; adj_close empty when not stored).
 * No field needs quoting: symbols are `A-Z 0-9 . - ^ = _ / :`, dates ISO, the rest numbers.
 */
export function barPageCsv(page: { data: Bar[] }): string {
  let out = BAR_CSV_HEADER;
  for (const b of page.data) {
    out += `${b.symbol},${b.date},${b.open},${b.high},${b.low},${b.close},${b.adjClose ?? ''},${b.volume}\n`;
  }
  return out;
}
