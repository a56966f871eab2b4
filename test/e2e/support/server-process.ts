import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '../../..');
/** Built by the jest global setup (scripts/build-if-needed.mjs). */
export const SERVER_ENTRY = join(ROOT, 'dist/apps/api/src/main.js');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/**
 * The built API as an operator runs it (`npm run start:prod`): its own process, its own entry
 * file (tracing first), real signals. For what in-process apps cannot show.
 */
export class ServerProcess {
  child!: ChildProcess;
  port = 0;
  readonly lines: Record<string, unknown>[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  private resolveExit!: (code: number | null) => void;
  private readonly dir = mkdtempSync(join(tmpdir(), 'hd-proc-'));

  constructor() {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** `startTimeoutMs`: how long to wait for /health (a loaded CI machine can take a while). */
  async start(env: Record<string, string>, startTimeoutMs = 45_000): Promise<void> {
    this.port = await freePort();
    this.child = spawn(process.execPath, [SERVER_ENTRY], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: String(this.port),
        DATABASE_URL: 'sqlite::memory:',
        UPLOAD_DIR: join(this.dir, 'uploads'),
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString();
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts.filter(Boolean)) {
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.lines.push({ raw: line });
        }
      }
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.child.once('exit', (code) => this.resolveExit(code));
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      try {
        const res = await fetch(`${this.url}/health`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (this.child.exitCode !== null) {
        throw new Error(`server exited with ${this.child.exitCode}: ${this.stderr}`);
      }
      if (Date.now() > deadline) throw new Error(`server did not start: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Sends SIGTERM and resolves with the exit code. */
  async terminate(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    const code = await this.exited;
    rmSync(this.dir, { recursive: true, force: true });
    return code;
  }

  kill(): void {
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
