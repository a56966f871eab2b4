import { Writable } from 'node:stream';

/**
 * A log destination for specs: every JSON line written to `destination` is parsed and pushed to
 * `lines`, where the spec reads what an operator would see.
 */
export function logLines(): { lines: Record<string, unknown>[]; destination: Writable } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { lines, destination };
}
