import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
  NotFoundException,
} from '@nestjs/common';
import { redactUrl } from '@app/config';
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { allowedMethods } from './allowed-methods';
import { AppError, ProblemFieldError } from './app.error';
import { ERROR_STATUS, ErrorCode, problemTypeFor, titleFor } from './error-codes';
import { bodyParserError } from './json-body.middleware';
import { assignRequestId } from './request-id';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: ErrorCode;
  requestId: string;
  errors?: ProblemFieldError[];
  [extension: string]: unknown;
}

/** Statuses Nest/Express raise themselves, mapped onto our codes. */
const CODE_FOR_STATUS: Partial<Record<number, ErrorCode>> = {
  [HttpStatus.BAD_REQUEST]: 'VALIDATION_ERROR',
  [HttpStatus.NOT_FOUND]: 'NOT_FOUND',
  [HttpStatus.METHOD_NOT_ALLOWED]: 'METHOD_NOT_ALLOWED',
  [HttpStatus.NOT_ACCEPTABLE]: 'NOT_ACCEPTABLE',
  [HttpStatus.PAYLOAD_TOO_LARGE]: 'PAYLOAD_TOO_LARGE',
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: 'UNSUPPORTED_MEDIA_TYPE',
  [HttpStatus.SERVICE_UNAVAILABLE]: 'NOT_READY',
};

/** Driver error codes that mean "the database is not reachable", as opposed to a bug. */
const DB_UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'ER_CON_COUNT_ERROR',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'POOL_CLOSED',
  'SQLITE_BUSY',
  'SQLITE_CANTOPEN',
]);

function errnoCode(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let depth = 0; depth < 4 && cur && typeof cur === 'object'; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cur =
      (cur as { driverError?: unknown; cause?: unknown }).driverError ??
      (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * No route matched, but the path has routes for other methods (`PUT /api/v1/data`): that is a 405
 * with `Allow`, not a 404. Resource 404s (NotFoundError) are AppErrors and never get here.
 */
function methodNotAllowed(exception: unknown, req: Request): AppError | undefined {
  if (!(exception instanceof NotFoundException) || exception instanceof AppError) return undefined;
  const allow = allowedMethods(req);
  if (allow.length === 0 || allow.includes(req.method)) return undefined;
  return new AppError(
    'METHOD_NOT_ALLOWED',
    `${req.method} is not supported on ${req.path}; it answers ${allow.join(', ')}.`,
    { headers: { Allow: allow.join(', ') } },
  );
}

/**
 * The one global filter (house rule 5): every error leaves as RFC 9457 problem+json with a
 * stable `code` and the `requestId`. Unknown errors become 500 with an error id; their stack
 * is logged, never sent.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');

  catch(caught: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request>();
    const res = ctx.getResponse<Response>();
    const requestId = assignRequestId(req, res);
    const exception = methodNotAllowed(caught, req) ?? caught;
    const problem = this.toProblem(exception, req, requestId);

    if (res.headersSent) {
      // The body is already on its way (a stream failed part way); all we can do is cut it.
      res.destroy();
      return;
    }
    const headers = exception instanceof AppError ? exception.options.headers : undefined;
    for (const [name, value] of Object.entries(headers ?? {})) res.setHeader(name, value);
    res.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
  }

  private toProblem(exception: unknown, req: Request, requestId: string): Problem {
    const base = (code: ErrorCode, detail: string, status = ERROR_STATUS[code]): Problem => ({
      type: problemTypeFor(code),
      title: titleFor(code),
      status,
      detail,
      // A key sent in the query (refused with 401) must not come back, nor reach a log, here.
      instance: redactUrl(req.originalUrl ?? req.url),
      code,
      requestId,
    });

    const known = exception instanceof AppError ? exception : bodyParserError(exception);
    if (known) {
      const problem = base(known.code, known.detail, known.status);
      if (known.options.errors) problem.errors = known.options.errors;
      // Extensions add members; they never replace the standard ones (status, code, ...).
      return { ...known.options.extensions, ...problem };
    }

    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const code = CODE_FOR_STATUS[status];
      if (code) {
        const response = exception.getResponse();
        const detail =
          code === 'NOT_FOUND'
            ? `No route or resource at ${req.method} ${req.path}.`
            : typeof response === 'string'
              ? response
              : exception.message;
        const problem = base(code, detail, status);
        // Terminus puts each check's outcome in `details`: keep it, under a name of our own.
        if (code === 'NOT_READY' && typeof response === 'object' && response !== null) {
          return {
            ...problem,
            detail: 'One or more dependencies are down.',
            checks: (response as { details?: unknown }).details,
          };
        }
        return problem;
      }
    }

    if (DB_UNAVAILABLE.has(errnoCode(exception) ?? '')) {
      this.logger.error({ err: exception, requestId }, 'database unavailable');
      return base('DATABASE_UNAVAILABLE', 'The database is not reachable; retry shortly.');
    }

    const errorId = randomUUID();
    this.logger.error(
      { err: exception, errorId, requestId },
      exception instanceof Error ? exception.stack : String(exception),
    );
    return {
      ...base('INTERNAL_ERROR', `An unexpected error occurred. Quote error id ${errorId}.`),
      errorId,
    };
  }
}
