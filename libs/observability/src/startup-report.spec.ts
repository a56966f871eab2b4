import { reportStartupFailure } from './startup-report';

describe('reportStartupFailure', () => {
  const capture = () => {
    const lines: string[] = [];
    return { lines, sink: { write: (line: string) => lines.push(line) } };
  };

  it('writes one plain line per problem in text mode', () => {
    const { lines, sink } = capture();
    reportStartupFailure(
      ['Invalid configuration: PORT="x": a', 'Invalid configuration: B'],
      'text',
      sink,
    );
    expect(lines).toEqual(['Invalid configuration: PORT="x": a\n', 'Invalid configuration: B\n']);
  });

  it('writes one fatal JSON log line per problem in json mode, shaped like pino lines', () => {
    const { lines, sink } = capture();
    reportStartupFailure(['first', 'second'], 'json', sink);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed).toEqual([
      expect.objectContaining({ level: 60, context: 'Startup', msg: 'first', pid: process.pid }),
      expect.objectContaining({ level: 60, context: 'Startup', msg: 'second' }),
    ]);
    expect(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
  });
});
