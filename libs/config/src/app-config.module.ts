import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { AppConfig, loadConfig } from './app-config';
import { envFileFor } from './environment';

/** Injection token for the validated, typed configuration. */
export const APP_CONFIG = Symbol('APP_CONFIG');

export interface AppConfigOptions {
  /** Values that win over the environment and env files (tests, the CLI's openapi command). */
  overrides?: Record<string, string>;
  /** Skip config/<env>.env (tests that want only what they pass). */
  ignoreEnvFile?: boolean;
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
            app: loadConfig({ ...(merged as Record<string, string>), ...options.overrides }),
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
