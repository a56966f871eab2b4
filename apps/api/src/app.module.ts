import { AppConfigModule, AppConfigOptions } from '@app/config';
import { DatabaseModule } from '@app/database';
import { LoggerModule } from '@app/observability';
import { DynamicModule, Module } from '@nestjs/common';
import { HealthModule } from './health/health.module';
import { HistoricalDataModule } from './historical-data/historical-data.module';

@Module({})
export class AppModule {
  /** `options` lets tests and the CLI pin configuration; the server passes nothing. */
  static forRoot(options: AppConfigOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(options),
        LoggerModule,
        DatabaseModule,
        HealthModule,
        HistoricalDataModule,
      ],
    };
  }
}
