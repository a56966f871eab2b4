import { AppConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { CsvIngestOptions, CsvIngestor, CsvIngestReport, IngestModule } from '@app/ingest';
import { DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { Readable } from 'node:stream';
import { UploadRecorder } from '../../api/src/upload/upload.recorder';
import { CLI_CONFIG, cliConfig } from './cli-config';

@Module({})
class IngestCliModule {
  /** Built when a command runs, so it reads the environment of that moment. */
  static forRoot(): DynamicModule {
    return {
      module: IngestCliModule,
      imports: [AppConfigModule.forRoot(CLI_CONFIG), DatabaseModule, IngestModule],
      providers: [UploadRecorder],
    };
  }
}

/**
 * Who an import is recorded as: `cli:<os user>@<host>`, the operator and the machine (the pod, in
 * Kubernetes) that ran it. The colon keeps it apart from API key names, which cannot contain one.
 */
export function cliClient(): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    // A container user without a passwd entry has a uid but no name.
    user = String(process.getuid?.() ?? 'unknown');
  }
  return `cli:${user}@${hostname()}`;
}

export type ImportOptions = Omit<CsvIngestOptions, 'onCommitted' | 'source'> & {
  fileName?: string;
  /** Bytes of the file read so far (recorded with the upload). */
  bytesRead: () => number;
};

/**
 * Runs one CSV through the API's own pipeline and the API's own upload record (rule set,
 * strategies, recorder; source=cli), in a Nest context of its own so that other commands never
 * open the database.
 */
export async function importCsv(
  source: Readable,
  options: ImportOptions,
): Promise<{ uploadId: string; report: CsvIngestReport; durationMs: number }> {
  cliConfig();
  const app = await NestFactory.createApplicationContext(IngestCliModule.forRoot(), {
    logger: ['error', 'warn'],
  });
  try {
    const { fileName, bytesRead, ...ingest } = options;
    const run = await app.get(UploadRecorder).start({
      id: randomUUID(),
      status: 'processing',
      mode: 'sync',
      source: 'cli',
      fileName,
      client: cliClient(),
      options: {
        onConflict: ingest.onConflict,
        atomic: ingest.atomic,
        dryRun: ingest.dryRun,
        symbol: ingest.symbol,
        dateFormat: ingest.dateFormat,
        decimal: ingest.decimal,
      },
    });
    let report: CsvIngestReport;
    try {
      report = await app
        .get(CsvIngestor)
        .ingest(source, { ...ingest, source: 'cli', onCommitted: run.onCommitted });
    } catch (err) {
      await run.failed(err, bytesRead());
      throw err;
    }
    const { durationMs } = await run.completed(report, bytesRead());
    return { uploadId: run.id, report, durationMs };
  } finally {
    await app.close();
  }
}
