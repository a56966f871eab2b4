import { AppConfigModule } from '@app/config';
import { Module } from '@nestjs/common';
import { ImportCommand } from './import.command';
import { MigrateCommand } from './migrate.command';
import { OpenApiCommand } from './openapi.command';
import { SeedDemoCommand } from './seed-demo.command';

@Module({
  imports: [AppConfigModule.forRoot()],
  providers: [MigrateCommand, OpenApiCommand, ImportCommand, SeedDemoCommand],
})
export class CliModule {}
