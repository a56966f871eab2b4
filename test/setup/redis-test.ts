import { randomBytes } from 'node:crypto';

/** Redis for the shared-store specs (TEST_REDIS_URL), or undefined: those specs then skip. */
export function redisTestUrl(): string | undefined {
  return process.env.TEST_REDIS_URL || undefined;
}

/** A key prefix no other test app (or run) uses, so apps only share a store when a test says so. */
export function uniqueRedisPrefix(): string {
  return `hdtest:${randomBytes(6).toString('hex')}:`;
}

export const describeWithRedis = (name: string, suite: (url: string) => void): void => {
  const url = redisTestUrl();
  if (url) describe(`${name} [redis]`, () => suite(url));
  else describe.skip(`${name} [redis: skipped, TEST_REDIS_URL not set]`, () => suite(''));
};
