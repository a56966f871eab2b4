import { demoBarsCsv } from '@app/ingest';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Command, CommandRunner, Option } from 'nest-commander';
import { printReport } from './import.command';
import { importCsv } from './ingest-context';
import { ByteCounter, ImportProgress } from './progress';

interface SeedFlags {
  rows?: number;
  symbols?: number;
  seed?: number;
  out?: string;
}

@Command({
  name: 'seed-demo',
  description:
    'Generate realistic synthetic daily bars (random walks, weekdays) into the database or a CSV file',
})
export class SeedDemoCommand extends CommandRunner {
  async run(_args: string[], flags: SeedFlags): Promise<void> {
    const rows = flags.rows ?? 10_000;
    const symbols = flags.symbols ?? Math.max(1, Math.ceil(rows / 2520)); // ~10 years per symbol
    const csv = demoBarsCsv({ rows, symbols, seed: flags.seed });
    if (flags.out) {
      await pipeline(csv, createWriteStream(flags.out));
      console.log(
        `Wrote ${rows.toLocaleString('en-US')} bars for ${symbols} symbols to ${flags.out}.`,
      );
      return;
    }
    const counter = new ByteCounter();
    const progress = new ImportProgress(undefined, counter);
    const { uploadId, report, durationMs } = await importCsv(csv.pipe(counter), {
      fileName: `seed-demo-${rows}.csv`,
      onConflict: 'update',
      atomic: false,
      dryRun: false,
      onProgress: (n) => progress.update(n),
      bytesRead: () => counter.bytes,
    });
    progress.stop();
    printReport(report, uploadId, durationMs, false);
  }

  @Option({ flags: '--rows <n>', description: 'how many bars (default 10000)' })
  parseRows(value: string): number {
    return positive(value, '--rows');
  }

  @Option({
    flags: '--symbols <n>',
    description: 'how many symbols (default: about 10 years of bars each)',
  })
  parseSymbols(value: string): number {
    return positive(value, '--symbols');
  }

  @Option({
    flags: '--seed <n>',
    description: 'random seed; the same seed gives the same bars (default 42)',
  })
  parseSeed(value: string): number {
    return positive(value, '--seed');
  }

  @Option({ flags: '--out <file>', description: 'write a CSV file instead of the database' })
  parseOut(value: string): string {
    return value;
  }
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a whole number >= 1`);
  return n;
}
