import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mysqlBaseUrl, withServer, workerDatabaseUrl } from '../setup/mysql-test-db';
import { runProcess } from './support/run-process';
import { SERVER_ENTRY } from './support/server-process';
import { MIGRATIONS } from '../../migrations';

const NAMES = MIGRATIONS.map((m) => m.name);
const LAST = NAMES[NAMES.length - 1];

// Each case starts node processes, some several in a row: minutes on a busy machine.
jest.setTimeout(120_000);

const ROOT = join(__dirname, '../..');
const CLI_ENTRY = join(ROOT, 'dist/apps/cli/src/main.js');
const KEYS = 'ops:0123456789abcdef:admin';
const ALL_PENDING = `Database schema is behind this release: ${NAMES.length} migration(s) not applied (${NAMES.join(', ')}) and DB_MIGRATIONS_RUN=false, so the service does not apply them. Run \`historical-data migrate run\` (or the migration Job) against this DATABASE_URL, or set DB_MIGRATIONS_RUN=true.`;

/** The built API or CLI as an operator starts it: only the variables given, from `cwd`. */
function run(entry: string, args: string[], env: Record<string, string>, cwd = ROOT) {
  return runProcess(
    process.execPath,
    [entry, ...args],
    { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', ...env },
    cwd,
  );
}

/** What an operator must never have to read at start-up: stack frames and terminal colours. */
function expectPlain(output: string): void {
  expect(output).not.toMatch(/\n\s+at /);
  expect(output).not.toContain('\u001b[');
}

function jsonLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('operator: configuration errors', () => {
  it('production: one JSON log line per bad variable, saying what is accepted; exit 1', async () => {
    const r = await run(SERVER_ENTRY, [], {
      NODE_ENV: 'production',
      API_KEYS: KEYS,
      PORT: 'eighty',
      DB_POOL_SIZE: 'lots',
    });
    expect(r.status).toBe(1);
    expectPlain(r.stdout + r.stderr);
    expect(r.stdout).toBe('');
    const lines = jsonLines(r.stderr);
    expect(lines.map((l) => [l.level, l.context, l.msg])).toEqual([
      [
        60,
        'Startup',
        'Invalid configuration: PORT="eighty": must be a whole number between 0 and 65535',
      ],
      [
        60,
        'Startup',
        'Invalid configuration: DB_POOL_SIZE="lots": must be a whole number between 1 and 200',
      ],
    ]);
  });

  it('development: the same, as plain text lines', async () => {
    const r = await run(SERVER_ENTRY, [], { NODE_ENV: 'development', PORT: '70000' });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'Invalid configuration: PORT="70000": must be a whole number between 0 and 65535\n',
    );
  });

  it('the CLI: plain lines, exit 1', async () => {
    const r = await run(CLI_ENTRY, ['migrate', 'show'], { LOG_LEVEL: 'loud' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'Invalid configuration: LOG_LEVEL="loud": must be one of fatal, error, warn, info, debug, trace, silent\n',
    );
  });
});

describe('operator: start-up against a database without this release’s migrations', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'hd-unmigrated-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const startProduction = (databaseUrl: string, cwd = ROOT) =>
    // config/production.env sets DB_MIGRATIONS_RUN=false, as on Kubernetes.
    run(
      SERVER_ENTRY,
      [],
      {
        NODE_ENV: 'production',
        API_KEYS: KEYS,
        DATABASE_URL: databaseUrl,
        OTEL_SDK_DISABLED: 'true',
      },
      cwd,
    );

  it('SQLite, empty: says so in one line naming the fix, exits 1', async () => {
    const r = await startProduction(`sqlite:${join(dir, 'db.sqlite')}`);
    expect(r.status).toBe(1);
    expectPlain(r.stdout + r.stderr);
    expect(jsonLines(r.stderr).map((l) => l.msg)).toEqual([ALL_PENDING]);
    expect(r.stdout).not.toMatch(/QueryFailedError|no such table/);
  });

  it('SQLite, one migration behind: names the missing one', async () => {
    const url = `sqlite:${join(dir, 'db.sqlite')}`;
    const env = { NODE_ENV: 'production', DATABASE_URL: url };
    expect((await run(CLI_ENTRY, ['migrate', 'run'], env)).status).toBe(0);
    expect((await run(CLI_ENTRY, ['migrate', 'revert'], env)).status).toBe(0);
    const r = await startProduction(url);
    expect(r.status).toBe(1);
    expect(jsonLines(r.stderr).map((l) => l.msg)).toEqual([
      expect.stringContaining(
        `Database schema is behind this release: 1 migration(s) not applied (${LAST})`,
      ),
    ]);
  });

  it('started from another folder, still reads config/production.env (does not migrate)', async () => {
    const r = await startProduction(`sqlite:${join(dir, 'db.sqlite')}`, dir);
    expect(r.status).toBe(1);
    expect(jsonLines(r.stderr).map((l) => l.msg)).toEqual([ALL_PENDING]);
  });

  it('the CLI import, from another folder: refuses the same way, nothing migrated', async () => {
    const env = { NODE_ENV: 'production', DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}` };
    const file = join(ROOT, 'test/fixtures/yahoo-aapl.csv');
    const r = await run(CLI_ENTRY, ['import', file, '--symbol', 'AAPL'], env, dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`${ALL_PENDING}\n`);
    const show = await run(CLI_ENTRY, ['migrate', 'show'], env, dir);
    expect(show.stdout).toContain('[ ] CreateHistoricalData1732000000000');
  });

  (mysqlBaseUrl() ? it : it.skip)('MySQL/MariaDB, empty database: the same line', async () => {
    const url = new URL(await workerDatabaseUrl());
    url.pathname = `${url.pathname}_unmigrated`;
    const name = url.pathname.slice(1);
    await withServer(async (c) => {
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.query(`CREATE DATABASE \`${name}\``);
    });
    const r = await startProduction(url.toString());
    expect(r.status).toBe(1);
    expectPlain(r.stdout + r.stderr);
    expect(jsonLines(r.stderr).map((l) => l.msg)).toEqual([ALL_PENDING]);
  });
});

describe('operator: the CLI', () => {
  it('--help works at every level and names the program historical-data', async () => {
    const top = await run(CLI_ENTRY, ['--help'], {});
    expect(top.status).toBe(0);
    expect(top.stdout).toMatch(/^Usage: historical-data \[options\] \[command\]/);
    expect(top.stdout).toMatch(/migrate \[action\]/);
    expect(top.stderr).toBe('');
    for (const command of ['migrate', 'openapi', 'import', 'seed-demo']) {
      const sub = await run(CLI_ENTRY, [command, '--help'], {});
      expect(sub.status).toBe(0);
      expect(sub.stdout).toMatch(new RegExp(`^Usage: historical-data ${command} `));
    }
    const help = await run(CLI_ENTRY, ['help', 'migrate'], {});
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: historical-data migrate /);
  });

  it('an unknown command: commander’s one line and the usage, exit 1', async () => {
    const r = await run(CLI_ENTRY, ['sideways'], {});
    expect(r.status).toBe(1);
    expect(r.stderr.match(/unknown command/g)).toHaveLength(1);
    expect(r.stderr).not.toContain('outputHelp');
  });

  it('production without API_KEYS: migrate run/show and openapi work (keys guard the HTTP server)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hd-cli-prod-'));
    try {
      const env = { NODE_ENV: 'production', DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}` };
      const migrate = await run(CLI_ENTRY, ['migrate', 'run'], env);
      expect(migrate.stderr).toBe('');
      expect(migrate.status).toBe(0);
      expect(migrate.stdout).toMatch(new RegExp(`^Applied ${NAMES.length} migration\\(s\\)`));
      const show = await run(CLI_ENTRY, ['migrate', 'show'], env);
      expect(show.status).toBe(0);
      expect(show.stdout).toContain(`[X] ${LAST}`);
      const openapi = await run(CLI_ENTRY, ['openapi', '--out', join(dir, 'openapi.json')], env);
      expect(openapi.stderr).toBe('');
      expect(openapi.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
