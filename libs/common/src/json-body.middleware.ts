import { json, NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError } from './app.error';

/** Turns body-parser's errors into our codes before Nest flattens them into a generic 400. */
export function bodyParserError(err: unknown): AppError | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const { type } = err as { type?: unknown };
  if (type === 'entity.parse.failed') {
    return new AppError(
      'INVALID_JSON',
      `The request body is not valid JSON: ${(err as Error).message}`,
    );
  }
  if (type === 'entity.too.large') {
    return new AppError('PAYLOAD_TOO_LARGE', 'The request body exceeds the size limit.');
  }
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new AppError('UNSUPPORTED_MEDIA_TYPE', 'The request body encoding is not supported.');
  }
  if (type === 'request.aborted') {
    return new AppError('VALIDATION_ERROR', 'The client aborted the request body.');
  }
  return undefined;
}

/** application/json bodies up to `limit`, with parse failures answered as problem+json. */
export function jsonBody(limit: string | number): RequestHandler {
  const parse = json({ limit });
  return (req: Request, res: Response, next: NextFunction) =>
    parse(req, res, (err?: unknown) => next(err ? (bodyParserError(err) ?? err) : undefined));
}
