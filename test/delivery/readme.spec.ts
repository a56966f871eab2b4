import { configVariableNames } from '@app/config';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess } from '../e2e/support/run-process';
import { TestApp } from '../e2e/support/test-app';

/**
 * The README as a new user meets it on a fresh clone: every shell block is run as written, in
 * order, from the repository root, against a booted server ("localhost:3000" pointed at it) and
 * its database, which the CLI commands share. A block ending in `npm start` restarts the server
 * with the environment that block exported (the README's keyed server). Every command must exit
 * 0 and every HTTP answer must be below 400, unless a comment under the command shows the
 * problem's `"status"`. Blocks that need what a test machine lacks are skipped with the reason.
 */
const root = join(__dirname, '..', '..');
const README = readFileSync(join(root, 'README.md'), 'utf8');

/** Blocks not run here, by their first command, and why. */
const SKIPPED: { first: RegExp; why: string }[] = [
  {
    first: /^npm ci\b/,
    why: 'the quick start itself: this spec boots the server, npm test runs it',
  },
  {
    first: /^(mysql|DATABASE_URL=mysql)/,
    why: 'needs a MySQL server (the cli-migrate e2e spec runs migrate on MySQL/MariaDB)',
  },
  { first: /^docker compose\b/, why: 'needs Docker (.ci/run checks docker-compose.yml)' },
  {
    first: /^kubectl\b/,
    why: 'needs a cluster (scripts.spec.ts runs deploy-k8s.sh against a recording kubectl)',
  },
];

interface Command {
  text: string;
  line: number;
  /** The problem status a comment under the command shows, when it documents an error. */
  expectStatus?: number;
}

interface Block {
  line: number;
  commands: Command[];
  startsServer: boolean;
}

/**
 * Whether a command goes on at the next line: an open quote (a JSON body over several lines), or a
 * trailing backslash or pipe.
 */
function incomplete(text: string): boolean {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"') i++;
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) {
      const eol = text.indexOf('\n', i);
      if (eol < 0) break;
      i = eol;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '\\') i++;
  }
  if (quote) return true;
  return /(\\|\|)\s*$/.test((text.split('\n').at(-1) ?? '').replace(/\s+#.*$/, ''));
}

export function shellBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```bash') continue;
    const block: Block = { line: i + 1, commands: [], startsServer: false };
    let current: Command | undefined;
    let continues = false;
    for (i++; i < lines.length && lines[i].trim() !== '```'; i++) {
      const text = lines[i];
      if (continues && current) {
        current.text += `\n${text}`;
      } else if (/^\s*#/.test(text)) {
        const status = /"status":(\d{3})/.exec(text);
        if (current && status) current.expectStatus = Number(status[1]);
        continue;
      } else if (text.trim() !== '') {
        current = { text, line: i + 1 };
        block.commands.push(current);
      }
      continues = current !== undefined && incomplete(current.text);
    }
    const last = block.commands.at(-1);
    if (last && /^npm start\b/.test(last.text)) {
      block.startsServer = true;
      block.commands.pop();
    }
    blocks.push(block);
  }
  return blocks;
}

const skipReason = (block: Block): string | undefined =>
  SKIPPED.find((s) => block.commands[0] && s.first.test(block.commands[0].text))?.why;

describe('README commands, run as written', () => {
  const blocks = shellBlocks(README);
  const work = mkdtempSync(join(tmpdir(), 'hd-readme-'));
  const databaseUrl = `sqlite:${join(work, 'readme.sqlite')}`;
  const statusFile = join(work, 'curl-status');
  const bin = join(work, 'bin');
  /** What the README's blocks exported so far (the keys), for the blocks after them. */
  const exported: Record<string, string> = {};
  let app: TestApp | undefined;
  let base = '';

  const startServer = async (env: Record<string, string>) => {
    await app?.stop();
    app = new TestApp('sqlite');
    const config = new Set(configVariableNames());
    await app.start({
      ...Object.fromEntries(Object.entries(env).filter(([k]) => config.has(k))),
      DATABASE_URL: databaseUrl,
      // As a user's server runs: rate limits on, at their defaults.
      RATE_LIMIT_ENABLED: 'true',
    });
    base = (await app.url()).replace(/^http:\/\//, '');
  };

  beforeAll(async () => {
    // curl, recording the status of the last response of each call (after 100 Continue).
    mkdirSync(bin);
    const realCurl = execFileSync('bash', ['-c', 'command -v curl'], { encoding: 'utf8' }).trim();
    writeFileSync(
      join(bin, 'curl'),
      `#!/usr/bin/env bash
trace=$(mktemp)
"${realCurl}" --trace-ascii "$trace" "$@"; rc=$?
status=$(grep -a -o 'HTTP/[0-9.]* [0-9][0-9][0-9]' "$trace" | tail -1 | cut -d' ' -f2)
echo "\${status:-none}" >> "${statusFile}"
rm -f "$trace"; exit $rc
`,
    );
    chmodSync(join(bin, 'curl'), 0o755);
    await startServer({});
  });
  afterAll(async () => {
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('finds the usage, upload, CLI and key examples, and skips only blocks it has a reason for', () => {
    const run = blocks.filter((b) => !skipReason(b));
    expect(run.length).toBeGreaterThanOrEqual(4);
    const all = run.flatMap((b) => b.commands.map((c) => c.text)).join('\n');
    for (const expected of [
      'examples/AAPL-yahoo.csv',
      'examples/prices.csv',
      'npm run cli -- import',
    ]) {
      expect(all).toContain(expected);
    }
    expect(blocks.some((b) => b.startsServer)).toBe(true);
  });

  for (const block of blocks) {
    const first = block.commands[0]?.text.split('\n')[0] ?? '';
    const why = skipReason(block);
    if (why) {
      it.skip(`README.md:${block.line} ${first} (${why})`, () => undefined);
      continue;
    }
    it(`README.md:${block.line} ${first}`, async () => {
      rmSync(statusFile, { force: true });
      const exitsFile = join(work, 'exits');
      const envFile = join(work, 'env');
      rmSync(exitsFile, { force: true });
      const script = [
        'set -u',
        ...block.commands.flatMap((c, n) => [
          '{',
          c.text.replaceAll('localhost:3000', base),
          '}',
          `echo "${n} $?" >> "${exitsFile}"`,
          `echo "-- ${n}" >> "${statusFile}"`,
        ]),
        `env -0 > "${envFile}"`,
      ].join('\n');
      const result = await runProcess('bash', ['-c', `cd "${root}" && ${script}`], {
        ...process.env,
        ...exported,
        PATH: `${bin}:${process.env.PATH}`,
        DATABASE_URL: databaseUrl,
      });
      const exits = readFileSync(exitsFile, 'utf8').trim().split('\n');
      const statuses = readFileSync(statusFile, 'utf8').trim().split('\n');
      const failures: string[] = [];
      block.commands.forEach((command, n) => {
        const where = `README.md:${command.line} ${command.text}`;
        const exit = exits.find((e) => e.startsWith(`${n} `))?.split(' ')[1];
        if (exit !== '0') failures.push(`${where}\n  exited ${exit ?? '(never ran)'}`);
        const end = statuses.indexOf(`-- ${n}`);
        if (end < 0) failures.push(`${where}\n  did not finish`);
        const start = statuses.indexOf(`-- ${n - 1}`) + 1;
        for (const status of statuses.slice(start, end)) {
          const ok = command.expectStatus
            ? Number(status) === command.expectStatus
            : Number(status) < 400;
          if (!ok) failures.push(`${where}\n  answered ${status}`);
        }
      });
      if (failures.length > 0)
        failures.push(`stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
      expect(failures).toEqual([]);

      const after = Object.fromEntries(
        readFileSync(envFile, 'utf8')
          .split('\0')
          .filter(Boolean)
          .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      );
      const names = block.commands
        .filter((c) => /^export\s/.test(c.text))
        .flatMap((c) => [...c.text.matchAll(/\b([A-Z_][A-Z0-9_]*)=/g)].map((m) => m[1]));
      for (const name of names) exported[name] = after[name];
      if (block.startsServer) await startServer(exported);
    }, 180_000);
  }
});

describe('the repository is its own reference', () => {
  it('no tracked file cites a DESIGN.md the repository does not contain', () => {
    const files = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f && !f.endsWith('readme.spec.ts'));
    const citing = files.filter((f) => {
      try {
        return readFileSync(join(root, f), 'utf8').includes('DESIGN.md');
      } catch {
        return false;
      }
    });
    expect(citing).toEqual([]);
  });
});
