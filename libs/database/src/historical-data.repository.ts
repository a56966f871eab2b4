import { APP_CONFIG, AppConfig } from '@app/config';
import { TimedDb } from '@app/observability';
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Readable } from 'node:stream';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryRunner } from 'typeorm';
import {
  BarCursor,
  BarSelection,
  createExportPool,
  driverHandles,
  MysqlPool,
  MysqlBarCursor,
  SQLITE_CHUNK_ROWS,
  SqliteBarCursor,
  SqliteScan,
} from './bar-cursor';
import { barPageSql, COLUMNS, where } from './bar-page.sql';
import { BarRow, toBar } from './bar-row';
import { SymbolSpan, toTsv, TsvChunk } from './bar-tsv.chunk';
import { DataChanges } from './data-changes';
import { ReadPool } from './read-pool';
import { SymbolsRepository } from './symbols.repository';
import {
  discardConnection,
  LoadCountError,
  markTemporaryRead,
  TransactionRunner,
  WriteRaceError,
} from './transaction.runner';
import {
  Bar,
  BarFilter,
  barKey,
  BarPageQuery,
  BarRecord,
  ConflictMode,
  WriteCounts,
} from './historical-data.types';

export type Dialect = 'mysql' | 'sqlite';

const INSERT_COLUMNS = '(symbol, `date`, `open`, high, low, `close`, adj_close, volume)';
const ROW_PLACEHOLDER = '(?, ?, ?, ?, ?, ?, ?, ?)';

/**
 * MySQL's fastest way in: validated rows streamed as TSV. With LOCAL, duplicates are skipped
 * (IGNORE), so affected rows = rows inserted. Symbols, dates and numbers never contain tabs,
 * newlines or backslashes (the rule set guarantees it), so no escaping is needed.
 */
const loadDataSql = (table: string): string =>
  `LOAD DATA LOCAL INFILE 'bars.tsv' IGNORE INTO TABLE ${table} CHARACTER SET utf8mb4 ` +
  `FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n' ${INSERT_COLUMNS}`;
const LOAD_DATA_SQL = loadDataSql('historical_data');

/**
 * A re-upload's chunk lands here first (per connection, never replicated, gone with the
 * connection); an UPDATE … JOIN and an INSERT … SELECT then merge it (merge).
 */
const STAGING = 'bulk_staging';
// No index to maintain (the pairs are distinct: the validated-bars stream saw to it); the
// columns' types, charset and collation copied from historical_data, so the join uses its index.
const createStaging = (engine: StagingEngine): string =>
  `CREATE TEMPORARY TABLE ${STAGING} ENGINE=${engine} AS SELECT symbol, \`date\`, \`open\`, high, low, \`close\`, adj_close, volume FROM historical_data LIMIT 0`;
/**
 * MEMORY loads a chunk ~2× faster than InnoDB (no redo, no undo: measured on MariaDB 10.11, a
 * 50k-row chunk in ~45 ms instead of ~100 ms) and is dropped with the chunk anyway. Its rows are
 * fixed-length, ~95 bytes: a chunk of 50k rows is ~6.3 MB, and the table may not outgrow
 * max_heap_table_size (16 MiB by default). A server configured below that stages in InnoDB, and
 * so does a Galera node (wsrep_on): there the cluster spec's certification drill ended with a
 * write set the other nodes could not apply (Duplicate entry, the node voted out) when staging
 * was MEMORY, a non-transactional table inside the merge's transaction.
 */
type StagingEngine = 'MEMORY' | 'InnoDB';
/**
 * What the bulk path needs to know of the server, asked once. `galera` (wsrep_on): the
 * UPDATE … JOIN merge, the first-pair lookup and MEMORY staging are not used there — the
 * cluster spec's certification drill (two nodes loading overlapping files) ended with them in a
 * write set the other nodes could not apply (Duplicate entry, the node voted out); Galera keeps
 * the merge the spec passes with (INSERT … SELECT … ON DUPLICATE KEY UPDATE from InnoDB staging).
 */
interface BulkServer {
  engine: StagingEngine;
  galera: boolean;
}
const MEMORY_STAGING_MIN_BYTES = 16 * 1024 * 1024;

interface MysqlConnection {
  query(
    options: { sql: string; infileStreamFactory: () => Readable },
    callback: (err: Error | null, result: { affectedRows: number }) => void,
  ): void;
}

export interface WriteHint {
  /** The caller expects many rows of this batch to be stored already (re-uploads). */
  expectConflicts?: boolean;
  /**
   * A bulk load chunk's first pair, known before its rows stream in: when it is stored already
   * the chunk is taken for a re-upload's and goes straight to staging (loadChunk).
   */
  firstPair?: { symbol: string; date: string };
}

export type IngestPath = 'load-data' | 'insert';

/** What a bulk load asks of a chunk whose pairs may be stored already. */
export type BulkMode = 'update' | 'skip';

const insertStatement = (rows: number): string =>
  `INSERT INTO historical_data ${INSERT_COLUMNS} VALUES ${Array(rows).fill(ROW_PLACEHOLDER).join(', ')}`;

export type AggregateInterval = 'week' | 'month' | 'quarter' | 'year';

export interface AggregateQuery {
  symbols: readonly string[];
  interval: AggregateInterval;
  startDate?: string;
  endDate?: string;
}

/** One symbol's bars over one period; periodStart is the period's first calendar day. */
export interface AggregateRow {
  symbol: string;
  periodStart: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  bars: number;
}

interface AggregateSqlRow {
  symbol: string;
  period_start: string;
  open: number | string;
  high: number | string;
  low: number | string;
  close: number | string;
  volume: number | string;
  bars: number | string;
}

/**
 * The first calendar day of the period holding `date`, as YYYY-MM-DD text on both dialects (weeks
 * start on Monday: MySQL's WEEKDAY() is 0 on Monday; SQLite's %w is 0 on Sunday, hence +6 mod 7).
 */
const PERIOD_START: Record<Dialect, Record<AggregateInterval, string>> = {
  mysql: {
    week: "DATE_FORMAT(DATE_SUB(`date`, INTERVAL WEEKDAY(`date`) DAY), '%Y-%m-%d')",
    month: "DATE_FORMAT(`date`, '%Y-%m-01')",
    quarter: "CONCAT(YEAR(`date`), '-', LPAD((QUARTER(`date`) - 1) * 3 + 1, 2, '0'), '-01')",
    year: "DATE_FORMAT(`date`, '%Y-01-01')",
  },
  sqlite: {
    week: "date(`date`, '-' || ((CAST(strftime('%w', `date`) AS INTEGER) + 6) % 7) || ' days')",
    month: "strftime('%Y-%m-01', `date`)",
    quarter:
      "printf('%s-%02d-01', strftime('%Y', `date`), ((CAST(strftime('%m', `date`) AS INTEGER) - 1) / 3) * 3 + 1)",
    year: "strftime('%Y-01-01', `date`)",
  },
};

/** The batch's bars per symbol, in first-seen order, each group in batch order. */
function groupBySymbol(bars: readonly BarRecord[]): BarRecord[][] {
  const groups = new Map<string, BarRecord[]>();
  for (const bar of bars) {
    const group = groups.get(bar.symbol);
    if (group) group.push(bar);
    else groups.set(bar.symbol, [bar]);
  }
  return [...groups.values()];
}

/** Per symbol of a batch: how many rows, and its earliest and latest date. */
function spansOf(bars: readonly BarRecord[]): Map<string, SymbolSpan> {
  const spans = new Map<string, SymbolSpan>();
  for (const { symbol, date } of bars) {
    const span = spans.get(symbol);
    if (!span) spans.set(symbol, { rows: 1, first: date, last: date });
    else {
      span.rows++;
      if (date < span.first) span.first = date;
      if (date > span.last) span.last = date;
    }
  }
  return spans;
}

function flatten(bars: readonly BarRecord[]): unknown[] {
  const params: unknown[] = new Array(bars.length * 8);
  let i = 0;
  for (const b of bars) {
    params[i++] = b.symbol;
    params[i++] = b.date;
    params[i++] = b.open;
    params[i++] = b.high;
    params[i++] = b.low;
    params[i++] = b.close;
    params[i++] = b.adjClose;
    params[i++] = b.volume;
  }
  return params;
}

/** A MySQL unique-key or SQLite UNIQUE constraint violation. */
export function isUniqueViolation(err: unknown): boolean {
  const driver = (err as { driverError?: { code?: string } }).driverError ?? err;
  const code = (driver as { code?: string }).code;
  return (
    code === 'ER_DUP_ENTRY' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

/**
 * historical_data, and nothing else (house rule 3). Hand-written SQL that both dialects accept
 * (SQLite reads MySQL's backticks), because this is the hot path: a query builder per request
 * costs throughput the benchmarks measure.
 */
@Injectable()
export class HistoricalDataRepository implements OnApplicationShutdown {
  readonly dialect: Dialect;
  private readonly now: string;
  private readonly logger = new Logger('HistoricalDataRepository');
  private ingestPath?: Promise<IngestPath>;
  private bulkServer?: Promise<BulkServer>;
  private readonly reads: ReadPool;
  /** MySQL: the export connections, opened with the first export (createExportPool). */
  private exportPool?: MysqlPool;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly transactions: TransactionRunner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly changes: DataChanges,
    private readonly summary: SymbolsRepository,
  ) {
    this.dialect = dataSource.options.type === 'mysql' ? 'mysql' : 'sqlite';
    this.reads = new ReadPool(dataSource);
    this.now =
      this.dialect === 'mysql' ? 'CURRENT_TIMESTAMP(6)' : "strftime('%Y-%m-%d %H:%M:%f', 'now')";
  }

  /** Runs `work` in one transaction (see TransactionRunner: every SQLite write must come through it). */
  transaction<T>(work: (tx: QueryRunner) => Promise<T>): Promise<T> {
    return this.transactions.run(work);
  }

  /**
   * One page in (date, symbol) order. Page mode: LIMIT/OFFSET plus a COUNT of the whole filter
   * (`count`); cursor mode: the rows after `after`, no OFFSET, no COUNT — page 5 000 costs what
   * page 1 costs. `more` says whether rows follow this page.
   */
  @TimedDb('find_page')
  async findPage(query: BarPageQuery): Promise<{ rows: Bar[]; total?: number; more: boolean }> {
    const { sql, params } = barPageSql(query);
    if (query.count) {
      const rows = await this.reads.query<BarRow & { total: number | string }>(sql, params);
      const total = Number(rows[0]?.total ?? 0);
      if (rows.length === 1 && rows[0].id === null) rows.length = 0;
      const offset = query.offset ?? 0;
      return { rows: rows.map(toBar), total, more: offset + rows.length < total };
    }
    const rows = await this.reads.query<BarRow>(sql, params);
    const more = rows.length > query.limit;
    if (more) rows.length = query.limit;
    return { rows: rows.map(toBar), more };
  }

  @TimedDb('find_by_id')
  async findById(id: number, tx?: QueryRunner): Promise<Bar | null> {
    const sql = `SELECT ${COLUMNS} FROM historical_data WHERE id = ?`;
    const rows = tx
      ? await this.dataSource.query<BarRow[]>(sql, [id], tx)
      : await this.reads.query<BarRow>(sql, [id]);
    return rows.length ? toBar(rows[0]) : null;
  }

  /** The latest bar of one symbol: one descending step on the (symbol, date) index. */
  @TimedDb('find_latest')
  async findLatest(symbol: string): Promise<Bar | null> {
    const rows = await this.reads.query<BarRow>(
      `SELECT ${COLUMNS} FROM historical_data WHERE symbol = ? ORDER BY \`date\` DESC LIMIT 1`,
      [symbol],
    );
    return rows.length ? toBar(rows[0]) : null;
  }

  /** Every stored date of one symbol, ascending: read from the (symbol, date) index alone. */
  @TimedDb('find_dates')
  async findDates(symbol: string): Promise<string[]> {
    const rows = await this.reads.query<{ date: string }>(
      'SELECT `date` FROM historical_data WHERE symbol = ? ORDER BY `date`',
      [symbol],
    );
    return rows.map((r) => r.date);
  }

  /**
   * OHLCV per symbol and calendar period, computed by the database: one GROUP BY over the
   * symbols' index ranges, then the first bar's open and the last bar's close fetched by their
   * (symbol, date) keys. Only the period's start needs dialect-specific SQL (PERIOD_START).
   */
  @TimedDb('aggregate')
  async aggregate(query: AggregateQuery): Promise<AggregateRow[]> {
    const clauses = [`symbol IN (${Array(query.symbols.length).fill('?').join(', ')})`];
    const params: unknown[] = [...query.symbols];
    if (query.startDate !== undefined) {
      clauses.push('`date` >= ?');
      params.push(query.startDate);
    }
    if (query.endDate !== undefined) {
      clauses.push('`date` <= ?');
      params.push(query.endDate);
    }
    const period = PERIOD_START[this.dialect][query.interval];
    const rows = await this.reads.query<AggregateSqlRow>(
      `SELECT g.symbol, g.period_start, g.first_date, g.last_date, o.\`open\` AS \`open\`, g.high, g.low,
              c.\`close\` AS \`close\`, g.volume, g.bars
       FROM (SELECT symbol, ${period} AS period_start, MIN(\`date\`) AS first_date, MAX(\`date\`) AS last_date,
                    MAX(high) AS high, MIN(low) AS low, SUM(volume) AS volume, COUNT(*) AS bars
             FROM historical_data WHERE ${clauses.join(' AND ')} GROUP BY symbol, period_start) g
       JOIN historical_data o ON o.symbol = g.symbol AND o.\`date\` = g.first_date
       JOIN historical_data c ON c.symbol = g.symbol AND c.\`date\` = g.last_date
       ORDER BY g.symbol, g.period_start`,
      params,
    );
    return rows.map((r) => ({
      symbol: r.symbol,
      periodStart: r.period_start,
      open: +r.open,
      high: +r.high,
      low: +r.low,
      close: +r.close,
      volume: +r.volume,
      bars: +r.bars,
    }));
  }

  /**
   * Which of these (symbol, date) pairs are already stored, as barKey() strings. One flat
   * `symbol IN (...) AND date BETWEEN` lookup on the unique index (an OR per pair would exceed
   * SQLite's expression depth on wide batches); rows outside the batch are filtered out here.
   * `latest` (MySQL, inside `tx`): a locking read, which sees rows committed after the
   * transaction's snapshot and keeps the range as it is until the transaction ends.
   */
  @TimedDb('find_existing_keys')
  async findExistingKeys(
    bars: readonly BarRecord[],
    tx?: QueryRunner,
    latest = false,
  ): Promise<Set<string>> {
    if (bars.length === 0) return new Set();
    const wanted = new Set<string>();
    const symbols = new Set<string>();
    let first = bars[0].date;
    let last = first;
    for (const b of bars) {
      wanted.add(barKey(b.symbol, b.date));
      symbols.add(b.symbol);
      if (b.date < first) first = b.date;
      if (b.date > last) last = b.date;
    }
    const rows = await this.dataSource.query<{ symbol: string; date: string }[]>(
      `SELECT symbol, \`date\` FROM historical_data
       WHERE symbol IN (${Array(symbols.size).fill('?').join(', ')}) AND \`date\` BETWEEN ? AND ?${
         latest && tx && this.dialect === 'mysql' ? ' LOCK IN SHARE MODE' : ''
       }`,
      [...symbols, first, last],
      tx,
    );
    const existing = new Set<string>();
    for (const r of rows) {
      const key = barKey(r.symbol, r.date);
      if (wanted.has(key)) existing.add(key);
    }
    return existing;
  }

  /**
   * Writes one batch with a single multi-row statement inside `tx` and counts honestly.
   * The batch must not repeat a (symbol, date). In 'error' mode the caller has already removed
   * stored pairs (findExistingKeys); a pair stored meanwhile fails the statement.
   */
  @TimedDb('upsert_batch')
  async upsertBatch(
    tx: QueryRunner,
    bars: readonly BarRecord[],
    mode: ConflictMode,
    hint: WriteHint = {},
  ): Promise<WriteCounts> {
    if (bars.length === 0) return { inserted: 0, updated: 0, skipped: 0 };
    const spans = spansOf(bars);
    this.changes.touched(tx, spans.keys());
    // The summary needs each symbol's exact insert count, and a statement reports only its own
    // total: so a batch holding several symbols is written one statement per symbol. (Counting
    // before and after instead needs locking reads, whose gap locks deadlock concurrent inserts;
    // files are usually ordered by symbol, so batches rarely hold more than two.) Those per-symbol
    // statements are plain multi-row INSERTs: LOAD DATA holds the table's AUTO-INC lock for the
    // whole statement, and several of them per transaction deadlock with concurrent writers.
    const split = spans.size > 1;
    const groups = split ? groupBySymbol(bars) : [bars];
    const total: WriteCounts = { inserted: 0, updated: 0, skipped: 0 };
    for (const group of groups) {
      const counts = await this.writeBatch(tx, group, mode, hint, !split);
      const span = spans.get(group[0].symbol)!;
      // After the statement every pair in it is stored: its dates can only widen the bounds.
      this.summary.grew(tx, group[0].symbol, counts.inserted, span.first, span.last);
      total.inserted += counts.inserted;
      total.updated += counts.updated;
      total.skipped += counts.skipped;
    }
    return total;
  }

  private async writeBatch(
    tx: QueryRunner,
    bars: readonly BarRecord[],
    mode: ConflictMode,
    hint: WriteHint,
    allowLoadData: boolean,
  ): Promise<WriteCounts> {
    const n = bars.length;

    if (
      allowLoadData &&
      this.dialect === 'mysql' &&
      (await this.detectIngestPath()) === 'load-data'
    ) {
      if (mode === 'skip' || mode === 'error' || !hint.expectConflicts) {
        const inserted = await this.loadData(tx, bars);
        if (mode === 'skip') return { inserted, updated: 0, skipped: n - inserted };
        if (mode === 'error') {
          // The caller removed stored pairs; one stored meanwhile was skipped: let it retry.
          if (inserted < n) throw new WriteRaceError();
          return { inserted, updated: 0, skipped: 0 };
        }
        if (inserted === n) return { inserted, updated: 0, skipped: 0 };
        // Some pairs were stored: upsert the batch; exactly n - inserted of it were updates.
        await this.upsertStatement(tx, insertStatement(n), flatten(bars), n);
        return { inserted, updated: n - inserted, skipped: 0 };
      }
    }

    const insert = insertStatement(n);
    const params = flatten(bars);

    if (mode === 'error') {
      try {
        await tx.query(insert, params, true);
      } catch (err) {
        // The caller looked and found none of these stored: a concurrent writer stored one since.
        if (isUniqueViolation(err)) throw new WriteRaceError();
        throw err;
      }
      return { inserted: n, updated: 0, skipped: 0 };
    }

    if (this.dialect === 'mysql') {
      if (mode === 'skip') {
        // Without FOUND_ROWS, a no-op "update" of an existing row counts 0 affected rows.
        const { affected = 0 } = await tx.query(
          `${insert} ON DUPLICATE KEY UPDATE id = id`,
          params,
          true,
        );
        return { inserted: affected, updated: 0, skipped: n - affected };
      }
      // 1 affected row per insert, 2 per update (updated_at always changes, so never 0).
      const affected = await this.upsertStatement(tx, insert, params, n);
      const updated = affected - n;
      return { inserted: n - updated, updated, skipped: 0 };
    }

    if (mode === 'skip') {
      const { affected = 0 } = await tx.query(
        `${insert} ON CONFLICT (symbol, \`date\`) DO NOTHING`,
        params,
        true,
      );
      return { inserted: affected, updated: 0, skipped: n - affected };
    }
    // SQLite counts an upserted row as 1 either way; inside the write lock a prior look is exact.
    const existing = await this.findExistingKeys(bars, tx);
    await tx.query(
      `${insert} ON CONFLICT (symbol, \`date\`) DO UPDATE SET \`open\` = excluded.\`open\`, high = excluded.high,
       low = excluded.low, \`close\` = excluded.\`close\`, adj_close = excluded.adj_close, volume = excluded.volume,
       updated_at = ${this.now}`,
      params,
      true,
    );
    return { inserted: n - existing.size, updated: existing.size, skipped: 0 };
  }

  /**
   * MySQL: one multi-row INSERT ... ON DUPLICATE KEY UPDATE of `n` rows; answers affected rows,
   * which are 1 per insert and 2 per update (updated_at always changes): between n and 2n.
   */
  private async upsertStatement(
    tx: QueryRunner,
    insert: string,
    params: unknown[],
    n: number,
  ): Promise<number> {
    const { affected = 0 } = await tx.query(
      `${insert} ON DUPLICATE KEY UPDATE \`open\` = VALUES(\`open\`), high = VALUES(high), low = VALUES(low),
       \`close\` = VALUES(\`close\`), adj_close = VALUES(adj_close), volume = VALUES(volume), updated_at = ${this.now}`,
      params,
      true,
    );
    if (affected < n || affected > 2 * n) throw new LoadCountError(affected, n, 'upsert');
    return affected;
  }

  /** MySQL: streams the batch into LOAD DATA LOCAL INFILE on the transaction's connection. */
  private async loadData(tx: QueryRunner, bars: readonly BarRecord[]): Promise<number> {
    const tsv = toTsv(bars);
    const inserted = await this.loadStream(tx, LOAD_DATA_SQL, () =>
      Readable.from([Buffer.from(tsv)]),
    );
    // IGNORE skips stored pairs, so fewer is possible; more never is.
    if (inserted > bars.length) throw new LoadCountError(inserted, bars.length);
    return inserted;
  }

  /**
   * MySQL: one LOAD DATA LOCAL INFILE statement reading `source`; answers affected rows. A
   * statement that fails takes its connection with it (discardConnection), never back to the
   * pool: mysql2 unhooks the file stream only when the statement ends well, so after an error
   * packet the stream's rest would be fed into the connection's next LOAD DATA; and after a
   * re-requested file (Galera, autocommit: mysql2 takes it as success without a count) the
   * server still waits for file data and would read the next statement as such.
   */
  private loadStream(tx: QueryRunner, sql: string, source: () => Readable): Promise<number> {
    const conn = (tx as unknown as { databaseConnection?: MysqlConnection }).databaseConnection;
    if (!conn) throw new Error('LOAD DATA needs a connected query runner');
    let file: Readable | undefined;
    const open = (): Readable => (file = source());
    return new Promise((resolve, reject) =>
      conn.query({ sql, infileStreamFactory: open }, (err, result) => {
        if (!err && typeof result?.affectedRows === 'number') return resolve(result.affectedRows);
        discardConnection(tx);
        // Nothing more of it goes anywhere (a chunk's producer stops waiting for this reader).
        file?.destroy();
        reject(err ?? new Error('LOAD DATA answered without a row count'));
      }),
    );
  }

  /**
   * MySQL with LOAD DATA (see detectIngestPath): writes one chunk of a bulk load inside `tx`,
   * the chunk's TSV streamed into the statement while the file is still being parsed. Exact
   * counts, overall and per symbol (for the catalogue):
   * - first, straight into the table with IGNORE: when every row went in (a first upload), done;
   *   otherwise back to a savepoint and on to the staging path (`hint.expectConflicts` skips the
   *   attempt, for a re-upload's later chunks, and so does a stored `hint.firstPair`, for its
   *   first one);
   * - staging: LOAD DATA into a temporary table, then (update) one UPDATE … JOIN of the stored
   *   pairs and, when it matched fewer than all, one INSERT … SELECT of the others (see merge);
   *   (skip) that INSERT alone. Affected rows give inserted and updated exactly (updated_at
   *   always changes, so every matched row counts). Only a
   *   chunk mixing new and stored pairs over several symbols needs the per-symbol split: then
   *   the pairs the merge created are counted per symbol after it (created_at), and a count
   *   that disagrees with the statement's (a concurrent writer in between) fails with
   *   WriteRaceError, which retries.
   */
  @TimedDb('load_chunk')
  async loadChunk(
    tx: QueryRunner,
    chunk: TsvChunk,
    mode: BulkMode,
    hint: WriteHint = {},
  ): Promise<WriteCounts> {
    // The chunk fills while its first statement reads it: its size and symbols are known once
    // that statement has read the whole of it.
    let n = 0;
    const complete = (): void => {
      n = chunk.rows;
      this.changes.touched(tx, chunk.spans.keys());
    };
    // A re-upload's first chunk: its first pair is stored, so a direct attempt would most likely
    // fail after trying every row as an insert (one point lookup spares that).
    const server = await this.bulkServerOf(tx);
    const direct =
      !hint.expectConflicts &&
      !(!server.galera && hint.firstPair && (await this.isStored(tx, hint.firstPair)));
    if (direct) {
      await tx.query('SAVEPOINT bulk_direct');
      const inserted = await this.loadStream(tx, LOAD_DATA_SQL, () => chunk.stream());
      complete();
      // IGNORE skips stored pairs (then the staging path below counts them); more rows than
      // sent means the statement read bytes that were not this chunk's.
      if (inserted > n) throw new LoadCountError(inserted, n);
      if (inserted === n) {
        for (const [symbol, span] of chunk.spans)
          this.summary.grew(tx, symbol, span.rows, span.first, span.last);
        return { inserted: n, updated: 0, skipped: 0 };
      }
      await tx.query('ROLLBACK TO SAVEPOINT bulk_direct');
    }
    await tx.query(`DROP TEMPORARY TABLE IF EXISTS ${STAGING}`);
    await tx.query(createStaging(server.engine));
    markTemporaryRead(tx);
    const staged = await this.loadStream(tx, loadDataSql(STAGING), () => chunk.stream());
    complete();
    // The staging table has no key: every row sent is a row staged. Anything else (a short or
    // foreign file) would turn into rows counted as skipped or updated that were never written.
    if (staged !== n) throw new LoadCountError(staged, n, 'LOAD DATA into staging');
    if (n === 0) return { inserted: 0, updated: 0, skipped: 0 };
    // Several symbols: the catalogue needs each one's inserts. The merge's inserted rows are the
    // staged pairs created from here on; counted after it (never by rolling the merge back to a
    // savepoint: on MariaDB Galera 10.11 a write set then still carries the rows of a statement
    // that read the temporary table and was rolled back, and the other nodes fail to apply it).
    const perSymbol = chunk.spans.size > 1;
    if (perSymbol) await tx.query('SET @bulk_merge_at = NOW(6)');
    const counts = server.galera
      ? await this.mergeInOneStatement(tx, n, mode)
      : await this.merge(tx, n, mode);
    let inserted: Map<string, number> | undefined;
    if (perSymbol && counts.inserted !== 0 && counts.inserted !== n) {
      inserted = await this.insertedPerSymbol(tx);
      let total = 0;
      for (const k of inserted.values()) total += k;
      // A concurrent writer's pair, created since, would be counted here too: run it again.
      if (total !== counts.inserted) throw new WriteRaceError();
    }
    for (const [symbol, span] of chunk.spans) {
      const added = inserted
        ? (inserted.get(symbol) ?? 0)
        : counts.inserted === n
          ? span.rows
          : counts.inserted === 0
            ? 0
            : counts.inserted; // one symbol
      this.summary.grew(tx, symbol, added, span.first, span.last);
    }
    await tx.query(`DROP TEMPORARY TABLE IF EXISTS ${STAGING}`);
    return counts;
  }

  /**
   * The staged rows into historical_data; exact counts from affected rows. Update: one UPDATE …
   * JOIN of the stored pairs (1 affected row each: updated_at always changes), then, only when
   * it matched fewer than all, one INSERT … SELECT of the rest (anti-join). Measured on MariaDB
   * 10.11, 1M stored rows, 50k-row chunks: ~2.5× faster than INSERT … SELECT … ON DUPLICATE KEY
   * UPDATE, which first tries each row as an insert. A pair stored by a concurrent writer
   * between the two fails the INSERT (a unique violation): WriteRaceError, which retries. Skip:
   * the anti-join INSERT IGNORE alone (such a pair is then skipped, as it should be).
   */
  private async merge(tx: QueryRunner, n: number, mode: BulkMode): Promise<WriteCounts> {
    const updated = mode === 'update' ? await this.updateStaged(tx, n) : 0;
    if (updated === n) return { inserted: 0, updated, skipped: 0 };
    const inserted = await this.insertStaged(tx, mode === 'skip');
    if (mode === 'skip') {
      if (inserted > n) throw new LoadCountError(inserted, n, 'merge');
      return { inserted, updated: 0, skipped: n - inserted };
    }
    // Every staged pair is either stored (updated) or new (inserted): anything else is a write
    // in between (a pair deleted meanwhile is locked by the UPDATE, so none can go).
    if (updated + inserted !== n) throw new WriteRaceError();
    return { inserted, updated, skipped: 0 };
  }

  /**
   * Galera (see BulkServer): the staged rows in one INSERT … SELECT … ON DUPLICATE KEY UPDATE
   * (update: 1 affected row per insert, 2 per update) or … UPDATE id = id (skip).
   */
  private async mergeInOneStatement(
    tx: QueryRunner,
    n: number,
    mode: BulkMode,
  ): Promise<WriteCounts> {
    const select = `INSERT INTO historical_data ${INSERT_COLUMNS} SELECT symbol, \`date\`, \`open\`, high, low, \`close\`, adj_close, volume FROM ${STAGING}`;
    if (mode === 'skip') {
      const { affected = 0 } = await tx.query(
        `${select} ON DUPLICATE KEY UPDATE id = id`,
        [],
        true,
      );
      if (affected > n) throw new LoadCountError(affected, n, 'merge');
      return { inserted: affected, updated: 0, skipped: n - affected };
    }
    const affected = await this.upsertStatement(tx, select, [], n);
    const updated = affected - n;
    return { inserted: n - updated, updated, skipped: 0 };
  }

  /** The stored pairs of the staging table updated in place; answers how many (≤ n). */
  private async updateStaged(tx: QueryRunner, n: number): Promise<number> {
    const { affected = 0 } = await tx.query(
      `UPDATE historical_data h JOIN ${STAGING} s ON h.symbol = s.symbol AND h.\`date\` = s.\`date\`
       SET h.\`open\` = s.\`open\`, h.high = s.high, h.low = s.low, h.\`close\` = s.\`close\`,
       h.adj_close = s.adj_close, h.volume = s.volume, h.updated_at = ${this.now}`,
      [],
      true,
    );
    if (affected > n) throw new LoadCountError(affected, n, 'merge');
    return affected;
  }

  /** The staged pairs not stored yet, inserted; answers how many. */
  private async insertStaged(tx: QueryRunner, ignore: boolean): Promise<number> {
    try {
      const { affected = 0 } = await tx.query(
        `INSERT${ignore ? ' IGNORE' : ''} INTO historical_data ${INSERT_COLUMNS}
         SELECT s.symbol, s.\`date\`, s.\`open\`, s.high, s.low, s.\`close\`, s.adj_close, s.volume FROM ${STAGING} s
         WHERE NOT EXISTS (SELECT 1 FROM historical_data h WHERE h.symbol = s.symbol AND h.\`date\` = s.\`date\`)`,
        [],
        true,
      );
      return affected;
    } catch (err) {
      if (isUniqueViolation(err)) throw new WriteRaceError();
      throw err;
    }
  }

  /** Whether this (symbol, date) is stored: one point lookup on the unique index. */
  private async isStored(
    tx: QueryRunner,
    pair: { symbol: string; date: string },
  ): Promise<boolean> {
    const rows = (await tx.query(
      'SELECT 1 AS found FROM historical_data WHERE symbol = ? AND `date` = ? LIMIT 1',
      [pair.symbol, pair.date],
    )) as unknown[];
    return rows.length > 0;
  }

  /** See BulkServer; MEMORY staging when max_heap_table_size holds a chunk with room to spare. */
  private bulkServerOf(tx: QueryRunner): Promise<BulkServer> {
    this.bulkServer ??= (async (): Promise<BulkServer> => {
      const [row] = (await tx.query('SELECT @@max_heap_table_size AS v')) as {
        v: number | string;
      }[];
      // MySQL has no wsrep_on: an empty answer.
      const wsrep = (await tx.query("SHOW VARIABLES LIKE 'wsrep_on'")) as { Value?: string }[];
      const galera = wsrep.some((r) => String(r.Value).toUpperCase() === 'ON');
      const engine = Number(row?.v) >= MEMORY_STAGING_MIN_BYTES && !galera ? 'MEMORY' : 'InnoDB';
      return { engine, galera };
    })().catch((err: unknown) => {
      this.bulkServer = undefined; // asked again by the next chunk
      throw err;
    });
    return this.bulkServer;
  }

  /** How many staged pairs of each symbol the merge created (since @bulk_merge_at). */
  private async insertedPerSymbol(tx: QueryRunner): Promise<Map<string, number>> {
    const rows = (await tx.query(
      `SELECT s.symbol AS symbol, COUNT(*) AS n FROM ${STAGING} s
       JOIN historical_data h ON h.symbol = s.symbol AND h.\`date\` = s.\`date\`
       WHERE h.created_at >= @bulk_merge_at GROUP BY s.symbol`,
    )) as { symbol: string; n: number | string }[];
    return new Map(rows.map((r) => [r.symbol, Number(r.n)]));
  }

  /**
   * MySQL bulk writes use LOAD DATA LOCAL INFILE when the server allows it (MariaDB's default;
   * MySQL 8 ships with local_infile=OFF), else multi-row INSERTs. Decided once, and logged.
   */
  detectIngestPath(): Promise<IngestPath> {
    this.ingestPath ??= (async (): Promise<IngestPath> => {
      if (this.config.database.dialect !== 'mysql') return 'insert';
      if (this.config.database.loadData === 'off') {
        this.logger.log('bulk writes: multi-row INSERT (DB_LOAD_DATA=off)');
        return 'insert';
      }
      const [row] = await this.dataSource.query<{ v: number | string }[]>(
        'SELECT @@GLOBAL.local_infile AS v',
      );
      const path: IngestPath = Number(row?.v) === 1 ? 'load-data' : 'insert';
      this.logger.log(
        path === 'load-data'
          ? 'bulk writes: LOAD DATA LOCAL INFILE (local_infile=ON)'
          : 'bulk writes: multi-row INSERT (the server has local_infile=OFF; enable it for faster CSV ingest)',
      );
      return path;
    })();
    return this.ingestPath;
  }

  /** Replaces every field of one bar. Throws a unique violation when (symbol, date) is taken. */
  @TimedDb('replace')
  async replace(
    tx: QueryRunner,
    id: number,
    bar: BarRecord,
    previousSymbol: string,
  ): Promise<void> {
    this.changes.touched(tx, [previousSymbol, bar.symbol]);
    this.summary.shrank(tx, previousSymbol, 1);
    this.summary.grew(tx, bar.symbol, 1, bar.date, bar.date);
    await tx.query(
      `UPDATE historical_data SET symbol = ?, \`date\` = ?, \`open\` = ?, high = ?, low = ?, \`close\` = ?,
       adj_close = ?, volume = ?, updated_at = ${this.now} WHERE id = ?`,
      [...flatten([bar]), id],
      true,
    );
  }

  @TimedDb('delete_by_id')
  async deleteById(tx: QueryRunner, id: number): Promise<boolean> {
    const rows = (await tx.query('SELECT symbol FROM historical_data WHERE id = ?', [id])) as {
      symbol: string;
    }[];
    const row = rows[0];
    if (!row) return false;
    this.changes.touched(tx, [row.symbol]);
    const { affected = 0 } = await tx.query('DELETE FROM historical_data WHERE id = ?', [id], true);
    if (affected > 0) this.summary.shrank(tx, row.symbol, affected);
    return affected > 0;
  }

  @TimedDb('delete_matching')
  async deleteMatching(tx: QueryRunner, filter: BarFilter): Promise<number> {
    const { sql, params } = where(filter);
    this.changes.touched(
      tx,
      filter.symbol ? [filter.symbol] : filter.symbols?.length ? [...filter.symbols] : 'all',
    );
    // Without a symbol, what goes per symbol is counted first (the date index; on MySQL locking
    // the rows so the count is the one the DELETE then removes).
    const perSymbol: { symbol: string; n: number | string }[] = filter.symbol
      ? []
      : ((await tx.query(
          `SELECT symbol, COUNT(*) AS n FROM historical_data ${sql} GROUP BY symbol${
            this.dialect === 'mysql' ? ' FOR UPDATE' : ''
          }`,
          params,
        )) as { symbol: string; n: number | string }[]);
    const { affected = 0 } = await tx.query(`DELETE FROM historical_data ${sql}`, params, true);
    if (filter.symbol) {
      if (affected > 0) this.summary.shrank(tx, filter.symbol, affected);
    } else {
      for (const r of perSymbol) this.summary.shrank(tx, r.symbol, Number(r.n));
    }
    return affected;
  }

  /**
   * Every bar of `selection`, ordered by symbol then date, read from a database cursor as the
   * consumer asks for it (see bar-cursor.ts), each row handed on as `as` makes it: memory stays
   * constant whatever the selection holds. Destroy the cursor to stop the statement. On MySQL the
   * rows come from the export connections, DECIMAL and BIGINT as text (BarRow).
   */
  streamBars<T>(selection: BarSelection, as: (row: BarRow) => T): BarCursor<T> {
    const symbols = selection.symbols && [...new Set(selection.symbols)].sort();
    const range: string[] = [];
    const rangeParams: unknown[] = [];
    if (selection.startDate !== undefined) {
      range.push('`date` >= ?');
      rangeParams.push(selection.startDate);
    }
    if (selection.endDate !== undefined) {
      range.push('`date` <= ?');
      rangeParams.push(selection.endDate);
    }
    const handles = driverHandles(this.dataSource);
    if (this.dialect === 'mysql') {
      const clauses = [...range];
      if (symbols) clauses.unshift(`symbol IN (${symbols.map(() => '?').join(', ')})`);
      const sql = `SELECT ${COLUMNS} FROM historical_data${clauses.length ? ` WHERE ${clauses.join(' AND ')}` : ''} ORDER BY symbol, \`date\``;
      this.exportPool ??= createExportPool(
        this.dataSource.options,
        this.config.exports.maxConcurrent,
      );
      return new MysqlBarCursor(
        this.exportPool,
        this.reads,
        { sql, params: [...(symbols ?? []), ...rangeParams] },
        as,
      );
    }
    // SQLite: one keyset scan per symbol (an IN list would re-read finished symbols each chunk).
    const chunk = (clauses: string[], params: unknown[]): { sql: string; params: unknown[] } => ({
      sql: `SELECT ${COLUMNS} FROM historical_data${clauses.length ? ` WHERE ${clauses.join(' AND ')}` : ''} ORDER BY symbol, \`date\` LIMIT ${SQLITE_CHUNK_ROWS}`,
      params,
    });
    const scans: SqliteScan[] = symbols
      ? symbols.map((symbol) => ({
          first: chunk(['symbol = ?', ...range], [symbol, ...rangeParams]),
          next: (last) =>
            chunk(['symbol = ?', ...range, '`date` > ?'], [symbol, ...rangeParams, last.date]),
        }))
      : [
          {
            first: chunk(range, rangeParams),
            next: (last) =>
              chunk(
                [...range, '(symbol, `date`) > (?, ?)'],
                [...rangeParams, last.symbol, last.date],
              ),
          },
        ];
    return new SqliteBarCursor(handles.databaseConnection!, scans, as);
  }

  /** Closes the export connections (the main pool is TypeORM's to close). */
  onApplicationShutdown(): Promise<void> {
    const pool = this.exportPool;
    this.exportPool = undefined;
    return new Promise((resolve) => (pool ? pool.end(() => resolve()) : resolve()));
  }

  /** Liveness of the connection, bounded: used by readiness. */
  @TimedDb('ping')
  async ping(): Promise<void> {
    await this.dataSource.query('SELECT 1');
  }
}
