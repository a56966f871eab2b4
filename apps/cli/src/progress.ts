import { SingleBar } from 'cli-progress';
import { Transform, TransformCallback } from 'node:stream';

/** Counts the bytes flowing through, for progress. */
export class ByteCounter extends Transform {
  bytes = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);

/**
 * Import progress on stderr: a bar with bytes, rows/s and ETA on a terminal; a plain line every
 * few seconds otherwise (CI logs, pipes), so output stays readable in both.
 */
export class ImportProgress {
  private readonly bar?: SingleBar;
  private readonly started = Date.now();
  private lastLine = 0;
  private rows = 0;

  constructor(
    private readonly totalBytes: number | undefined,
    private readonly counter: ByteCounter,
    private readonly tty = Boolean(process.stderr.isTTY),
  ) {
    if (this.tty && totalBytes) {
      this.bar = new SingleBar({
        format:
          ' {bar} {percentage}% | {mb}/{totalMb} MB | {rows} rows | {rate} rows/s | ETA {eta_formatted}',
        stream: process.stderr,
        hideCursor: true,
      });
      this.bar.start(totalBytes, 0, { mb: '0.0', totalMb: mb(totalBytes), rows: 0, rate: 0 });
    }
  }

  update(rows: number): void {
    this.rows = rows;
    const seconds = (Date.now() - this.started) / 1000;
    const rate = Math.round(rows / Math.max(seconds, 0.001));
    if (this.bar) {
      this.bar.update(this.counter.bytes, {
        mb: mb(this.counter.bytes),
        rows: rows.toLocaleString('en-US'),
        rate: rate.toLocaleString('en-US'),
      });
      return;
    }
    if (Date.now() - this.lastLine < 2000) return;
    this.lastLine = Date.now();
    const share = this.totalBytes
      ? ` (${Math.floor((100 * this.counter.bytes) / this.totalBytes)}%)`
      : '';
    const eta =
      this.totalBytes && this.counter.bytes > 0
        ? `, ETA ${Math.round((seconds * (this.totalBytes - this.counter.bytes)) / this.counter.bytes)} s`
        : '';
    process.stderr.write(
      `progress: ${mb(this.counter.bytes)} MB${this.totalBytes ? ` of ${mb(this.totalBytes)} MB` : ''}${share}, ${rows.toLocaleString('en-US')} rows, ${rate.toLocaleString('en-US')} rows/s${eta}\n`,
    );
  }

  stop(): void {
    if (this.bar) {
      this.bar.update(this.counter.bytes, {
        mb: mb(this.counter.bytes),
        rows: this.rows.toLocaleString('en-US'),
      });
      this.bar.stop();
    }
  }
}

/**
 * Export progress on stderr: bars, MB and bars/s on one refreshed line on a terminal; nothing
 * otherwise (an export to a pipe is usually read by another program, and its total is unknown).
 */
export class ExportProgress {
  private readonly bar?: SingleBar;
  private readonly started = Date.now();

  constructor(
    private readonly counter: { bytes: number },
    private readonly rows: () => number,
    tty = Boolean(process.stderr.isTTY),
  ) {
    if (tty) {
      this.bar = new SingleBar({
        format: ' exporting | {rows} bars | {mb} MB | {rate} bars/s | {duration_formatted}',
        stream: process.stderr,
        hideCursor: true,
      });
      this.bar.start(0, 0, { rows: 0, mb: '0.0', rate: 0 });
    }
  }

  update(): void {
    if (!this.bar) return;
    const rows = this.rows();
    const seconds = (Date.now() - this.started) / 1000;
    this.bar.update(0, {
      rows: rows.toLocaleString('en-US'),
      mb: mb(this.counter.bytes),
      rate: Math.round(rows / Math.max(seconds, 0.001)).toLocaleString('en-US'),
    });
  }

  stop(): void {
    if (!this.bar) return;
    this.update();
    this.bar.stop();
  }
}
