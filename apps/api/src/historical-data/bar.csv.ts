import { Bar, barCsvLine, CSV_HEADER_LINE } from '@app/database';

/** The columns of a bar as CSV: the export's header, readable as-is by pandas `read_csv`. */
export const BAR_CSV_HEADER = CSV_HEADER_LINE;

/** A page of bars as CSV text: the export's header and lines (adj_close empty when not stored). */
export function barPageCsv(page: { data: Bar[] }): string {
  let out = BAR_CSV_HEADER;
  for (const b of page.data) out += barCsvLine(b);
  return out;
}
