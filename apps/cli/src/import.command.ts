import { CsvFormatError, CsvHeaderError, CsvIngestReport, DateFormat } from '@app/ingest';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Command, CommandRunner, Option } from 'nest-commander';
import { importCsv } from './ingest-context';
import { ByteCounter, ImportProgress } from './progress';

interface ImportFlags {
  symbol?: string;
  onConflict?: 'update' | 'skip' | 'error';
  dryRun?: boolean;
  atomic?: boolean;
  dateFormat?: DateFormat;
  json?: boolean;
}

/** Exit codes: 0 every row written; 2 some rows rejected (the rest written); 1 nothing imported. */
export const EXIT_ROWS_FAILED = 2;

export function printReport(
  report: CsvIngestReport,
  uploadId: string,
  durationMs: number,
  dryRun: boolean,
): void {
  const rate = Math.round(report.rows / Math.max(durationMs / 1000, 0.001));
  console.log(
    `${dryRun ? 'Dry run (nothing written): ' : ''}${report.rows.toLocaleString('en-US')} rows in ${(durationMs / 1000).toFixed(1)} s (${rate.toLocaleString('en-US')} rows/s): ` +
      `${report.inserted} inserted, ${report.updated} updated, ${report.skipped} skipped, ${report.failed} failed.`,
  );
  if (report.failed) {
    const counts = Object.entries(report.errorCounts)
      .map(([code, n]) => `${code} ${n}`)
      .join(', ');
    console.log(`Rejected by code: ${counts}`);
    for (const e of report.errors.slice(0, 20)) {
      console.log(
        `  line ${e.line}${e.column ? `, ${e.column}` : ''}: ${e.code} ${e.message}${e.value ? ` (value ${JSON.stringify(e.value)})` : ''}`,
      );
    }
    const more = report.failed - Math.min(20, report.errors.length);
    if (more > 0)
      console.log(
        `  ... and ${more} more (GET /api/v1/uploads/${uploadId}/errors on a running API)`,
      );
  }
  console.log(`Upload record: ${uploadId}`);
}

@Command({
  name: 'import',
  arguments: '<file>',
  description: 'Import a CSV file of bars through the same pipeline as the upload endpoint',
  argsDescription: { file: 'path of the CSV file' },
})
export class ImportCommand extends CommandRunner {
  async run([file]: string[], flags: ImportFlags): Promise<void> {
    const size = (await stat(file)).size;
    const counter = new ByteCounter();
    const progress = new ImportProgress(size, counter);
    const dryRun = flags.dryRun ?? false;
    try {
      const { uploadId, report, durationMs } = await importCsv(
        createReadStream(file).pipe(counter),
        {
          fileName: basename(file),
          symbol: flags.symbol,
          onConflict: flags.onConflict ?? 'update',
          atomic: flags.atomic ?? false,
          dryRun,
          dateFormat: flags.dateFormat,
          onProgress: (rows) => progress.update(rows),
          bytesRead: () => counter.bytes,
        },
      );
      progress.stop();
      if (flags.json)
        console.log(
          JSON.stringify({ uploadId, ...report, durationMs: Math.round(durationMs) }, null, 2),
        );
      else printReport(report, uploadId, durationMs, dryRun);
      if (report.failed > 0) process.exitCode = EXIT_ROWS_FAILED;
    } catch (err) {
      progress.stop();
      if (err instanceof CsvHeaderError || err instanceof CsvFormatError) {
        console.error(`Not imported: ${err.message}`);
        process.exitCode = 1;
        return;
      }
      throw err;
    }
  }

  @Option({ flags: '--symbol <symbol>', description: 'symbol for files without a symbol column' })
  parseSymbol(value: string): string {
    return value.trim().toUpperCase();
  }

  @Option({ flags: '--on-conflict <mode>', description: 'update (default), skip or error' })
  parseOnConflict(value: string): ImportFlags['onConflict'] {
    if (value !== 'update' && value !== 'skip' && value !== 'error') {
      throw new Error('--on-conflict must be update, skip or error');
    }
    return value;
  }

  @Option({
    flags: '--date-format <format>',
    description: 'MM/DD/YYYY (default) or DD/MM/YYYY for slash dates',
  })
  parseDateFormat(value: string): DateFormat {
    if (value !== 'MM/DD/YYYY' && value !== 'DD/MM/YYYY')
      throw new Error('--date-format must be MM/DD/YYYY or DD/MM/YYYY');
    return value;
  }

  @Option({ flags: '--dry-run', description: 'validate and report, write nothing' })
  parseDryRun(): boolean {
    return true;
  }

  @Option({ flags: '--atomic', description: 'all rows or none' })
  parseAtomic(): boolean {
    return true;
  }

  @Option({ flags: '--json', description: 'print the report as JSON' })
  parseJson(): boolean {
    return true;
  }
}
