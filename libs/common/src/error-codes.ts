import { HttpStatus } from '@nestjs/common';

/**
 * Stable, machine-readable error codes. Clients switch on these; never rename one.
 * Each maps to exactly one HTTP status.
 */
export const ERROR_STATUS = {
  VALIDATION_ERROR: HttpStatus.BAD_REQUEST,
  INVALID_JSON: HttpStatus.BAD_REQUEST,
  INVALID_CURSOR: HttpStatus.BAD_REQUEST,
  NOT_FOUND: HttpStatus.NOT_FOUND,
  METHOD_NOT_ALLOWED: HttpStatus.METHOD_NOT_ALLOWED,
  NOT_ACCEPTABLE: HttpStatus.NOT_ACCEPTABLE,
  ALREADY_EXISTS: HttpStatus.CONFLICT,
  PAYLOAD_TOO_LARGE: HttpStatus.PAYLOAD_TOO_LARGE,
  UNSUPPORTED_MEDIA_TYPE: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  ROWS_REJECTED: HttpStatus.UNPROCESSABLE_ENTITY,
  INVALID_CSV_HEADER: HttpStatus.UNPROCESSABLE_ENTITY,
  EMPTY_FILE: HttpStatus.UNPROCESSABLE_ENTITY,
  INTERNAL_ERROR: HttpStatus.INTERNAL_SERVER_ERROR,
  DATABASE_UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  NOT_READY: HttpStatus.SERVICE_UNAVAILABLE,
  REQUEST_TIMEOUT: HttpStatus.SERVICE_UNAVAILABLE,
  OVERLOADED: HttpStatus.SERVICE_UNAVAILABLE,
  EXPORTS_BUSY: HttpStatus.SERVICE_UNAVAILABLE,
  UNAUTHENTICATED: HttpStatus.UNAUTHORIZED,
  FORBIDDEN: HttpStatus.FORBIDDEN,
  RATE_LIMITED: HttpStatus.TOO_MANY_REQUESTS,
  IDEMPOTENCY_KEY_REUSED: HttpStatus.UNPROCESSABLE_ENTITY,
  IDEMPOTENCY_IN_PROGRESS: HttpStatus.CONFLICT,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

const TITLES: Record<ErrorCode, string> = {
  VALIDATION_ERROR: 'Invalid request parameters',
  INVALID_JSON: 'Malformed JSON body',
  INVALID_CURSOR: 'Invalid cursor',
  NOT_FOUND: 'Resource not found',
  METHOD_NOT_ALLOWED: 'Method not allowed',
  NOT_ACCEPTABLE: 'Not acceptable',
  ALREADY_EXISTS: 'Resource already exists',
  PAYLOAD_TOO_LARGE: 'Payload too large',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported media type',
  ROWS_REJECTED: 'Rows rejected',
  INVALID_CSV_HEADER: 'CSV header lacks required columns',
  EMPTY_FILE: 'Empty file',
  INTERNAL_ERROR: 'Internal server error',
  DATABASE_UNAVAILABLE: 'Database unavailable',
  NOT_READY: 'Service not ready',
  REQUEST_TIMEOUT: 'Request timed out',
  OVERLOADED: 'Server overloaded',
  EXPORTS_BUSY: 'Too many exports running',
  UNAUTHENTICATED: 'Authentication required',
  FORBIDDEN: 'Not allowed for this API key',
  RATE_LIMITED: 'Too many requests',
  IDEMPOTENCY_KEY_REUSED: 'Idempotency key reused with a different request',
  IDEMPOTENCY_IN_PROGRESS: 'A request with this idempotency key is still running',
};

export function titleFor(code: ErrorCode): string {
  return TITLES[code];
}

/** RFC 9457 `type`: a URN per code, documented in docs/API.md ("Errors"). */
export function problemTypeFor(code: ErrorCode): string {
  return `urn:problem:historical-data:${code.toLowerCase().replace(/_/g, '-')}`;
}

export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];
