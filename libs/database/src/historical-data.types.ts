/** A bar as stored: what the rule set produces and the repository writes. */
export interface BarRecord {
  symbol: string;
  date: string;
  open: number;
  high: number;
  low: number;
  close: number;
  adjClose: number | null;
  volume: number;
}

/** A bar as served: its id, and `adjClose` only when stored. */
export type Bar = Omit<BarRecord, 'adjClose'> & { id: number; adjClose?: number };

export type ConflictMode = 'update' | 'skip' | 'error';
export type SortOrder = 'asc' | 'desc';

export interface BarFilter {
  symbol?: string;
  /** Any of these symbols (exclusive with `symbol`). */
  symbols?: readonly string[];
  startDate?: string;
  endDate?: string;
}

/** A position in (date, symbol) order: the last bar a page returned. */
export interface BarPosition {
  date: string;
  symbol: string;
}

export interface BarPageQuery extends BarFilter {
  sort: SortOrder;
  limit: number;
  /** Page mode: rows to skip. */
  offset?: number;
  /** Cursor mode: rows strictly after this position in the sort order (no OFFSET). */
  after?: BarPosition;
  /** Also count every row the filter matches (page mode). */
  count: boolean;
}

export interface WriteCounts {
  inserted: number;
  updated: number;
  skipped: number;
}

/** "SYMBOL|YYYY-MM-DD": how the repository names an existing (symbol, date) pair. */
export const barKey = (symbol: string, date: string): string => `${symbol}|${date}`;
