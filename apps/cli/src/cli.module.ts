import { AppConfigModule } from '@app/config';
import { Module } from '@nestjs/common';
import { MigrateCommand } from './migrate.command';
import { OpenApiCommand } from './openapi.command';

@Module({
  imports: [AppConfigModule.forRoot()],
  providers: [MigrateCommand, OpenApiCommand],
})
export class CliModule {}
