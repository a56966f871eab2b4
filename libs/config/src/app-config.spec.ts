import { roleAllows } from './api-keys';
import { configVariableNames, ConfigValidationError, loadConfig } from './app-config';
import { envFileFor } from './environment';

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

  it('picks the env file from NODE_ENV', () => {
    expect(envFileFor({})).toBe('config/development.env');
    expect(envFileFor({ NODE_ENV: 'production' })).toBe('config/production.env');
    expect(envFileFor({ NODE_ENV: 'nonsense' })).toBe('config/development.env');
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

  it('refuses production and staging without keys; development and test run open', () => {
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
