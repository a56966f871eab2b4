/**
 * A warning written at most once per interval: while a dependency is down, every request meets
 * the same failure, and one line per 10 s says it without flooding the log.
 */
export class ThrottledWarning {
  private last = 0;

  constructor(
    private readonly logger: { warn(message: string): unknown },
    private readonly intervalMs = 10_000,
  ) {}

  warn(message: string): void {
    const now = Date.now();
    if (now - this.last < this.intervalMs) return;
    this.last = now;
    this.logger.warn(message);
  }
}
