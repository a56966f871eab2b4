import { ValidationError as ClassValidatorError, ValidationPipe } from '@nestjs/common';
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

/**
 * The global DTO pipe: converts query strings to typed values, rejects unknown parameters and
 * lists every bad parameter in one 400 problem.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    stopAtFirstError: true,
    exceptionFactory: (errors) => {
      const list = flatten(errors);
      const names = [...new Set(list.map((e) => e.field))].join(', ');
      return new ValidationError(`Invalid value for: ${names}.`, list);
    },
  });
}
