import { AppConfigModule } from '@app/config';
import { DatabaseModule, HistoricalDataRepository, UploadsRepository } from '@app/database';
import { CsvIngestOptions, CsvIngestor, CsvIngestReport, IngestModule } from '@app/ingest';
import { DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { Readable } from 'node:stream';
import { CLI_CONFIG, cliConfig } from './cli-config';

@Module({})
class IngestCliModule {
  /** Built when a command runs, so it reads the environment of that moment. */
  static forRoot(): DynamicModule {
    return {
      module: IngestCliModule,
      imports: [AppConfigModule.forRoot(CLI_CONFIG), DatabaseModule, IngestModule],
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

export type ImportOptions = Omit<CsvIngestOptions, 'uploadId'> & { fileName?: string };

/**
 * Runs one CSV through the API's own pipeline (rule set, batching, uploads record with
 * source=cli), in a Nest context of its own so that other commands never open the database.
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
    const uploads = app.get(UploadsRepository);
    const bars = app.get(HistoricalDataRepository);
    const uploadId = randomUUID();
    const { fileName, ...ingest } = options;
    const recorded = {
      onConflict: ingest.onConflict,
      atomic: ingest.atomic,
      dryRun: ingest.dryRun,
      symbol: ingest.symbol,
      dateFormat: ingest.dateFormat,
      decimal: ingest.decimal,
    };
    await uploads.create({
      id: uploadId,
      status: 'processing',
      mode: 'sync',
      source: 'cli',
      fileName,
      client: cliClient(),
      options: recorded,
    });
    const started = performance.now();
    try {
      const report = await app
        .get(CsvIngestor)
        .ingest(source, { ...ingest, uploadId, source: 'cli' }, bars.dialect);
      const durationMs = performance.now() - started;
      const rejected = ingest.atomic && !ingest.dryRun && report.failed > 0;
      await uploads.finish(uploadId, {
        status: rejected ? 'failed' : 'completed',
        bytesRead: 0,
        rows: report.rows,
        failed: report.failed,
        errorCounts: report.errorCounts,
        errors: report.errors,
        errorsTruncated: report.errorsTruncated,
        message: rejected ? 'atomic: nothing was written' : undefined,
        durationMs,
      });
      return {
        uploadId,
        report: rejected ? { ...report, inserted: 0, updated: 0, skipped: 0 } : report,
        durationMs,
      };
    } catch (err) {
      await uploads.finish(uploadId, {
        status: 'failed',
        bytesRead: 0,
        rows: 0,
        failed: 0,
        errorCounts: {},
        errors: [],
        errorsTruncated: false,
        message: err instanceof Error ? err.message : String(err),
        durationMs: performance.now() - started,
      });
      throw err;
    }
  } finally {
    await app.close();
  }
}
