import { TimedDb } from '@app/observability';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryRunner } from 'typeorm';
import { DataChanges } from './data-changes';
import { ReadPool } from './read-pool';

/** One stored symbol as the catalogue serves it. */
export interface SymbolSummary {
  symbol: string;
  firstDate: string;
  lastDate: string;
  bars: number;
}

interface SummaryRow {
  symbol: string;
  first_date: string;
  last_date: string;
  bars: number | string;
}

/**
 * What one transaction did to a symbol's bars, gathered while it writes and applied once before
 * COMMIT. `delta` is the exact change in its bar count (from the writes' own counts);
 * `first`/`last` the earliest/latest date it stored; `shrink` says rows went away, so the first
 * and last dates are re-read from the (symbol, date) index.
 */
interface Pending {
  delta: number;
  first?: string;
  last?: string;
  shrink: boolean;
}

/** Statement chunk: keeps placeholder lists well under both drivers' limits. */
const CHUNK = 500;

const toSummary = (r: SummaryRow): SymbolSummary => ({
  symbol: r.symbol,
  firstDate: r.first_date,
  lastDate: r.last_date,
  bars: +r.bars,
});

const marks = (n: number): string => Array(n).fill('?').join(', ');

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/**
 * `symbols`, the per-symbol summary of historical_data (house rule 3: this table only). The
 * catalogue reads it instead of scanning bars. HistoricalDataRepository reports what each write
 * did (`grew`, `shrank`); the sums are applied in the writing transaction just before it
 * commits (DataChanges.beforeCommit), so the summary is exact whenever the bars are visible.
 */
@Injectable()
export class SymbolsRepository {
  private readonly reads: ReadPool;
  private readonly pending = new WeakMap<QueryRunner, Map<string, Pending>>();
  private readonly mysql: boolean;

  constructor(@InjectDataSource() dataSource: DataSource, changes: DataChanges) {
    this.reads = new ReadPool(dataSource);
    this.mysql = dataSource.options.type === 'mysql';
    changes.beforeCommit((tx) => this.apply(tx));
  }

  /** Symbols in symbol order (the primary key: no sort), one page. */
  @TimedDb('symbols_page')
  async findPage(limit: number, offset: number): Promise<{ rows: SymbolSummary[]; total: number }> {
    const [rows, count] = await Promise.all([
      this.reads.query<SummaryRow>(
        'SELECT symbol, first_date, last_date, bars FROM symbols ORDER BY symbol LIMIT ? OFFSET ?',
        [limit, offset],
      ),
      this.reads.query<{ total: number | string }>('SELECT COUNT(*) AS total FROM symbols', []),
    ]);
    return { rows: rows.map(toSummary), total: Number(count[0]?.total ?? 0) };
  }

  @TimedDb('symbols_one')
  async findOne(symbol: string): Promise<SymbolSummary | null> {
    const rows = await this.reads.query<SummaryRow>(
      'SELECT symbol, first_date, last_date, bars FROM symbols WHERE symbol = ?',
      [symbol],
    );
    return rows.length ? toSummary(rows[0]) : null;
  }

  /** `count` bars of `symbol` were added by `tx`, the earliest on `first`, the latest on `last`. */
  grew(tx: QueryRunner, symbol: string, count: number, first: string, last: string): void {
    const p = this.entry(tx, symbol);
    p.delta += count;
    if (p.first === undefined || first < p.first) p.first = first;
    if (p.last === undefined || last > p.last) p.last = last;
  }

  /** `count` bars of `symbol` were removed by `tx`. */
  shrank(tx: QueryRunner, symbol: string, count: number): void {
    const p = this.entry(tx, symbol);
    p.delta -= count;
    p.shrink = true;
  }

  private entry(tx: QueryRunner, symbol: string): Pending {
    let map = this.pending.get(tx);
    if (!map) this.pending.set(tx, (map = new Map<string, Pending>()));
    let p = map.get(symbol);
    if (!p) map.set(symbol, (p = { delta: 0, shrink: false }));
    return p;
  }

  /**
   * Applies what `tx` did, inside `tx`. Symbols are visited in sorted order so two transactions
   * touching the same symbols lock their summary rows in the same order.
   */
  private async apply(tx: QueryRunner): Promise<void> {
    const map = this.pending.get(tx);
    if (!map) return;
    this.pending.delete(tx);
    const symbols = [...map.keys()].sort();
    const grown = symbols.filter((s) => map.get(s)!.first !== undefined);
    const shrunk = symbols.filter((s) => map.get(s)!.shrink);

    for (const part of chunks(grown)) {
      const params: unknown[] = [];
      for (const s of part) {
        const p = map.get(s)!;
        params.push(s, p.first, p.last, p.delta);
      }
      const values = Array(part.length).fill('(?, ?, ?, ?)').join(', ');
      await tx.query(
        this.mysql
          ? `INSERT INTO symbols (symbol, first_date, last_date, bars) VALUES ${values}
             ON DUPLICATE KEY UPDATE first_date = LEAST(first_date, VALUES(first_date)),
             last_date = GREATEST(last_date, VALUES(last_date)), bars = bars + VALUES(bars)`
          : `INSERT INTO symbols (symbol, first_date, last_date, bars) VALUES ${values}
             ON CONFLICT (symbol) DO UPDATE SET first_date = MIN(first_date, excluded.first_date),
             last_date = MAX(last_date, excluded.last_date), bars = bars + excluded.bars`,
        params,
      );
    }
    for (const s of symbols) {
      const p = map.get(s)!;
      if (p.first !== undefined || p.delta === 0) continue;
      await tx.query('UPDATE symbols SET bars = bars + ? WHERE symbol = ?', [p.delta, s]);
    }
    for (const part of chunks(shrunk)) {
      // A symbol with no bars left leaves the catalogue; the others' bounds come from the
      // (symbol, date) index: MIN and MAX of one symbol are single index look-ups.
      await tx.query(`DELETE FROM symbols WHERE symbol IN (${marks(part.length)}) AND bars <= 0`, [
        ...part,
      ]);
      await tx.query(
        `UPDATE symbols SET
           first_date = (SELECT MIN(h.\`date\`) FROM historical_data h WHERE h.symbol = symbols.symbol),
           last_date = (SELECT MAX(h.\`date\`) FROM historical_data h WHERE h.symbol = symbols.symbol)
         WHERE symbol IN (${marks(part.length)})`,
        [...part],
      );
    }
  }
}
