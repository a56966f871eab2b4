import type { AppConfig } from '@app/config';
import type { NewUpload, UploadOutcome, UploadsRepository, WriteCounts } from '@app/database';
import { CsvIngestReport, IngestInterruptedError } from '@app/ingest';
import type { QueryRunner } from 'typeorm';
import { ShutdownInterruption, UploadRecorder } from './upload.recorder';

function fakeUploads() {
  const calls = {
    created: [] as NewUpload[],
    committed: [] as { tx: unknown; id: string; counts: WriteCounts }[],
    finished: [] as { id: string; outcome: UploadOutcome }[],
    processing: [] as string[],
  };
  const uploads = {
    create: (u: NewUpload) => {
      calls.created.push(u);
      return Promise.resolve();
    },
    addCommitted: (tx: unknown, id: string, counts: WriteCounts) => {
      calls.committed.push({ tx, id, counts });
      return Promise.resolve();
    },
    finish: (id: string, outcome: UploadOutcome) => {
      calls.finished.push({ id, outcome });
      return Promise.resolve();
    },
    markProcessing: (id: string) => {
      calls.processing.push(id);
      return Promise.resolve();
    },
    setProgress: () => Promise.resolve(),
    heartbeat: () => Promise.resolve(),
  } as unknown as UploadsRepository;
  return { uploads, calls };
}

const report = (over: Partial<CsvIngestReport> = {}): CsvIngestReport => ({
  rows: 10,
  inserted: 8,
  updated: 0,
  skipped: 0,
  failed: 2,
  errors: [{ line: 3, column: 'date', value: 'x', code: 'INVALID_DATE', message: 'bad' }],
  errorsTruncated: false,
  errorCounts: { INVALID_DATE: 2 },
  ...over,
});

const upload = (
  options = { atomic: false, dryRun: false },
): NewUpload & { options: typeof options } => ({
  id: '00000000-0000-4000-8000-000000000001',
  status: 'processing',
  mode: 'sync',
  source: 'cli',
  options,
});

const config = { uploads: { instanceId: 'unit', heartbeatMs: 60_000 } } as AppConfig;

describe('UploadRecorder', () => {
  it('records the upload, its committed counts inside the writing transaction, and its end', async () => {
    const { uploads, calls } = fakeUploads();
    const run = await new UploadRecorder(uploads, config).start(upload());
    expect(calls.created).toEqual([expect.objectContaining({ id: run.id, owner: 'unit' })]);
    const tx = {} as QueryRunner;
    await run.onCommitted(tx, { inserted: 8, updated: 0, skipped: 0 });
    expect(calls.committed).toEqual([
      { tx, id: run.id, counts: { inserted: 8, updated: 0, skipped: 0 } },
    ]);
    const outcome = await run.completed(report(), 1234);
    expect(outcome).toMatchObject({ status: 'completed', rejectedAtomically: false });
    expect(calls.finished[0].outcome).toMatchObject({
      status: 'completed',
      bytesRead: 1234,
      rows: 10,
      failed: 2,
      errorCounts: { INVALID_DATE: 2 },
    });
  });

  it('atomic with failed rows: recorded failed, with why', async () => {
    const { uploads, calls } = fakeUploads();
    const run = await new UploadRecorder(uploads, config).start(
      upload({ atomic: true, dryRun: false }),
    );
    const outcome = await run.completed(report(), 10);
    expect(outcome).toMatchObject({ status: 'failed', rejectedAtomically: true });
    expect(calls.finished[0].outcome.message).toMatch(/atomic=true, so nothing was written/);
  });

  it('a failure part way keeps the partial report and the bytes read (the CLI lost both before)', async () => {
    const { uploads, calls } = fakeUploads();
    const run = await new UploadRecorder(uploads, config).start(upload());
    await run.failed(new IngestInterruptedError(new Error('disk full'), report()), 999);
    expect(calls.finished[0].outcome).toMatchObject({
      status: 'failed',
      bytesRead: 999,
      rows: 10,
      failed: 2,
      message: 'disk full',
    });
  });

  it('a shutdown is recorded as interrupted', async () => {
    const { uploads, calls } = fakeUploads();
    const run = await new UploadRecorder(uploads, config).start(upload());
    await run.processing();
    await run.failed(new ShutdownInterruption(), 5);
    expect(calls.processing).toEqual([run.id]);
    expect(calls.finished[0].outcome).toMatchObject({ status: 'interrupted', rows: 0 });
  });
});
