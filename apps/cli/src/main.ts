import { ConfigValidationError } from '@app/config';
import { reportStartupFailure } from '@app/observability';
import { CommandFactory } from 'nest-commander';
import { CliModule } from './cli.module';
import { UsageError } from './import.command';

/** commander's own exits (help shown, unknown option): it has printed what there is to say. */
function commanderExitCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; exitCode?: unknown };
  return typeof e?.code === 'string' &&
    e.code.startsWith('commander.') &&
    typeof e.exitCode === 'number'
    ? e.exitCode
    : undefined;
}

function fail(err: unknown): never {
  const exitCode = commanderExitCode(err);
  if (exitCode !== undefined) process.exit(exitCode);
  if (err instanceof UsageError) {
    console.error(`Usage error: ${err.message}`);
    process.exit(err.exitCode);
  }
  if (err instanceof ConfigValidationError) {
    reportStartupFailure(
      err.problems.map((p) => `Invalid configuration: ${p}`),
      'text',
    );
  } else {
    // An operator's tool: the message names the problem; a stack would bury it.
    console.error(err instanceof Error ? err.message : String(err));
  }
  process.exit(1);
}

async function main(): Promise<void> {
  await CommandFactory.run(CliModule, {
    logger: ['error', 'warn'],
    errorHandler: fail,
    serviceErrorHandler: fail,
  });
}

main().catch(fail);
