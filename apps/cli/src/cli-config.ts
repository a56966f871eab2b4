import { AppConfig, AppConfigOptions, loadAppConfig } from '@app/config';

/**
 * API_KEYS guard the HTTP server; the CLI talks to the database directly, so production does not
 * ask it for keys it would never use.
 */
export const CLI_CONFIG: AppConfigOptions = { requireApiKeys: false };

/**
 * Read when a command runs, not when the CLI starts, so `--help` works whatever the environment
 * holds, and checked before any Nest context is built (see loadAppConfig).
 */
export function cliConfig(): AppConfig {
  return loadAppConfig(CLI_CONFIG);
}
