import { AppConfigModule, AppConfigOptions } from '@app/config';
import { DatabaseModule } from '@app/database';
import { LoggerModule, LoggerOptions, MetricsModule } from '@app/observability';
import { DynamicModule, Module } from '@nestjs/common';
import { CacheModule } from './cache/cache.module';
import { HealthModule } from './health/health.module';
import { IdempotencyModule } from './idempotency/idempotency.module';
import { HistoricalDataModule } from './historical-data/historical-data.module';
import { SecurityModule } from './security/security.module';
import { SymbolsModule } from './symbols/symbols.module';
import { UploadModule } from './upload/upload.module';

export interface AppOptions extends AppConfigOptions {
  log?: LoggerOptions;
}

@Module({})
export class AppModule {
  /** `options` lets tests and the CLI pin configuration; the server passes nothing. */
  static forRoot(options: AppOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(options),
        LoggerModule.forRoot(options.log),
        MetricsModule,
        DatabaseModule,
        SecurityModule,
        CacheModule,
        IdempotencyModule,
        HealthModule,
        HistoricalDataModule,
        SymbolsModule,
        UploadModule,
      ],
    };
  }
}
