import type { BarFilter, BarPageQuery, BarPosition } from './historical-data.types';

/** historical_data's columns as a Bar is read from them. */
export const COLUMNS = 'id, symbol, `date`, `open`, high, low, `close`, adj_close, volume';

/** A filter (and a keyset position past which to read) as a WHERE clause and its parameters. */
export function where(
  filter: BarFilter,
  after?: BarPosition,
  dir: 'ASC' | 'DESC' = 'ASC',
): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (filter.symbol !== undefined) {
    clauses.push('symbol = ?');
    params.push(filter.symbol);
  } else if (filter.symbols !== undefined && filter.symbols.length > 0) {
    clauses.push(`symbol IN (${filter.symbols.map(() => '?').join(', ')})`);
    params.push(...filter.symbols);
  }
  if (filter.startDate !== undefined) {
    clauses.push('`date` >= ?');
    params.push(filter.startDate);
  }
  if (filter.endDate !== undefined) {
    clauses.push('`date` <= ?');
    params.push(filter.endDate);
  }
  if (after !== undefined) {
    // Keyset: strictly past the last row returned, in the sort order (date, then symbol). Written
    // out rather than as a row comparison so both dialects use the (symbol, date) or (date,
    // symbol) index for the range.
    const op = dir === 'ASC' ? '>' : '<';
    clauses.push(`(\`date\` ${op} ? OR (\`date\` = ? AND symbol ${op} ?))`);
    params.push(after.date, after.date, after.symbol);
  }
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/**
 * The one statement behind a page of GET /api/v1/data. With `count`: the page and the COUNT in
 * one statement, one round trip instead of two (on MariaDB about a third less server CPU per
 * read; docs/ARCHITECTURE.md, "Performance budget"), both from the same snapshot; every row
 * carries the total (`total`) and an empty page is one row of NULLs. Without: one row more than
 * asked for, which says whether another page follows. The bench's bare server
 * (test/bench/bare-server.ts) sends this same statement.
 */
export function barPageSql(query: BarPageQuery): { sql: string; params: unknown[] } {
  const dir = query.sort === 'desc' ? 'DESC' : 'ASC';
  const { sql, params } = where(query, query.after, dir);
  const order = `ORDER BY \`date\` ${dir}, symbol ${dir}`;
  if (query.count)
    return {
      sql:
        `SELECT c.total, p.* FROM (SELECT COUNT(*) AS total FROM historical_data ${sql}) c ` +
        `LEFT JOIN (SELECT ${COLUMNS} FROM historical_data ${sql} ${order} LIMIT ? OFFSET ?) p ON 1 = 1 ${order}`,
      params: [...params, ...params, query.limit, query.offset ?? 0],
    };
  return {
    sql: `SELECT ${COLUMNS} FROM historical_data ${sql} ${order} LIMIT ?`,
    params: [...params, query.limit + 1],
  };
}
