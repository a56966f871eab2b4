import pino from 'pino';

export type StartupReportFormat = 'json' | 'text';

interface LineSink {
  write(line: string): unknown;
}

/**
 * Says why the process cannot start, one line per problem, before any logger exists: a JSON line
 * shaped like the service's other log lines (level, time, pid, hostname, context, msg) when logs
 * are JSON, a plain line otherwise. No stack and no colours: the operator reading this needs the
 * problem and its fix, and a collector needs one parseable line. Written synchronously, because
 * the caller exits right after.
 */
export function reportStartupFailure(
  problems: string[],
  format: StartupReportFormat,
  sink: LineSink = pino.destination({ fd: 2, sync: true }),
): void {
  if (format === 'text') {
    for (const problem of problems) sink.write(`${problem}\n`);
    return;
  }
  const logger = pino({ level: 'fatal' }, sink);
  for (const problem of problems) logger.fatal({ context: 'Startup' }, problem);
}
