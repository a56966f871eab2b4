import { roleAllows } from './api-keys';
import { configVariableNames, ConfigValidationError, loadConfig } from './app-config';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envFileFor, installationRoot, withEnvFile } from './environment';

describe('loadConfig', () => {
  it('defaults to the embedded SQLite file and port 3000', () => {
    const c = loadConfig({});
    expect(c.database).toEqual({
      dialect: 'sqlite',
      path: './data/historical.sqlite',
      migrationsRun: true,
    });
    expect(c.http).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      uploadMaxBytes: 52428800,
      requestTimeoutMs: 30000,
    });
    expect(c.env).toBe('development');
    expect(c.log.level).toBe('info');
  });

  it('reads sqlite: and mysql:// URLs', () => {
    expect(loadConfig({ DATABASE_URL: 'sqlite::memory:' }).database).toMatchObject({
      dialect: 'sqlite',
      path: ':memory:',
    });
    expect(
      loadConfig({ DATABASE_URL: 'mysql://u:p%40ss@db.local:3307/prices', DB_POOL_SIZE: '4' })
        .database,
    ).toEqual({
      dialect: 'mysql',
      url: 'mysql://u:p%40ss@db.local:3307/prices',
      host: 'db.local',
      port: 3307,
      user: 'u',
      password: 'p@ss',
      database: 'prices',
      poolSize: 4,
      migrationsRun: true,
      loadData: 'auto',
    });
  });

  it('parses booleans, numbers and lists', () => {
    const c = loadConfig({
      DB_MIGRATIONS_RUN: 'false',
      PORT: '8080',
      TRUST_PROXY: '2',
      CORS_ORIGINS: 'https://a.example, https://b.example',
      LOG_FORMAT: 'pretty',
      NODE_ENV: 'production',
      API_KEYS: 'ops:0123456789abcdef:admin',
    });
    expect(c.database.migrationsRun).toBe(false);
    expect(c.http).toMatchObject({
      port: 8080,
      trustProxy: 2,
      corsOrigins: ['https://a.example', 'https://b.example'],
    });
    expect(c.log).toEqual({ level: 'info', pretty: true });
    expect(loadConfig({ TRUST_PROXY: 'loopback' }).http.trustProxy).toBe('loopback');
    expect(loadConfig({ TRUST_PROXY: 'true' }).http.trustProxy).toBe(true);
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: ' ' }).http.port).toBe(3000);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'postgres://x/y'],
    ['DB_POOL_SIZE', '0'],
    ['DB_MIGRATIONS_RUN', 'maybe'],
    ['NODE_ENV', 'prod'],
    ['LOG_LEVEL', 'loud'],
    ['UPLOAD_MAX_BYTES', '10'],
    ['REQUEST_TIMEOUT_MS', '1.5'],
    ['CORS_ORIGINS', 'not a url'],
  ])('stops on %s=%s, naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigValidationError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}=`));
  });

  it('names every bad variable at once', () => {
    try {
      loadConfig({ PORT: 'x', LOG_LEVEL: 'y' });
      throw new Error('expected a ConfigValidationError');
    } catch (err) {
      expect((err as ConfigValidationError).problems.map((p) => p.split('=')[0]).sort()).toEqual([
        'LOG_LEVEL',
        'PORT',
      ]);
    }
  });

  it('picks the env file from NODE_ENV, under the installation, whatever the working directory', () => {
    const root = join(__dirname, '../../..');
    expect(installationRoot()).toBe(root);
    expect(envFileFor({})).toBe(join(root, 'config/development.env'));
    expect(envFileFor({ NODE_ENV: 'production' })).toBe(join(root, 'config/production.env'));
    expect(envFileFor({ NODE_ENV: 'nonsense' })).toBe(join(root, 'config/development.env'));
    const cwd = process.cwd();
    try {
      process.chdir(tmpdir());
      expect(envFileFor({ NODE_ENV: 'production' })).toBe(join(root, 'config/production.env'));
      expect(withEnvFile({ NODE_ENV: 'production' }).DB_MIGRATIONS_RUN).toBe('false');
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('configuration messages: what each variable accepts', () => {
  // One bad value per variable: the line an operator reads, exactly.
  it.each([
    ['NODE_ENV', 'prod', 'must be one of development, test, staging, production'],
    ['PORT', 'eighty', 'must be a whole number between 0 and 65535'],
    ['PORT', '70000', 'must be a whole number between 0 and 65535'],
    ['PORT', '-1', 'must be a whole number between 0 and 65535'],
    [
      'DATABASE_URL',
      'postgres://x/y',
      'must be mysql://user:pass@host:3306/db, sqlite:PATH or sqlite::memory: (unset = embedded SQLite)',
    ],
    ['DB_POOL_SIZE', '0', 'must be a whole number between 1 and 200'],
    ['DB_MIGRATIONS_RUN', 'maybe', 'must be true or false (also 1/0, yes/no, on/off)'],
    ['DB_LOAD_DATA', 'always', 'must be one of auto, off'],
    ['UPLOAD_MAX_BYTES', '10', 'must be a whole number of bytes, 1024 or more'],
    ['REQUEST_TIMEOUT_MS', '1.5', 'must be a whole number of milliseconds, 100 or more'],
    ['UPLOAD_TIMEOUT_MS', '10', 'must be a whole number of milliseconds, 1000 or more'],
    ['REDIS_URL', 'localhost:6379', 'must be redis://[user:pass@]host:6379[/db] or rediss://...'],
    ['REDIS_KEY_PREFIX', 'a b', 'must be 1-64 letters, digits, or _ : . -'],
    ['SHUTDOWN_GRACE_MS', 'soon', 'must be a whole number of milliseconds, 0 or more'],
    ['READ_FAST_PATH', 'sometimes', 'must be true or false (also 1/0, yes/no, on/off)'],
    ['INSTANCE_ID', 'pod one', 'must be 1-64 letters, digits, or _ : . @ -'],
    ['UPLOAD_HEARTBEAT_MS', '10', 'must be a whole number of milliseconds, 100 or more'],
    ['UPLOAD_STALE_MS', '500', 'must be a whole number of milliseconds, 1000 or more'],
    [
      'OVERLOAD_MAX_IN_FLIGHT',
      '-1',
      'must be a whole number of requests (0 = no bound), 0 or more',
    ],
    [
      'OVERLOAD_MAX_QUEUE_WAIT_MS',
      '90000',
      'must be a whole number of milliseconds (0 = refused at once) between 0 and 60000',
    ],
    ['OVERLOAD_ACCEPT_HANDLES', '0', 'must be a whole number of handles between 1 and 256'],
    [
      'OVERLOAD_MAX_EVENT_LOOP_LAG_MS',
      'high',
      'must be a whole number of milliseconds (0 = no bound), 0 or more',
    ],
    ['METRICS_ENABLED', 'y', 'must be true or false (also 1/0, yes/no, on/off)'],
    ['AUTH_READS', 'y', 'must be true or false (also 1/0, yes/no, on/off)'],
    ['RATE_LIMIT_ENABLED', 'y', 'must be true or false (also 1/0, yes/no, on/off)'],
    ['RATE_LIMIT_WINDOW_MS', '10', 'must be a whole number of milliseconds, 1000 or more'],
    ['RATE_LIMIT_ANONYMOUS', '0', 'must be a whole number, 1 or more'],
    ['RATE_LIMIT_KEYED', 'lots', 'must be a whole number, 1 or more'],
    ['RATE_LIMIT_UPLOADS', '0', 'must be a whole number, 1 or more'],
    ['CACHE_ENABLED', 'y', 'must be true or false (also 1/0, yes/no, on/off)'],
    ['CACHE_TTL_MS', '5', 'must be a whole number of milliseconds, 1000 or more'],
    ['CACHE_MAX_BYTES', '1024', 'must be a whole number of bytes, 1048576 or more'],
    ['LOG_LEVEL', 'loud', 'must be one of fatal, error, warn, info, debug, trace, silent'],
    ['LOG_FORMAT', 'xml', 'must be one of json, pretty'],
    [
      'TRUST_PROXY',
      'yes please',
      'must be true, false, a hop count, or a comma list of addresses/subnets (loopback, 10.0.0.0/8, ...)',
    ],
    [
      'CORS_ORIGINS',
      'not a url',
      'must be * or a comma list of origins like https://app.example.com',
    ],
  ])('%s=%s says: %s', (name, value, accepted) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    const line = `${name}=${JSON.stringify(value)}: ${accepted}`;
    expect((error as ConfigValidationError).problems).toEqual([line]);
    expect((error as ConfigValidationError).message).toBe(`Invalid configuration: ${line}`);
  });

  it('covers every variable of the schema that can be malformed', () => {
    // HOST, UPLOAD_DIR and API_KEYS are free text (API_KEYS has its own messages, below).
    const free = ['HOST', 'UPLOAD_DIR', 'API_KEYS'];
    const schema = configVariableNames().filter((n) => !n.startsWith('OTEL_') && !free.includes(n));
    const bad: Record<string, string> = Object.fromEntries(schema.map((n) => [n, '%bad%']));
    const problems = (() => {
      try {
        loadConfig(bad);
        return [];
      } catch (err) {
        return (err as ConfigValidationError).problems;
      }
    })();
    expect(problems.map((p) => p.split('=')[0]).sort()).toEqual(schema);
    for (const p of problems) expect(p).toMatch(/^[A-Z_]+="%bad%": must be /);
  });
});

describe('API keys and traffic settings', () => {
  it('parses API_KEYS into named keys with roles, and role order read < write < admin', () => {
    const c = loadConfig({
      API_KEYS: 'app:aaaaaaaaaaaaaaaa:read, etl:bbbbbbbbbbbbbbbb:write,ops:cccccccccccccccc:admin',
      AUTH_READS: 'true',
    });
    expect(c.auth).toEqual({
      keys: [
        { name: 'app', key: 'aaaaaaaaaaaaaaaa', role: 'read' },
        { name: 'etl', key: 'bbbbbbbbbbbbbbbb', role: 'write' },
        { name: 'ops', key: 'cccccccccccccccc', role: 'admin' },
      ],
      reads: true,
      open: false,
    });
    expect(roleAllows('admin', 'write')).toBe(true);
    expect(roleAllows('write', 'admin')).toBe(false);
    expect(roleAllows('read', 'read')).toBe(true);
  });

  it('names bad entries by position and name, never printing a key', () => {
    const secret = 'tooshort';
    let message = '';
    try {
      loadConfig({
        API_KEYS: `a:${secret}:read,b:bbbbbbbbbbbbbbbb:root,c:x,b:cccccccccccccccc:read`,
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('API_KEYS entry 1 ("a"): the key must be at least 16 characters');
    expect(message).toContain('API_KEYS entry 2 ("b"): the role must be one of read, write, admin');
    expect(message).toContain('API_KEYS entry 3 ("c"): must be name:key:role');
    expect(message).not.toContain(secret);
  });

  it('refuses production and staging without keys, unless the caller needs none (the CLI)', () => {
    expect(loadConfig({ NODE_ENV: 'production' }, { requireApiKeys: false }).auth.keys).toEqual([]);
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/API_KEYS is empty/);
    expect(() => loadConfig({ NODE_ENV: 'staging' })).toThrow(/API_KEYS is empty/);
    expect(loadConfig({ NODE_ENV: 'development' }).auth.open).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test' }).auth.open).toBe(true);
  });

  it('has the public rate-limit defaults once API keys are configured, and reads the overrides', () => {
    const keys = 'app:reader-key-0123456789:read';
    for (const NODE_ENV of ['production', 'development']) {
      expect(loadConfig({ NODE_ENV, API_KEYS: keys }).rateLimit).toEqual({
        enabled: true,
        windowMs: 60_000,
        anonymous: 100,
        keyed: 1000,
        uploads: 10,
      });
    }
    expect(
      loadConfig({ RATE_LIMIT_ENABLED: 'false', RATE_LIMIT_UPLOADS: '3' }).rateLimit,
    ).toMatchObject({ enabled: false, uploads: 3 });
    expect(() => loadConfig({ RATE_LIMIT_KEYED: '0' })).toThrow(/RATE_LIMIT_KEYED/);
  });

  it('without API keys (a person trying it locally) limits stop a runaway loop, never a person', () => {
    expect(loadConfig({}).rateLimit).toEqual({
      enabled: true,
      windowMs: 60_000,
      anonymous: 6000,
      keyed: 6000,
      uploads: 120,
    });
    expect(loadConfig({ NODE_ENV: 'test' }).rateLimit.anonymous).toBe(6000);
    // Set explicitly, a value wins in development too.
    expect(
      loadConfig({ RATE_LIMIT_ANONYMOUS: '100', RATE_LIMIT_UPLOADS: '10' }).rateLimit,
    ).toMatchObject({ anonymous: 100, keyed: 6000, uploads: 10 });
  });
});

describe('upload ownership (replicas)', () => {
  it('names each instance uniquely unless INSTANCE_ID says, heartbeats every 5 s, stale after 30 s', () => {
    const a = loadConfig({}).uploads;
    const b = loadConfig({}).uploads;
    expect(a).toMatchObject({ heartbeatMs: 5000, staleAfterMs: 30_000 });
    expect(a.instanceId).not.toBe(b.instanceId);
    expect(
      loadConfig({ INSTANCE_ID: 'api-7f9c', UPLOAD_HEARTBEAT_MS: '500', UPLOAD_STALE_MS: '2000' })
        .uploads,
    ).toEqual({ instanceId: 'api-7f9c', heartbeatMs: 500, staleAfterMs: 2000 });
  });

  it('refuses a stale window shorter than three heartbeats', () => {
    expect(() => loadConfig({ UPLOAD_HEARTBEAT_MS: '5000', UPLOAD_STALE_MS: '10000' })).toThrow(
      /UPLOAD_STALE_MS \(10000\) must be at least 3 × UPLOAD_HEARTBEAT_MS \(5000\)/,
    );
  });
});

describe('configVariableNames', () => {
  it('lists every schema variable and the OTEL_* ones, and nothing the service does not read', () => {
    const names = configVariableNames();
    expect(names).toEqual(
      expect.arrayContaining(['PORT', 'DATABASE_URL', 'API_KEYS', 'TRUST_PROXY']),
    );
    expect(names).toEqual(
      expect.arrayContaining(['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_SERVICE_NAME']),
    );
    expect(names).not.toContain('MYSQL_PASSWORD');
    expect(new Set(names).size).toBe(names.length);
  });
});
