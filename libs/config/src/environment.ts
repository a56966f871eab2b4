import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

export const NODE_ENVS = ['development', 'test', 'staging', 'production'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];

type RawEnv = Record<string, string | undefined>;

/** The per-environment file under config/ that fills in what the real environment leaves unset. */
export function envFileFor(raw: RawEnv): string {
  const nodeEnv = raw.NODE_ENV && (NODE_ENVS as readonly string[]).includes(raw.NODE_ENV);
  return `config/${nodeEnv ? raw.NODE_ENV : 'development'}.env`;
}

/**
 * The environment as the service sees it before Nest starts: config/<NODE_ENV>.env under the
 * real environment (the real environment wins), as @nestjs/config merges them later. Used by the
 * tracing entry file, which must run before any framework module is loaded.
 */
export function processEnvironment(): RawEnv {
  const file = envFileFor(process.env);
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
  return { ...fromFile, ...process.env };
}
