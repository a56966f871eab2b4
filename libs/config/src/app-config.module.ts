import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { AppConfig, loadConfig, LoadConfigOptions } from './app-config';
import { envFileFor, withEnvFile } from './environment';

/** Injection token for the validated, typed configuration. */
export const APP_CONFIG = Symbol('APP_CONFIG');

export interface AppConfigOptions extends LoadConfigOptions {
  /** Values that win over the environment and env files (tests, the CLI's openapi command). */
  overrides?: Record<string, string>;
  /** Skip config/<env>.env (tests that want only what they pass). */
  ignoreEnvFile?: boolean;
}

/**
 * The configuration exactly as AppConfigModule will see it (env file under the environment under
 * the overrides), validated. Entry points call it before Nest starts: a ConfigValidationError
 * thrown inside Nest's module scan is printed by Nest with a stack and colours, and the process
 * exits before the entry point can say anything plainer.
 */
export function loadAppConfig(options: AppConfigOptions = {}): AppConfig {
  return loadConfig(
    withEnvFile({ ...process.env, ...options.overrides }, options.ignoreEnvFile),
    options,
  );
}

@Module({})
export class AppConfigModule {
  static forRoot(options: AppConfigOptions = {}): DynamicModule {
    const raw = { ...process.env, ...options.overrides };
    return {
      module: AppConfigModule,
      global: true,
      imports: [
        ConfigModule.forRoot({
          envFilePath: envFileFor(raw),
          ignoreEnvFile: options.ignoreEnvFile ?? false,
          // Validation runs here, while the module is imported: a bad value stops startup
          // before any connection is opened.
          validate: (merged) => ({
            app: loadConfig(
              { ...(merged as Record<string, string>), ...options.overrides },
              options,
            ),
          }),
        }),
      ],
      providers: [
        {
          provide: APP_CONFIG,
          useFactory: (config: ConfigService) => config.getOrThrow<AppConfig>('app'),
          inject: [ConfigService],
        },
      ],
      exports: [APP_CONFIG],
    };
  }
}
