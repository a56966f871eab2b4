import { ERROR_STATUS, ErrorCode, titleFor } from './error-codes';

/** One entry of a problem's `errors[]`: which input was wrong and why. */
export interface ProblemFieldError {
  field?: string;
  code?: string;
  message: string;
  /** Position of the element in a request array (bulk writes). */
  index?: number;
}

/**
 * Every domain error the service raises on purpose. The global filter turns it into
 * application/problem+json; `extensions` become extra members of the problem object.
 */
export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly options: {
      errors?: ProblemFieldError[];
      extensions?: Record<string, unknown>;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(detail);
    this.name = 'AppError';
    this.status = ERROR_STATUS[code];
  }

  get title(): string {
    return titleFor(this.code);
  }
}

export class NotFoundError extends AppError {
  constructor(detail: string) {
    super('NOT_FOUND', detail);
  }
}

export class ValidationError extends AppError {
  constructor(detail: string, errors: ProblemFieldError[]) {
    super('VALIDATION_ERROR', detail, { errors });
  }
}
