import { plainToInstance, Transform } from 'class-transformer';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  getMetadataStorage,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  validateSync,
  ValidationError,
} from 'class-validator';
import { ApiKey, parseApiKeys } from './api-keys';
import { NODE_ENVS, NodeEnv } from './environment';
import {
  loadTracingConfig,
  TRACING_VARIABLES,
  TracingConfig,
  tracingConfigProblems,
} from './tracing-config';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where the embedded default keeps its file when DATABASE_URL is unset. */
export const DEFAULT_SQLITE_PATH = './data/historical.sqlite';

export type DatabaseConfig =
  | { dialect: 'sqlite'; path: string; migrationsRun: boolean }
  | {
      dialect: 'mysql';
      url: string;
      host: string;
      port: number;
      user: string;
      password: string;
      database: string;
      poolSize: number;
      migrationsRun: boolean;
      /** Bulk writes through LOAD DATA LOCAL INFILE when the server allows it ('auto'), or never. */
      loadData: 'auto' | 'off';
    };

export interface AppConfig {
  env: NodeEnv;
  http: {
    port: number;
    host: string;
    trustProxy: boolean | number | string;
    corsOrigins: string[];
    /** Time budget of an ordinary request (REQUEST_TIMEOUT_MS). */
    requestTimeoutMs: number;
    /** Time budget of a synchronous CSV upload, which legitimately runs for minutes. */
    uploadTimeoutMs: number;
    uploadMaxBytes: number;
    /** Where async uploads are spooled (rejected rows live in the database: every replica serves them). */
    uploadDir: string;
    /** How long shutdown waits for in-flight requests before closing their connections. */
    shutdownGraceMs: number;
    /**
     * Admission control (docs/OPERATIONS.md, "Overload"): at most `maxInFlight` requests served at
     * once (0 = no bound), the next wait up to `maxQueueWaitMs` for a place (0 = refused at once);
     * refused at once while the event loop lags more than `maxEventLoopLagMs` (0 = off).
     * `acceptHandles`: handles accepting on the listening socket (1 = Node's own only).
     */
    overload: {
      maxInFlight: number;
      maxQueueWaitMs: number;
      maxEventLoopLagMs: number;
      acceptHandles: number;
    };
    /**
     * GET /api/v1/data answered by the read fast path (same components, without Nest's per-request
     * machinery); false = through Nest's router like every other route (READ_FAST_PATH).
     */
    readFastPath: boolean;
  };
  database: DatabaseConfig;
  log: { level: LogLevel; pretty: boolean };
  tracing: TracingConfig;
  /** Record request and database timings (on unless METRICS_ENABLED=false). */
  metrics: { enabled: boolean };
  /** Shared store for rate limits and the response cache; unset = in-process stores. */
  redis: { url?: string; keyPrefix: string };
  auth: {
    keys: ApiKey[];
    /** Reads need a key too (AUTH_READS=true); otherwise they are public. */
    reads: boolean;
    /** No keys configured (development and test only): writes are open. */
    open: boolean;
  };
  rateLimit: {
    enabled: boolean;
    windowMs: number;
    /** Requests per window for a client without a key (by IP). */
    anonymous: number;
    /** Requests per window for a client with a key (by key name). */
    keyed: number;
    /** Uploads per window per client, on top of the above. */
    uploads: number;
  };
  cache: {
    enabled: boolean;
    ttlMs: number;
    /** In-process cache bound (bytes of cached bodies). */
    maxBytes: number;
  };
  exports: {
    /**
     * Exports running at once (EXPORT_MAX_CONCURRENT); one more is refused with 503 EXPORTS_BUSY.
     * On MySQL also the size of the export connection pool.
     */
    maxConcurrent: number;
  };
  /** Replicas: who owns an upload, and when another instance may declare it gone. */
  uploads: {
    /** This process's name in uploads.owner_instance (INSTANCE_ID, else host:pid:random). */
    instanceId: string;
    /** How often the owner of a running upload refreshes its heartbeat (UPLOAD_HEARTBEAT_MS). */
    heartbeatMs: number;
    /** A queued/processing upload whose heartbeat is older than this is swept to interrupted. */
    staleAfterMs: number;
  };
}

const toBool = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value;
};

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;

/**
 * One message per variable whichever of its rules failed, saying what is accepted: an operator
 * who wrote PORT=eighty needs "a whole number between 0 and 65535", not the rule that broke first.
 */
function WholeNumber(min: number, max?: number, unit = ''): PropertyDecorator {
  const of = unit ? ` of ${unit}` : '';
  const message =
    max === undefined
      ? `must be a whole number${of}, ${min} or more`
      : `must be a whole number${of} between ${min} and ${max}`;
  const rules = [IsInt({ message }), Min(min, { message })];
  if (max !== undefined) rules.push(Max(max, { message }));
  return (target, key) => rules.forEach((rule) => rule(target, key));
}

function OneOf(values: readonly string[]): PropertyDecorator {
  return IsIn(values, { message: `must be one of ${values.join(', ')}` });
}

function TrueOrFalse(): PropertyDecorator {
  return IsBoolean({ message: 'must be true or false (also 1/0, yes/no, on/off)' });
}

/**
 * The environment as the service accepts it. Every variable is optional with a documented
 * default (config/.env.example); a present but malformed value stops startup.
 */
class EnvironmentVariables {
  @IsOptional()
  @OneOf(NODE_ENVS)
  NODE_ENV?: NodeEnv;

  @IsOptional()
  @Transform(toInt)
  @WholeNumber(0, 65535)
  PORT?: number;

  @IsOptional()
  @IsString()
  HOST?: string;

  @IsOptional()
  @Matches(/^(mysql|mariadb):\/\/[^/]+\/[A-Za-z0-9_$-]+(\?.*)?$|^sqlite:.+$/, {
    message:
      'must be mysql://user:pass@host:3306/db, sqlite:PATH or sqlite::memory: (unset = embedded SQLite)',
  })
  DATABASE_URL?: string;

  @IsOptional()
  @Transform(toInt)
  @WholeNumber(1, 200)
  DB_POOL_SIZE?: number;

  @IsOptional()
  @Transform(toBool)
  @TrueOrFalse()
  DB_MIGRATIONS_RUN?: boolean;

  @IsOptional()
  @OneOf(['auto', 'off'])
  DB_LOAD_DATA?: 'auto' | 'off';

  @IsOptional()
  @Transform(toInt)
  @WholeNumber(1024, undefined, 'bytes')
  UPLOAD_MAX_BYTES?: number;

  @IsOptional()
  @IsString()
  UPLOAD_DIR?: string;

  @IsOptional()
  @Transform(toInt)
  @WholeNumber(100, undefined, 'milliseconds')
  REQUEST_TIMEOUT_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @WholeNumber(1000, undefined, 'milliseconds')
  UPLOAD_TIMEOUT_MS?: number;

  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, {
    message: 'must be redis://[user:pass@]host:6379[/db] or rediss://...',
  })
  REDIS_URL?: string;

  @IsOptional()
  @Matches(/^[\w:.-]{1,64}$/, {
    message: 'must be 1-64 letters, digits, or _ : . -',
  })
  REDIS_KEY_PREFIX?: string;

  @IsOptional()
  @Transform(toInt)
  @WholeNumber(0, undefined, 'requests (0 = no bound)')
  OVERLOAD_MAX_IN_FLIGHT?: number;

  @IsOptional()
  @Transform(toInt)
  @WholeNumber(0, 60_000, 'milliseconds (0 = refused at once)')
  OVERLOAD_MAX_QUEUE_WAIT_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @WholeNumber(0, undefined, 'milliseconds (0 = no bound)')
  OVERLOAD_MAX_EVENT_LOOP_LAG_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @WholeNumber(1, 256, 'handles')
  OVERLOAD_ACCEPT_HANDLES?: number;

  @IsOptional()
  @Transform(toBool)
  @TrueOrFalse()
  READ_FAST_PATH?: boolean;

  @IsOptional()
  @Transform(toInt)
  @WholeNumber(0, undefined, 'milliseconds')
  SHUTDOWN_GRACE_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @WholeNumber(1, 100, 'exports')
  EXPORT_MAX_CONCURRENT?: number;

  @IsOptional()
  @Matches(/^[\w:.@-]{1,64}$/, { message: 'must be 1-64 letters, digits, or _ : . @ -' })
  INSTANCE_ID?: string;

  @IsOptional()
  @Transform(toInt)
  @WholeNumber(100, undefined, 'milliseconds')
  UPLOAD_HEARTBEAT_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @WholeNumber(1000, undefined, 'milliseconds')
  UPLOAD_STALE_MS?: number;

  @IsOptional()
  @Transform(toBool)
  @TrueOrFalse()
  METRICS_ENABLED?: boolean;

  @IsOptional()
  @IsString()
  API_KEYS?: string;

  @IsOptional()
  @Transform(toBool)
  @TrueOrFalse()
  AUTH_READS?: boolean;

  @IsOptional()
  @Transform(toBool)
  @TrueOrFalse()
  RATE_LIMIT_ENABLED?: boolean;

  @IsOptional()
  @Transform(toInt)
  @WholeNumber(1000, undefined, 'milliseconds')
  RATE_LIMIT_WINDOW_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @WholeNumber(1)
  RATE_LIMIT_ANONYMOUS?: number;

  @IsOptional()
  @Transform(toInt)
  @WholeNumber(1)
  RATE_LIMIT_KEYED?: number;

  @IsOptional()
  @Transform(toInt)
  @WholeNumber(1)
  RATE_LIMIT_UPLOADS?: number;

  @IsOptional()
  @Transform(toBool)
  @TrueOrFalse()
  CACHE_ENABLED?: boolean;

  @IsOptional()
  @Transform(toInt)
  @WholeNumber(1000, undefined, 'milliseconds')
  CACHE_TTL_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @WholeNumber(1_048_576, undefined, 'bytes')
  CACHE_MAX_BYTES?: number;

  @IsOptional()
  @OneOf(LOG_LEVELS)
  LOG_LEVEL?: LogLevel;

  @IsOptional()
  @OneOf(['json', 'pretty'])
  LOG_FORMAT?: 'json' | 'pretty';

  @IsOptional()
  @Matches(/^(true|false|\d+|[0-9a-fA-F.:/,\s]+|loopback|linklocal|uniquelocal)$/, {
    message:
      'must be true, false, a hop count, or a comma list of addresses/subnets (loopback, 10.0.0.0/8, ...)',
  })
  TRUST_PROXY?: string;

  @IsOptional()
  @Matches(/^(\*|https?:\/\/[^\s,]+(\s*,\s*https?:\/\/[^\s,]+)*)?$/, {
    message: 'must be * or a comma list of origins like https://app.example.com',
  })
  CORS_ORIGINS?: string;
}

/**
 * Every environment variable the service reads: the validated schema above and the OTEL_* ones.
 * Deployment files (Dockerfile, Compose, Kubernetes) may set only these; a test holds them to it.
 */
export function configVariableNames(): string[] {
  const schema = getMetadataStorage()
    .getTargetValidationMetadatas(EnvironmentVariables, '', true, false)
    .map((m) => m.propertyName);
  return [...new Set([...schema, ...TRACING_VARIABLES])].sort();
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.map((p) => `Invalid configuration: ${p}`).join('\n'));
    this.name = 'ConfigValidationError';
  }
}

function describe(errors: ValidationError[], raw: Record<string, string | undefined>): string[] {
  return errors.map((e) => {
    // As written in the environment: transforms turn "70000" into 70000.
    const shown = JSON.stringify(raw[e.property] ?? e.value);
    // Each variable's rules share one message (see WholeNumber), so the first says it all.
    const message = Object.values(e.constraints ?? {})[0] ?? 'invalid value';
    return `${e.property}=${shown}: ${message}`;
  });
}

function parseTrustProxy(raw: string | undefined): boolean | number | string {
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  return raw;
}

function parseDatabase(
  raw: string | undefined,
  poolSize: number,
  migrationsRun: boolean,
  loadData: 'auto' | 'off',
): DatabaseConfig {
  if (raw === undefined || raw === '') {
    return { dialect: 'sqlite', path: DEFAULT_SQLITE_PATH, migrationsRun };
  }
  if (raw.startsWith('sqlite:')) {
    return { dialect: 'sqlite', path: raw.slice('sqlite:'.length), migrationsRun };
  }
  const url = new URL(raw);
  return {
    dialect: 'mysql',
    url: raw,
    host: url.hostname,
    port: url.port ? Number(url.port) : 3306,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.slice(1)),
    poolSize,
    migrationsRun,
    loadData,
  };
}

export interface LoadConfigOptions {
  /**
   * Refuse production and staging without API_KEYS (default). The keys guard the HTTP server;
   * the CLI talks to the database directly and passes false.
   */
  requireApiKeys?: boolean;
}

type RateBudgets = Pick<AppConfig['rateLimit'], 'anonymous' | 'keyed' | 'uploads'>;

/** Per window, for a service with API keys: everyone without a key shares the public budget. */
export const PUBLIC_RATE_LIMITS: RateBudgets = { anonymous: 100, keyed: 1000, uploads: 10 };

/**
 * Without API_KEYS (development and test only: production and staging refuse to start so) the
 * caller is a person trying the API on their machine: clicking through /docs, a script looping
 * over symbols, a folder of CSVs. Limits that still stop a runaway loop, never a person.
 */
export const DEVELOPMENT_RATE_LIMITS: RateBudgets = { anonymous: 6000, keyed: 6000, uploads: 120 };

const definedOnly = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/** Validates a raw environment and turns it into the typed configuration. Throws naming each bad variable. */
export function loadConfig(
  raw: Record<string, string | undefined>,
  options: LoadConfigOptions = {},
): AppConfig {
  // Empty strings mean "unset", as in most .env tooling.
  const present = Object.fromEntries(
    Object.entries(raw).filter(([, v]) => v !== undefined && v.trim() !== ''),
  );
  const env = plainToInstance(EnvironmentVariables, present, { excludeExtraneousValues: false });
  const errors = validateSync(env, { skipMissingProperties: false, forbidUnknownValues: false });
  const apiKeys = parseApiKeys(env.API_KEYS);
  const nodeEnv = env.NODE_ENV ?? 'development';
  const exposed = nodeEnv === 'production' || nodeEnv === 'staging';
  const problems = [
    ...describe(errors, present),
    ...tracingConfigProblems(present),
    ...apiKeys.problems,
  ];
  const requireKeys = options.requireApiKeys ?? true;
  if (requireKeys && exposed && apiKeys.keys.length === 0 && apiKeys.problems.length === 0) {
    problems.push(
      `API_KEYS is empty: NODE_ENV=${nodeEnv} refuses to start with open writes; set API_KEYS="name:key:role,..." (roles read, write, admin)`,
    );
  }
  const heartbeatMs = env.UPLOAD_HEARTBEAT_MS ?? 5_000;
  const staleAfterMs = env.UPLOAD_STALE_MS ?? 30_000;
  const badTiming = problems.some((p) => /^UPLOAD_(HEARTBEAT|STALE)_MS=/.test(p));
  if (!badTiming && staleAfterMs < 3 * heartbeatMs) {
    problems.push(
      `UPLOAD_STALE_MS (${staleAfterMs}) must be at least 3 × UPLOAD_HEARTBEAT_MS (${heartbeatMs}): a live upload would be swept between two heartbeats`,
    );
  }
  if (problems.length > 0) throw new ConfigValidationError(problems);

  return {
    env: nodeEnv,
    http: {
      port: env.PORT ?? 3000,
      host: env.HOST ?? '0.0.0.0',
      trustProxy: parseTrustProxy(env.TRUST_PROXY),
      corsOrigins: (env.CORS_ORIGINS ?? '')
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
      requestTimeoutMs: env.REQUEST_TIMEOUT_MS ?? 30_000,
      uploadTimeoutMs: env.UPLOAD_TIMEOUT_MS ?? 600_000,
      uploadMaxBytes: env.UPLOAD_MAX_BYTES ?? 52_428_800,
      uploadDir: env.UPLOAD_DIR ?? './data/uploads',
      shutdownGraceMs: env.SHUTDOWN_GRACE_MS ?? 25_000,
      overload: {
        // Twice the pool: each connection has a request running and one ready to go next.
        maxInFlight: env.OVERLOAD_MAX_IN_FLIGHT ?? 2 * (env.DB_POOL_SIZE ?? 10),
        maxQueueWaitMs: env.OVERLOAD_MAX_QUEUE_WAIT_MS ?? 500,
        maxEventLoopLagMs: env.OVERLOAD_MAX_EVENT_LOOP_LAG_MS ?? 500,
        acceptHandles: env.OVERLOAD_ACCEPT_HANDLES ?? 64,
      },
      readFastPath: env.READ_FAST_PATH ?? true,
    },
    database: parseDatabase(
      env.DATABASE_URL,
      env.DB_POOL_SIZE ?? 10,
      env.DB_MIGRATIONS_RUN ?? true,
      env.DB_LOAD_DATA ?? 'auto',
    ),
    log: {
      level: env.LOG_LEVEL ?? (nodeEnv === 'test' ? 'silent' : 'info'),
      pretty: env.LOG_FORMAT === 'pretty',
    },
    tracing: loadTracingConfig(present),
    metrics: { enabled: env.METRICS_ENABLED ?? true },
    auth: {
      keys: apiKeys.keys,
      reads: env.AUTH_READS ?? false,
      open: apiKeys.keys.length === 0,
    },
    rateLimit: {
      enabled: env.RATE_LIMIT_ENABLED ?? true,
      windowMs: env.RATE_LIMIT_WINDOW_MS ?? 60_000,
      ...(apiKeys.keys.length === 0 ? DEVELOPMENT_RATE_LIMITS : PUBLIC_RATE_LIMITS),
      ...definedOnly({
        anonymous: env.RATE_LIMIT_ANONYMOUS,
        keyed: env.RATE_LIMIT_KEYED,
        uploads: env.RATE_LIMIT_UPLOADS,
      }),
    },
    cache: {
      enabled: env.CACHE_ENABLED ?? true,
      ttlMs: env.CACHE_TTL_MS ?? 60_000,
      maxBytes: env.CACHE_MAX_BYTES ?? 64 * 1024 * 1024,
    },
    redis: { url: env.REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX ?? 'hd:' },
    exports: { maxConcurrent: env.EXPORT_MAX_CONCURRENT ?? 4 },
    uploads: {
      instanceId:
        env.INSTANCE_ID ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
      heartbeatMs,
      staleAfterMs,
    },
  };
}
