import { readFile, writeFile } from 'node:fs/promises';
import { Command, CommandRunner, Option } from 'nest-commander';
import { createApp } from '../../api/src/app.setup';
import { buildOpenApiDocument, serializeOpenApi } from '../../api/src/openapi';

interface OpenApiOptions {
  out?: string;
  check?: string;
}

/** Builds the API's module graph (no listening socket, throwaway in-memory database). */
export async function generateOpenApi(): Promise<string> {
  const app = await createApp({
    overrides: { DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'silent', NODE_ENV: 'test' },
    ignoreEnvFile: true,
  });
  try {
    await app.init();
    return serializeOpenApi(buildOpenApiDocument(app));
  } finally {
    await app.close();
  }
}

@Command({
  name: 'openapi',
  description: 'Write the OpenAPI document (sorted keys) or check a committed one for drift',
})
export class OpenApiCommand extends CommandRunner {
  async run(_args: string[], options: OpenApiOptions): Promise<void> {
    const generated = await generateOpenApi();
    if (options.check) {
      const committed = await readFile(options.check, 'utf8').catch(() => '');
      if (committed !== generated) {
        console.error(
          `${options.check} is out of date with the code. Run \`npm run openapi\` and commit the result.`,
        );
        process.exitCode = 1;
        return;
      }
      console.log(`${options.check} matches the code.`);
      return;
    }
    if (options.out) {
      await writeFile(options.out, generated);
      console.log(`Wrote ${options.out}.`);
      return;
    }
    process.stdout.write(generated);
  }

  @Option({ flags: '--out <file>', description: 'write the document to this file' })
  parseOut(value: string): string {
    return value;
  }

  @Option({ flags: '--check <file>', description: 'exit 1 when this file differs from the code' })
  parseCheck(value: string): string {
    return value;
  }
}
