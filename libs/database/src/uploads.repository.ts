import { TimedDb, uploadsTotal } from '@app/observability';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryRunner } from 'typeorm';
import type { WriteCounts } from './historical-data.types';
import { TransactionRunner } from './transaction.runner';

export const UPLOAD_STATUSES = [
  'queued',
  'processing',
  'completed',
  'failed',
  'interrupted',
] as const;
export type UploadStatus = (typeof UPLOAD_STATUSES)[number];

export interface UploadRowError {
  line: number;
  column: string;
  value: string;
  code: string;
  message: string;
}

export interface UploadRecord {
  id: string;
  status: UploadStatus;
  mode: 'sync' | 'async';
  source: 'csv' | 'cli';
  fileName: string | null;
  /** Who: the API key's name (null when the service runs without keys), or `cli:user@host`. */
  client: string | null;
  /** From where: the caller's address (honouring TRUST_PROXY); null for CLI imports. */
  clientIp: string | null;
  options: Record<string, unknown>;
  bytesTotal: number | null;
  bytesRead: number;
  rows: number;
  inserted: number;
  updated: number;
  skipped: number;
  failed: number;
  errorCounts: Record<string, number>;
  errors: UploadRowError[];
  errorsTruncated: boolean;
  message: string | null;
  durationMs: number | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface NewUpload {
  id: string;
  status: UploadStatus;
  mode: 'sync' | 'async';
  source: 'csv' | 'cli';
  fileName?: string;
  client?: string;
  clientIp?: string;
  options: Record<string, unknown>;
  bytesTotal?: number;
  /** The instance running it (AppConfig.uploads.instanceId); its heartbeat starts now. */
  owner?: string;
}

/** One rejected record of an upload, as served by GET /api/v1/uploads/:id/errors. */
export interface RejectedRow {
  line: number;
  code: string;
  column: string;
  value: string;
  message: string;
  /** The record as it was in the file, re-joined with commas. */
  record: string;
}

export interface UploadOutcome {
  status: UploadStatus;
  bytesRead: number;
  rows: number;
  failed: number;
  errorCounts: Record<string, number>;
  errors: UploadRowError[];
  errorsTruncated: boolean;
  message?: string;
  durationMs: number;
}

type Row = Record<string, unknown>;

/** A rejected record longer than this (characters) is kept cut (MEDIUMTEXT holds it either way). */
const REJECTED_RECORD_MAX_CHARS = 65_536;

const num = (v: unknown): number => Number(v ?? 0);
const json = <T>(v: unknown, fallback: T): T =>
  typeof v === 'string' && v ? (JSON.parse(v) as T) : fallback;
/** MySQL DATETIME(6) and SQLite text timestamps → ISO 8601 UTC. */
const iso = (v: unknown): string | null =>
  typeof v === 'string' ? `${v.replace(' ', 'T').replace(/Z?$/, '')}Z` : null;

function toRecord(r: Row): UploadRecord {
  return {
    id: String(r.id),
    status: r.status as UploadStatus,
    mode: r.mode as 'sync' | 'async',
    source: r.source as 'csv' | 'cli',
    fileName: (r.file_name as string | null) ?? null,
    client: (r.client as string | null) ?? null,
    clientIp: (r.client_ip as string | null) ?? null,
    options: json(r.options, {}),
    bytesTotal: r.bytes_total === null ? null : num(r.bytes_total),
    bytesRead: num(r.bytes_read),
    rows: num(r.row_count),
    inserted: num(r.inserted),
    updated: num(r.updated),
    skipped: num(r.skipped),
    failed: num(r.failed),
    errorCounts: json(r.error_counts, {}),
    errors: json(r.errors, []),
    errorsTruncated: num(r.errors_truncated) === 1,
    message: (r.message as string | null) ?? null,
    durationMs: r.duration_ms === null ? null : num(r.duration_ms),
    createdAt: iso(r.created_at)!,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
  };
}

/** uploads, and nothing else: the audit trail and async status of every CSV upload or import. */
@Injectable()
export class UploadsRepository {
  private readonly now: string;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly transactions: TransactionRunner,
  ) {
    this.now =
      dataSource.options.type === 'mysql'
        ? 'CURRENT_TIMESTAMP(6)'
        : "strftime('%Y-%m-%d %H:%M:%f', 'now')";
  }

  async create(u: NewUpload): Promise<void> {
    await this.transactions.execute(
      `INSERT INTO uploads (id, status, mode, source, file_name, client, client_ip, options, bytes_total, owner_instance, heartbeat_at, started_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${this.now}, ${u.status === 'processing' ? this.now : 'NULL'})`,
      [
        u.id,
        u.status,
        u.mode,
        u.source,
        u.fileName ?? null,
        u.client ?? null,
        u.clientIp ?? null,
        JSON.stringify(u.options),
        u.bytesTotal ?? null,
        u.owner ?? null,
      ],
    );
  }

  async markProcessing(id: string): Promise<void> {
    await this.transactions.execute(
      `UPDATE uploads SET status = 'processing', started_at = ${this.now} WHERE id = ?`,
      [id],
    );
  }

  /** Adds one committed batch's counts, inside that batch's transaction. */
  async addCommitted(tx: QueryRunner, id: string, c: WriteCounts): Promise<void> {
    await tx.query(
      'UPDATE uploads SET inserted = inserted + ?, updated = updated + ?, skipped = skipped + ? WHERE id = ?',
      [c.inserted, c.updated, c.skipped, id],
    );
  }

  /** Progress of a running upload (bytes and rows read so far), for status polling. */
  async setProgress(id: string, bytesRead: number, rows: number): Promise<void> {
    await this.transactions.execute(
      'UPDATE uploads SET bytes_read = ?, row_count = ? WHERE id = ?',
      [bytesRead, rows, id],
    );
  }

  @TimedDb('uploads_finish')
  async finish(id: string, o: UploadOutcome): Promise<void> {
    uploadsTotal.labels(o.status).inc();
    await this.transactions.execute(
      `UPDATE uploads SET status = ?, bytes_read = ?, row_count = ?, failed = ?, error_counts = ?, errors = ?,
       errors_truncated = ?, message = ?, duration_ms = ?, finished_at = ${this.now} WHERE id = ?`,
      [
        o.status,
        o.bytesRead,
        o.rows,
        o.failed,
        JSON.stringify(o.errorCounts),
        JSON.stringify(o.errors),
        o.errorsTruncated ? 1 : 0,
        o.message ?? null,
        Math.round(o.durationMs),
        id,
      ],
    );
  }

  @TimedDb('uploads_find')
  async findById(id: string): Promise<UploadRecord | null> {
    const rows = await this.dataSource.query<Row[]>('SELECT * FROM uploads WHERE id = ?', [id]);
    return rows.length ? toRecord(rows[0]) : null;
  }

  @TimedDb('uploads_list')
  async list(limit: number, offset: number): Promise<{ rows: UploadRecord[]; total: number }> {
    const [rows, count] = await Promise.all([
      this.dataSource.query<Row[]>(
        'SELECT * FROM uploads ORDER BY created_at DESC, id LIMIT ? OFFSET ?',
        [limit, offset],
      ),
      this.dataSource.query<{ total: number | string }[]>('SELECT COUNT(*) AS total FROM uploads'),
    ]);
    return { rows: rows.map(toRecord), total: Number(count[0]?.total ?? 0) };
  }

  /**
   * The owner of these running uploads is alive: refresh their heartbeat. Only rows it owns and
   * that are still running are touched (a swept upload stays swept).
   */
  async heartbeat(owner: string, ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.transactions.execute(
      `UPDATE uploads SET heartbeat_at = ${this.now}
       WHERE owner_instance = ? AND status IN ('queued', 'processing') AND id IN (${ids.map(() => '?').join(', ')})`,
      [owner, ...ids],
    );
  }

  /**
   * Uploads whose owner stopped beating (it died, or lost the database for longer than the stale
   * window) can no longer finish: mark them interrupted. Safe from any instance, at any time: a
   * live owner's heartbeat is never that old. Rows from before ownership existed have no
   * heartbeat and count as stale. The database's clock decides, not the instances'.
   */
  async sweepStale(staleAfterMs: number, reason: string): Promise<number> {
    const cutoff =
      this.dataSource.options.type === 'mysql'
        ? `CURRENT_TIMESTAMP(6) - INTERVAL ${Math.round(staleAfterMs) * 1000} MICROSECOND`
        : `strftime('%Y-%m-%d %H:%M:%f', 'now', '-${(staleAfterMs / 1000).toFixed(3)} seconds')`;
    const interrupted = await this.transactions.execute(
      `UPDATE uploads SET status = 'interrupted', message = ?, finished_at = ${this.now}
       WHERE status IN ('queued', 'processing') AND (heartbeat_at IS NULL OR heartbeat_at < ${cutoff})`,
      [reason],
    );
    uploadsTotal.labels('interrupted').inc(interrupted);
    return interrupted;
  }

  /** Keeps rejected rows of an upload (a row already kept for that line is left as it is). */
  @TimedDb('uploads_rejected_rows_add')
  async addRejectedRows(id: string, rows: readonly RejectedRow[]): Promise<void> {
    if (rows.length === 0) return;
    const ignore = this.dataSource.options.type === 'mysql' ? 'INSERT IGNORE' : 'INSERT OR IGNORE';
    await this.transactions.execute(
      `${ignore} INTO upload_rejected_rows (upload_id, line, code, column_name, value, message, record)
       VALUES ${rows.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      rows.flatMap((r) => [
        id,
        r.line,
        r.code.slice(0, 32),
        r.column.slice(0, 64),
        r.value.slice(0, 255),
        r.message.slice(0, 500),
        r.record.slice(0, REJECTED_RECORD_MAX_CHARS),
      ]),
    );
  }

  /** An upload's rejected rows in file order, `batchSize` at a time (keyset on line). */
  async *rejectedRows(id: string, batchSize = 1000): AsyncGenerator<RejectedRow[]> {
    let after = 0;
    for (;;) {
      const rows = await this.dataSource.query<Row[]>(
        `SELECT line, code, column_name, value, message, record FROM upload_rejected_rows
         WHERE upload_id = ? AND line > ? ORDER BY line LIMIT ?`,
        [id, after, batchSize],
      );
      if (rows.length === 0) return;
      const batch = rows.map((r) => ({
        line: num(r.line),
        code: String(r.code),
        column: String(r.column_name),
        value: String(r.value),
        message: String(r.message),
        record: String(r.record),
      }));
      yield batch;
      if (rows.length < batchSize) return;
      after = batch[batch.length - 1].line;
    }
  }
}
