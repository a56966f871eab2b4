import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The explorer (apps/web) types the API's answers from the committed OpenAPI document: the
 * generated file must be what openapi-typescript makes of docs/openapi.json today, or the page
 * is type-checked against a contract the server no longer has. Fix: `npm run openapi`.
 */
const root = join(__dirname, '..', '..');
const committed = join(root, 'apps/web/src/generated/openapi.d.ts');

describe('explorer types', () => {
  it('apps/web/src/generated/openapi.d.ts matches docs/openapi.json (else: npm run openapi)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hd-web-types-'));
    try {
      const out = join(dir, 'openapi.d.ts');
      execFileSync(
        process.execPath,
        [
          join(root, 'node_modules/openapi-typescript/bin/cli.js'),
          join(root, 'docs/openapi.json'),
          '-o',
          out,
        ],
        { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      expect(readFileSync(committed, 'utf8')).toBe(readFileSync(out, 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
