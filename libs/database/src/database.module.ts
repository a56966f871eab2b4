import { APP_CONFIG, AppConfig } from '@app/config';
import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BarExporter } from './bar-export';
import { buildDataSourceOptions } from './data-source.options';
import { DataChanges } from './data-changes';
import { HistoricalDataRepository } from './historical-data.repository';
import { IdempotencyRepository } from './idempotency.repository';
import { RedisConnection } from './redis.connection';
import { SchemaCheck } from './schema.check';
import { SymbolsRepository } from './symbols.repository';
import { TransactionRunner } from './transaction.runner';
import { UploadsRepository } from './uploads.repository';

/** What the module exports: every other module may use any of it. SchemaCheck is internal. */
const PROVIDERS = [
  DataChanges,
  IdempotencyRepository,
  TransactionRunner,
  HistoricalDataRepository,
  SymbolsRepository,
  BarExporter,
  UploadsRepository,
  RedisConnection,
];

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
  providers: [...PROVIDERS, SchemaCheck],
  exports: PROVIDERS,
})
export class DatabaseModule {}
