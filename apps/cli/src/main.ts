import { ConfigValidationError } from '@app/config';
import { CommandFactory } from 'nest-commander';
import { CliModule } from './cli.module';

async function main(): Promise<void> {
  await CommandFactory.run(CliModule, {
    logger: ['error', 'warn'],
    errorHandler: (err) => {
      console.error(err.message);
      process.exit(1);
    },
    serviceErrorHandler: (err) => {
      console.error(err.message);
      process.exit(1);
    },
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigValidationError ? err.message : err);
  process.exit(1);
});
