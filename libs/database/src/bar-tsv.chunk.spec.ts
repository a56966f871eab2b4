import { text } from 'node:stream/consumers';
import { toTsv, TsvChunk } from './bar-tsv.chunk';
import type { BarRecord } from './historical-data.types';

const bar = (symbol: string, date: string, adjClose: number | null = null): BarRecord => ({
  symbol,
  date,
  open: 1.5,
  high: 2,
  low: 1e-7,
  close: 1.75,
  adjClose,
  volume: 1000,
});

describe('toTsv', () => {
  it('writes tab-separated rows, NULL as \\N and small numbers without exponents', () => {
    expect(toTsv([bar('A', '2024-01-02'), bar('B', '2024-01-03', 1.7)])).toBe(
      'A\t2024-01-02\t1.5\t2\t0.00000010\t1.75\t\\N\t1000\n' +
        'B\t2024-01-03\t1.5\t2\t0.00000010\t1.75\t1.7\t1000\n',
    );
  });
});

describe('TsvChunk', () => {
  it('streams live while filling, then replays the same bytes', async () => {
    const chunk = new TsvChunk();
    const live = text(chunk.stream());
    await chunk.add([bar('A', '2024-01-03'), bar('A', '2024-01-02')]);
    await chunk.add([bar('B', '2024-01-05')]);
    chunk.end();
    const first = await live;
    expect(first.split('\n')).toHaveLength(4);
    expect(await text(chunk.stream())).toBe(first);
    expect(chunk.rows).toBe(3);
    expect([...chunk.spans]).toEqual([
      ['A', { rows: 2, first: '2024-01-02', last: '2024-01-03' }],
      ['B', { rows: 1, first: '2024-01-05', last: '2024-01-05' }],
    ]);
  });

  it('a replay asked for before the end waits for it', async () => {
    const chunk = new TsvChunk();
    chunk.stream().resume();
    const replay = text(chunk.stream());
    await chunk.add([bar('A', '2024-01-02')]);
    chunk.end();
    expect(await replay).toBe(toTsv([bar('A', '2024-01-02')]));
  });

  it('an aborted chunk fails its readers, live and replayed', async () => {
    const chunk = new TsvChunk();
    const live = text(chunk.stream());
    await chunk.add([bar('A', '2024-01-02')]);
    chunk.abort(new Error('the upload failed'));
    await expect(live).rejects.toThrow('the upload failed');
    await expect(text(chunk.stream())).rejects.toThrow('the upload failed');
  });

  it('a producer is not held up by a reader that went away', async () => {
    const chunk = new TsvChunk();
    chunk.stream(); // taken, never read
    const many = Array.from({ length: 20_000 }, (_, i) =>
      bar('A', new Date(Date.UTC(1950, 0, 1) + i * 86_400_000).toISOString().slice(0, 10)),
    );
    const adding = chunk.add(many); // more than the live stream buffers
    chunk.abandonLive();
    await expect(adding).resolves.toBeUndefined();
  });
});
