import type { RejectedRow, UploadsRepository } from '@app/database';
import type { CsvRecord } from '@app/ingest';
import { text } from 'node:stream/consumers';
import { RejectedRowsStore, rejectedRowsCsv, REJECTED_ROWS_KEPT } from './rejected-rows.store';

/** An in-memory stand-in for the repository's two rejected-rows methods. */
function fakeUploads() {
  const rows: RejectedRow[] = [];
  const repo = {
    addRejectedRows: jest.fn((_id: string, batch: readonly RejectedRow[]) => {
      rows.push(...batch);
      return Promise.resolve();
    }),
    *rejectedRows() {
      for (let i = 0; i < rows.length; i += 2) yield rows.slice(i, i + 2);
    },
  };
  return { rows, repo: repo as unknown as UploadsRepository & typeof repo };
}

const record = (line: number, fields: string[]): CsvRecord => ({ line, fields });
const error = (line: number) => ({
  line,
  column: 'high',
  value: '9',
  code: 'HIGH_BELOW_LOW',
  message: 'high 9 is below low 12, "really"',
});

describe('RejectedRowsStore', () => {
  it('writes rejected rows in batches and serves them back as the errors CSV, quoted', async () => {
    const { repo } = fakeUploads();
    const store = new RejectedRowsStore(repo, 'u1');
    for (let line = 2; line < 1203; line++)
      void store.add(record(line, ['AAPL', 'x,y']), [error(line)]);
    await store.close();
    expect(repo.addRejectedRows).toHaveBeenCalledTimes(3); // 500 + 500 + 201
    const csv = await text(rejectedRowsCsv(repo, 'u1'));
    const lines = csv.split('\n');
    expect(lines[0]).toBe('line,code,column,value,message,record');
    expect(lines[1]).toBe(
      '2,HIGH_BELOW_LOW,high,9,"high 9 is below low 12, ""really""","AAPL,""x,y"""',
    );
    expect(lines).toHaveLength(1201 + 2);
  });

  it(`keeps at most ${REJECTED_ROWS_KEPT} rows per upload`, async () => {
    const { repo, rows } = fakeUploads();
    const store = new RejectedRowsStore(repo, 'u2');
    for (let line = 2; line < REJECTED_ROWS_KEPT + 50; line++)
      void store.add(record(line, ['A']), [error(line)]);
    await store.close();
    expect(rows).toHaveLength(REJECTED_ROWS_KEPT);
  });

  it('reports a failed write when closed', async () => {
    const { repo } = fakeUploads();
    repo.addRejectedRows.mockRejectedValueOnce(new Error('gone away'));
    const store = new RejectedRowsStore(repo, 'u3');
    void store.add(record(2, ['A']), [error(2)]);
    await expect(store.close()).rejects.toThrow('gone away');
  });

  it('honours backpressure: with a slow database, a caller awaiting add() never has more than 3 batches waiting', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let written = 0;
    const repo = {
      addRejectedRows: jest.fn(async (_id: string, batch: readonly RejectedRow[]) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        written += batch.length;
        inFlight--;
      }),
    } as unknown as UploadsRepository;
    let queued = 0;
    const store = new RejectedRowsStore(repo, 'u3');
    let waits = 0;
    let mostQueued = 0;
    for (let line = 2; line < 10_002; line++) {
      queued++;
      mostQueued = Math.max(mostQueued, queued - written);
      const saturated = store.add(record(line, ['A']), [error(line)]);
      if (saturated) {
        waits++;
        await saturated;
      }
    }
    await store.close();
    expect(written).toBe(10_000);
    expect(waits).toBeGreaterThan(0);
    // Rows held in memory: the batches waiting (at most 3 of 500) and the one filling.
    expect(mostQueued).toBeLessThanOrEqual(4 * 500);
    expect(maxInFlight).toBe(1);
  });
});
