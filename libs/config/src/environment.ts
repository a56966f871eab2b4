import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseEnv } from 'node:util';

export const NODE_ENVS = ['development', 'test', 'staging', 'production'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];

type RawEnv = Record<string, string | undefined>;

/**
 * The installation's root: the nearest folder above this file holding a package.json (the
 * repository, or /app in the image). Env files are found from here, not from the working
 * directory, so the CLI run from another folder still reads config/production.env.
 */
export function installationRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}

/** The per-environment file under config/ that fills in what the real environment leaves unset. */
export function envFileFor(raw: RawEnv, root: string = installationRoot()): string {
  const nodeEnv = raw.NODE_ENV && (NODE_ENVS as readonly string[]).includes(raw.NODE_ENV);
  return join(root, 'config', `${nodeEnv ? raw.NODE_ENV : 'development'}.env`);
}

/**
 * The environment as the service sees it: config/<NODE_ENV>.env under the given variables (which
 * win), as @nestjs/config merges them later. Used before Nest starts: by the tracing entry file,
 * which must run before any framework module is loaded, and to check the configuration.
 */
export function withEnvFile(raw: RawEnv, ignoreEnvFile = false): RawEnv {
  const file = envFileFor(raw);
  const fromFile = !ignoreEnvFile && existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
  return { ...fromFile, ...raw };
}

/** The process environment over its env file. */
export function processEnvironment(): RawEnv {
  return withEnvFile(process.env);
}

/**
 * How the logger writes (JSON unless LOG_FORMAT=pretty), known even when the rest of the
 * configuration is invalid: the line saying so must look like every other log line.
 */
export function startupLogFormat(raw: RawEnv = processEnvironment()): 'json' | 'text' {
  return raw.LOG_FORMAT?.trim() === 'pretty' ? 'text' : 'json';
}
