import { AppConfigModule } from '@app/config';
import { BarExporter, DatabaseModule, ExportFormat } from '@app/database';
import { SYMBOL_PATTERN } from '@app/ingest';
import { DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Transform, TransformCallback, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command, CommandRunner, Option } from 'nest-commander';
import { CLI_CONFIG, cliConfig } from './cli-config';
import { ExportProgress } from './progress';

interface ExportFlags {
  symbols?: string[];
  from?: string;
  to?: string;
  format?: ExportFormat;
  out?: string;
}

@Module({})
class ExportCliModule {
  /** Built when the command runs, so it reads the environment of that moment. */
  static forRoot(): DynamicModule {
    return {
      module: ExportCliModule,
      imports: [AppConfigModule.forRoot(CLI_CONFIG), DatabaseModule],
    };
  }
}

const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;
const isDay = (s: string): boolean =>
  ISO_DAY.test(s) && new Date(`${s}T00:00:00Z`).toISOString().slice(0, 10) === s;

/** Counts bytes on their way out, for progress. */
class Counted extends Transform {
  bytes = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

/**
 * `export`: the route's bytes (the same BarExporter), to a file or stdout. Progress goes to
 * stderr, so stdout stays the data alone.
 */
@Command({
  name: 'export',
  description:
    'Export bars as CSV or NDJSON, ordered by symbol then date: the same bytes as GET /api/v1/data/export',
})
export class ExportCommand extends CommandRunner {
  async run(_args: string[], flags: ExportFlags): Promise<void> {
    if (flags.from && flags.to && flags.to < flags.from)
      throw new Error('--to must not be before --from');
    cliConfig();
    const format = flags.format ?? 'csv';
    const app = await NestFactory.createApplicationContext(ExportCliModule.forRoot(), {
      logger: ['error', 'warn'],
    });
    try {
      const exported = app
        .get(BarExporter)
        .open({ symbols: flags.symbols, startDate: flags.from, endDate: flags.to }, format);
      const counted = new Counted();
      const progress = new ExportProgress(counted, () => exported.rows);
      // A file is written under a temporary name and renamed when complete: a failed export
      // never leaves a short file that looks whole.
      const partial = flags.out && `${flags.out}.partial`;
      const out: Writable = partial ? createWriteStream(partial) : process.stdout;
      const timer = setInterval(() => progress.update(), 250);
      try {
        await pipeline(exported.body, counted, out);
        if (partial) await rename(partial, flags.out!);
      } catch (err) {
        if (partial) await rm(partial, { force: true });
        throw err;
      } finally {
        clearInterval(timer);
        progress.stop();
      }
      if (flags.out) {
        process.stderr.write(
          `Exported ${exported.rows.toLocaleString('en-US')} bars (${counted.bytes.toLocaleString('en-US')} bytes) to ${flags.out}\n`,
        );
      }
    } finally {
      await app.close();
    }
  }

  @Option({
    flags: '--symbols <list>',
    description: 'comma-separated symbols (default: every symbol)',
  })
  parseSymbols(value: string, previous?: string[]): string[] {
    const symbols = value.split(',').map((s) => s.trim().toUpperCase());
    const bad = symbols.find((s) => !SYMBOL_PATTERN.test(s));
    if (bad !== undefined) throw new Error(`--symbols: "${bad}" is not a valid symbol`);
    return [...new Set([...(previous ?? []), ...symbols])];
  }

  @Option({ flags: '--symbol <symbol>', description: 'one symbol (may be repeated)' })
  parseSymbol(value: string, previous?: string[]): string[] {
    return this.parseSymbols(value, previous);
  }

  @Option({ flags: '--from <date>', description: 'first date included, YYYY-MM-DD' })
  parseFrom(value: string): string {
    if (!isDay(value)) throw new Error('--from must be a real date written YYYY-MM-DD');
    return value;
  }

  @Option({ flags: '--to <date>', description: 'last date included, YYYY-MM-DD' })
  parseTo(value: string): string {
    if (!isDay(value)) throw new Error('--to must be a real date written YYYY-MM-DD');
    return value;
  }

  @Option({ flags: '--format <format>', description: 'csv (default) or ndjson' })
  parseFormat(value: string): ExportFormat {
    if (value !== 'csv' && value !== 'ndjson') throw new Error('--format must be csv or ndjson');
    return value;
  }

  @Option({ flags: '--out <file>', description: 'write to this file (default: stdout)' })
  parseOut(value: string): string {
    return value;
  }
}
