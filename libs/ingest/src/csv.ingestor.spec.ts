import type {
  BarRecord,
  HistoricalDataRepository,
  TransactionRunner,
  WriteCounts,
} from '@app/database';
import { Readable } from 'node:stream';
import type { QueryRunner } from 'typeorm';
import { CsvIngestor, IngestCountError, IngestInterruptedError } from './csv.ingestor';

const file = (rows: number): Readable => {
  const lines = ['symbol,date,open,high,low,close,volume'];
  for (let i = 0; i < rows; i++) {
    const date = new Date(Date.UTC(2000, 0, 3) + i * 86_400_000).toISOString().slice(0, 10);
    lines.push(`AAA,${date},1,2,1,1.5,${i}`);
  }
  return Readable.from([`${lines.join('\n')}\n`]);
};

/** The INSERT path (as on SQLite) over a repository that answers `count` for each batch. */
function ingestor(count: (bars: readonly BarRecord[]) => WriteCounts) {
  const repository = {
    dialect: 'sqlite',
    detectIngestPath: () => Promise.resolve('insert'),
    upsertBatch: (_tx: QueryRunner, bars: readonly BarRecord[]) => Promise.resolve(count(bars)),
  } as unknown as HistoricalDataRepository;
  const transactions = {
    run: <T>(work: (tx: QueryRunner) => Promise<T>) => work({} as QueryRunner),
  } as unknown as TransactionRunner;
  return new CsvIngestor(repository, transactions);
}

const options = { onConflict: 'update', atomic: false, dryRun: false, source: 'cli' } as const;

describe('CsvIngestor end-of-ingest invariant', () => {
  it('reports a file whose rows are all accounted for', async () => {
    const report = await ingestor((bars) => ({
      inserted: bars.length,
      updated: 0,
      skipped: 0,
    })).ingest(file(10), options);
    expect(report).toMatchObject({ rows: 10, inserted: 10, failed: 0 });
  });

  it('fails, never completes, when the write counts do not add up to the rows read', async () => {
    const err: unknown = await ingestor((bars) => ({
      inserted: bars.length - 1,
      updated: 0,
      skipped: 0,
    }))
      .ingest(file(10), options)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IngestInterruptedError);
    const { cause, report } = err as IngestInterruptedError;
    expect(cause).toBeInstanceOf(IngestCountError);
    expect((cause as Error).message).toContain('10 row(s) read, but 9 inserted');
    // What it carries is what was committed: the upload's record matches the table.
    expect(report).toMatchObject({ rows: 10, inserted: 9 });
  });
});
