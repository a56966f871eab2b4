import { ConfigValidationError, envFileFor, loadConfig } from './app-config';

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
