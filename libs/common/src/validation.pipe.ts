import {
  ArgumentMetadata,
  ValidationError as ClassValidatorError,
  ValidationPipe,
} from '@nestjs/common';
import { ProblemFieldError, ValidationError } from './app.error';

function flatten(errors: ClassValidatorError[], parent = ''): ProblemFieldError[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({
      field,
      message: message.replace(/^property (\S+) should not exist$/, '$1 is not a known parameter'),
    }));
    return [...own, ...flatten(e.children ?? [], field)];
  });
}

/** The one 400 problem for bad parameters: every bad parameter named, each with its message. */
export function invalidParameters(list: ProblemFieldError[]): ValidationError {
  const names = [...new Set(list.map((e) => e.field))].join(', ');
  return new ValidationError(`Invalid value for: ${names}.`, list);
}

/**
 * A query DTO may carry a hand-written parser (a static `parseQuery`): the pipe then uses it
 * instead of class-transformer + class-validator, which build and reflect over a class instance
 * per request (the hot read routes; see docs/ARCHITECTURE.md, "Performance budget"). The DTO's
 * decorators still describe the parameters in OpenAPI; the parser's spec holds it to them.
 */
export interface QueryParser<T> {
  parseQuery(query: Record<string, unknown>): T;
}

function parserOf(metadata: ArgumentMetadata): QueryParser<unknown>['parseQuery'] | undefined {
  if (metadata.type !== 'query') return undefined;
  const parse = (metadata.metatype as Partial<QueryParser<unknown>> | undefined)?.parseQuery;
  return typeof parse === 'function' ? parse : undefined;
}

class AppValidationPipe extends ValidationPipe {
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const parse = parserOf(metadata);
    if (parse) return Promise.resolve(parse((value ?? {}) as Record<string, unknown>));
    return super.transform(value, metadata);
  }
}

/**
 * The global DTO pipe: converts query strings to typed values, rejects unknown parameters and
 * lists every bad parameter in one 400 problem.
 */
export function createValidationPipe(): ValidationPipe {
  return new AppValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    stopAtFirstError: true,
    exceptionFactory: (errors) => invalidParameters(flatten(errors)),
  });
}
