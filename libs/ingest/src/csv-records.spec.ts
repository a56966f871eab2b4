import fc from 'fast-check';
import { Readable } from 'node:stream';
import {
  CsvFormatError,
  CsvRecord,
  CsvRecordError,
  detectDelimiter,
  readCsvRecordBatches,
} from './csv-records';

async function read(
  chunks: (string | Buffer)[],
): Promise<{ records: CsvRecord[]; error?: string }> {
  const records: CsvRecord[] = [];
  try {
    for await (const batch of readCsvRecordBatches(
      Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))),
    )) {
      records.push(...batch);
    }
    return { records };
  } catch (err) {
    return { records, error: (err as Error).name };
  }
}

/** Splits `text` at the given fractional cut points (any byte offset, even inside a UTF-8 sequence). */
function split(text: string, cuts: number[]): Buffer[] {
  const bytes = Buffer.from(text);
  const points = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out.filter((b) => b.length > 0);
}

describe('readCsvRecordBatches', () => {
  it('numbers records by the physical line they start on', async () => {
    const { records } = await read(['h1,h2\r\n', 'a,"x\r\ny"\r\n\r\n', 'b,"q ""z"""\n', 'c,é\n']);
    expect(records).toEqual([
      { line: 1, fields: ['h1', 'h2'] },
      { line: 2, fields: ['a', 'x\r\ny'] },
      { line: 5, fields: ['b', 'q "z"'] },
      { line: 6, fields: ['c', 'é'] },
    ]);
  });

  it('drops a BOM and detects comma, semicolon and tab', async () => {
    expect((await read(['\uFEFFa;b\n1;2\n'])).records[1].fields).toEqual(['1', '2']);
    expect((await read(['a\tb\n1\t2\n'])).records[0].fields).toEqual(['a', 'b']);
    expect(detectDelimiter('"a;b",c,d')).toBe(',');
    expect(detectDelimiter('a;b;c')).toBe(';');
  });

  it('refuses binary content and empty input', async () => {
    expect((await read([Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0x08, 0])])).error).toBe(
      'CsvFormatError',
    );
    expect((await read([''])).error).toBe('CsvFormatError');
    expect(new CsvFormatError('EMPTY_FILE', 'x').problem).toBe('EMPTY_FILE');
  });

  it('delivers every row before reporting an unterminated quote, with the line it starts on', async () => {
    const out = await read(['a,b\n1,2\n3,"4\n5,6\n']);
    expect(out.records.map((r) => r.fields)).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
    expect(out.error).toBe(CsvRecordError.name);
  });

  it('gives the same records however the bytes are split into chunks', async () => {
    const field = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9 .$-]{0,8}$/),
      fc.string({ maxLength: 6 }).map((s) => `"${s.replace(/"/g, '""')}"`),
      fc.constantFrom('"a,b"', '"line1\nline2"', '"x\r\ny"', '"é€"', '""'),
    );
    const row = fc.array(field, { minLength: 3, maxLength: 3 }).map((fs) => fs.join(','));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(row, fc.constant('')), { minLength: 1, maxLength: 12 }),
        fc.constantFrom('\n', '\r\n'),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 10 }),
        async (rows, eol, cuts) => {
          const text = `h1,h2,h3${eol}${rows.join(eol)}${eol}`;
          const whole = await read([text]);
          const chunked = await read(split(text, cuts));
          expect(chunked).toEqual(whole);
        },
      ),
      { numRuns: 300 },
    );
  });
});
