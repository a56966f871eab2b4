export * from './app.error';
export * from './error-codes';
export * from './problem-details.filter';
export * from './request-id';
export * from './validation.pipe';
export * from './problem.dto';
export * from './json-body.middleware';
