import { invalidParameters, ProblemFieldError } from '@app/common';
import type { ExportFormat } from '@app/database';
import { parseDateRange } from './list-bars.query.parser';
import { parseSymbolsParam } from './symbols.param';

/** What GET /api/v1/data/export's query parameters parse to (ExportBarsQueryDto describes them). */
export interface ExportBarsQuery {
  /** `symbol` or `symbols`, as one list; absent = every symbol. */
  symbols?: string[];
  start_date?: string;
  end_date?: string;
  format: ExportFormat;
}

const KNOWN = new Set(['symbol', 'symbols', 'start_date', 'end_date', 'format']);

export const FORMAT_MESSAGE = 'format must be csv or ndjson';

/** The export's query, checked like GET /api/v1/data's: unknown parameters refused, all listed. */
export function parseExportBarsQuery(query: Record<string, unknown>): ExportBarsQuery {
  const errors: ProblemFieldError[] = [];
  const fail = (field: string, message: string): void => {
    errors.push({ field, message });
  };
  for (const name in query) {
    if (!KNOWN.has(name)) fail(name, `${name} is not a known parameter`);
  }
  const out: ExportBarsQuery = { format: 'csv' };

  const symbols = parseSymbolsParam(query, errors);
  if (symbols !== undefined) out.symbols = symbols;
  Object.assign(out, parseDateRange(query, errors));
  if (query.format !== undefined) {
    if (query.format === 'csv' || query.format === 'ndjson') out.format = query.format;
    else fail('format', FORMAT_MESSAGE);
  }
  if (errors.length) throw invalidParameters(errors);
  return out;
}
