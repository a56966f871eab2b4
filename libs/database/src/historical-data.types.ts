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
  startDate?: string;
  endDate?: string;
}

export interface BarPageQuery extends BarFilter {
  sort: SortOrder;
  limit: number;
  offset: number;
}

export interface WriteCounts {
  inserted: number;
  updated: number;
  skipped: number;
}

/** "SYMBOL|YYYY-MM-DD": how the repository names an existing (symbol, date) pair. */
export const barKey = (symbol: string, date: string): string => `${symbol}|${date}`;
