import { Writable } from 'node:stream';
import { RejectedRowsFile, REJECTED_HEADER } from './rejected-rows.file';

/** A disk that takes a while per write: at most `highWaterMark` bytes may wait for it. */
function slowSink(highWaterMark: number) {
  const written: string[] = [];
  let maxBuffered = 0;
  const sink = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, done) {
      written.push(chunk.toString());
      setTimeout(done, 1);
    },
  });
  const write = sink.write.bind(sink);
  sink.write = ((chunk: string) => {
    const ok = write(chunk);
    maxBuffered = Math.max(maxBuffered, sink.writableLength);
    return ok;
  }) as typeof sink.write;
  return { sink, written, maxBuffered: () => maxBuffered };
}

const record = (line: number) => ({
  line,
  fields: ['AAA', '2024-01-02', '1', '0.5', '1', '1', 'x'],
});
const error = (line: number) => [
  {
    line,
    column: 'high',
    value: '0.5',
    code: 'HIGH_BELOW_LOW',
    message: 'high 0.5 is below low 1',
  },
];

describe('RejectedRowsFile', () => {
  it('honours the sink’s backpressure: a caller that awaits add() never buffers past the high-water mark', async () => {
    const { sink, written, maxBuffered } = slowSink(256);
    const file = new RejectedRowsFile('unused', () => sink);
    let waits = 0;
    for (let line = 2; line < 202; line++) {
      const saturated = file.add(record(line), error(line));
      if (saturated) {
        waits++;
        await saturated;
      }
    }
    await file.close();
    expect(waits).toBeGreaterThan(10);
    // One line (~100 bytes) may go over the mark: the one that filled it.
    expect(maxBuffered()).toBeLessThan(256 + 200);
    const text = written.join('');
    expect(text.startsWith(REJECTED_HEADER)).toBe(true);
    expect(text.trim().split('\n')).toHaveLength(201);
    expect(text).toContain(
      '\n2,HIGH_BELOW_LOW,high,0.5,high 0.5 is below low 1,"AAA,2024-01-02,1,0.5,1,1,x"\n',
    );
  });

  it('a sink that fails does not stall the caller', async () => {
    const sink = new Writable({
      highWaterMark: 16,
      write(_chunk, _enc, done) {
        done(new Error('disk full'));
      },
    });
    const file = new RejectedRowsFile('unused', () => sink);
    for (let line = 2; line < 20; line++) await file.add(record(line), error(line));
    expect(sink.destroyed).toBe(true);
  });

  it('leaves no file when nothing was rejected', async () => {
    const open = jest.fn();
    await new RejectedRowsFile('unused', open).close();
    expect(open).not.toHaveBeenCalled();
  });
});
