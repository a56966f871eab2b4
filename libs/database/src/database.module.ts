import { APP_CONFIG, AppConfig } from '@app/config';
import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { buildDataSourceOptions } from './data-source.options';
import { HistoricalDataRepository } from './historical-data.repository';
import { TransactionRunner } from './transaction.runner';
import { UploadsRepository } from './uploads.repository';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        ...buildDataSourceOptions(config.database),
        // Fail fast in tests; a supervisor (Compose, Kubernetes) restarts a real deployment.
        retryAttempts: config.env === 'test' ? 0 : 5,
        retryDelay: 2000,
      }),
    }),
  ],
  providers: [TransactionRunner, HistoricalDataRepository, UploadsRepository],
  exports: [TransactionRunner, HistoricalDataRepository, UploadsRepository],
})
export class DatabaseModule {}
