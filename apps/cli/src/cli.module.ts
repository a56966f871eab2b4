import { Injectable, Module } from '@nestjs/common';
import { InjectCommander } from 'nest-commander';
import { ExportCommand } from './export.command';
import { ImportCommand } from './import.command';
import { MigrateCommand } from './migrate.command';
import { OpenApiCommand } from './openapi.command';
import { SeedDemoCommand } from './seed-demo.command';

/** The name the image puts on the PATH; commander would otherwise say `main` (the file name). */
export const CLI_NAME = 'historical-data';

@Injectable()
class ProgramName {
  constructor(@InjectCommander() program: { name(name: string): unknown }) {
    program.name(CLI_NAME);
  }
}

/** No configuration here: each command reads it when it runs (see cli-config.ts). */
@Module({
  providers: [
    ProgramName,
    MigrateCommand,
    OpenApiCommand,
    ImportCommand,
    ExportCommand,
    SeedDemoCommand,
  ],
})
export class CliModule {}
