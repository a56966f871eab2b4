import { ArgumentsHost, BadRequestException, Logger } from '@nestjs/common';
import { AppError } from './app.error';
import { ProblemDetailsFilter } from './problem-details.filter';

function run(exception: unknown): {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
} {
  const sent = {
    status: 0,
    body: {} as Record<string, unknown>,
    headers: {} as Record<string, string>,
  };
  const res = {
    headersSent: false,
    setHeader: (k: string, v: string) => (sent.headers[k] = v),
    getHeader: () => undefined,
    status(code: number) {
      sent.status = code;
      return this;
    },
    type() {
      return this;
    },
    send(body: string) {
      sent.body = JSON.parse(body) as Record<string, unknown>;
      return this;
    },
  };
  const req = { originalUrl: '/x', url: '/x', method: 'GET', path: '/x', headers: {}, id: 'req-1' };
  const host = {
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }),
  } as unknown as ArgumentsHost;
  new ProblemDetailsFilter().catch(exception, host);
  return sent;
}

describe('ProblemDetailsFilter', () => {
  // The filter logs unknown errors by design; keep this spec's output readable.
  beforeAll(() => {
    Logger.overrideLogger(false);
  });
  afterAll(() => {
    Logger.overrideLogger(['log', 'error', 'warn']);
  });

  it('renders an AppError with its code, errors, extensions and headers', () => {
    const out = run(
      new AppError('PAYLOAD_TOO_LARGE', 'too big', {
        errors: [{ field: 'file', message: 'x' }],
        extensions: { limit: 10 },
        headers: { Connection: 'close' },
      }),
    );
    expect(out.status).toBe(413);
    expect(out.headers).toEqual({ Connection: 'close' });
    expect(out.body).toEqual({
      type: 'urn:problem:historical-data:payload-too-large',
      title: 'Payload too large',
      status: 413,
      detail: 'too big',
      instance: '/x',
      code: 'PAYLOAD_TOO_LARGE',
      requestId: 'req-1',
      errors: [{ field: 'file', message: 'x' }],
      limit: 10,
    });
  });

  it('never lets an extension replace a standard member', () => {
    const out = run(
      new AppError('ROWS_REJECTED', 'no', {
        extensions: { status: 'failed', code: 'X', type: 'y', requestId: 'z' },
      }),
    );
    expect(out.status).toBe(422);
    expect(out.body).toMatchObject({ status: 422, code: 'ROWS_REJECTED', requestId: 'req-1' });
    expect(out.body.type).toBe('urn:problem:historical-data:rows-rejected');
  });

  it('maps framework HTTP errors onto codes, and unknown errors onto 500 with an error id and no stack', () => {
    expect(run(new BadRequestException('bad')).body).toMatchObject({
      status: 400,
      code: 'VALIDATION_ERROR',
    });
    const out = run(new Error('secret internals at /srv/app.js:1'));
    expect(out.status).toBe(500);
    expect(out.body).toMatchObject({ code: 'INTERNAL_ERROR', errorId: expect.any(String) });
    expect(JSON.stringify(out.body)).not.toContain('secret internals');
  });

  it('answers 503 DATABASE_UNAVAILABLE for driver connection errors, however deeply wrapped', () => {
    const wrapped = { driverError: { code: 'ECONNREFUSED' }, message: 'connect ECONNREFUSED' };
    expect(run(wrapped).body).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE' });
  });
});
