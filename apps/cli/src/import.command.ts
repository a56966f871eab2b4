import {
  CsvFormatError,
  CsvHeaderError,
  CsvIngestReport,
  DateFormat,
  DECIMAL_SEPARATORS,
  DecimalSeparator,
  SYMBOL_PATTERN,
} from '@app/ingest';
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
  decimal?: DecimalSeparator;
  json?: boolean;
}

/**
 * Exit codes: 0 every row written; 2 some rows rejected (the rest written); 1 nothing imported;
 * 64 (EX_USAGE) a bad option, found before the file is read.
 */
export const EXIT_ROWS_FAILED = 2;
export const EXIT_USAGE = 64;

/** A command-line option the command cannot run with: main.ts exits EXIT_USAGE on it. */
export class UsageError extends Error {
  readonly exitCode = EXIT_USAGE;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Every problem with the options, each naming its flag; none → []. */
export function optionProblems(flags: ImportFlags): string[] {
  const problems: string[] = [];
  if (flags.symbol !== undefined && !SYMBOL_PATTERN.test(flags.symbol.trim().toUpperCase())) {
    problems.push(
      `--symbol ${JSON.stringify(flags.symbol)}: a symbol is 1-32 characters of A-Z 0-9 . - ^ = _ / : (no spaces; BRK.B, not "BRK B")`,
    );
  }
  if (flags.onConflict !== undefined && !['update', 'skip', 'error'].includes(flags.onConflict)) {
    problems.push('--on-conflict must be update, skip or error');
  }
  if (flags.dateFormat !== undefined && !['MM/DD/YYYY', 'DD/MM/YYYY'].includes(flags.dateFormat)) {
    problems.push('--date-format must be MM/DD/YYYY or DD/MM/YYYY');
  }
  if (flags.decimal !== undefined && !DECIMAL_SEPARATORS.includes(flags.decimal)) {
    problems.push('--decimal must be ".", "," or "auto"');
  }
  return problems;
}

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
    // Options first: a bad one would otherwise fail every row of the file, or none of it.
    const problems = optionProblems(flags);
    if (problems.length) {
      for (const p of problems) console.error(`Usage error: ${p}`);
      console.error('Nothing was read or written. See `import --help`.');
      process.exitCode = EXIT_USAGE;
      return;
    }
    const size = (await stat(file)).size;
    const counter = new ByteCounter();
    const progress = new ImportProgress(size, counter);
    const dryRun = flags.dryRun ?? false;
    try {
      const { uploadId, report, durationMs } = await importCsv(
        createReadStream(file).pipe(counter),
        {
          fileName: basename(file),
          symbol: flags.symbol?.trim().toUpperCase(),
          onConflict: flags.onConflict ?? 'update',
          atomic: flags.atomic ?? false,
          dryRun,
          dateFormat: flags.dateFormat,
          decimal: flags.decimal,
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
    const [problem] = optionProblems({ symbol: value });
    if (problem) throw new UsageError(problem);
    return value.trim().toUpperCase();
  }

  @Option({ flags: '--on-conflict <mode>', description: 'update (default), skip or error' })
  parseOnConflict(value: string): ImportFlags['onConflict'] {
    const [problem] = optionProblems({ onConflict: value as ImportFlags['onConflict'] });
    if (problem) throw new UsageError(problem);
    return value as ImportFlags['onConflict'];
  }

  @Option({
    flags: '--date-format <format>',
    description: 'MM/DD/YYYY (default) or DD/MM/YYYY for slash dates',
  })
  parseDateFormat(value: string): DateFormat {
    const [problem] = optionProblems({ dateFormat: value as DateFormat });
    if (problem) throw new UsageError(problem);
    return value as DateFormat;
  }

  @Option({
    flags: '--decimal <separator>',
    description: 'decimal separator: "." (default), "," or auto (default for semicolon files)',
  })
  parseDecimal(value: string): DecimalSeparator {
    const [problem] = optionProblems({ decimal: value as DecimalSeparator });
    if (problem) throw new UsageError(problem);
    return value as DecimalSeparator;
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
