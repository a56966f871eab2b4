import { ApiProblems } from '@app/common';
import { Role } from '@app/config';
import { applyDecorators } from '@nestjs/common';
import { ApiExtension, ApiSecurity } from '@nestjs/swagger';
import { RequireRole } from './auth.guard';

/** Names of the OpenAPI security schemes ("Authorize" in /docs). */
export const API_KEY_SCHEME = 'api-key';
export const BEARER_SCHEME = 'bearer';

/**
 * A route that needs an API key with `role` (write by default for non-GET methods; reads only
 * when AUTH_READS=true): documents the schemes and the 401/403/429 answers.
 */
export function Secured(role?: Role): MethodDecorator {
  return applyDecorators(
    ...(role ? [RequireRole(role)] : []),
    ApiSecurity(API_KEY_SCHEME),
    ApiSecurity(BEARER_SCHEME),
    ApiProblems('UNAUTHENTICATED', 'FORBIDDEN', 'RATE_LIMITED'),
  );
}

/** A read: public unless AUTH_READS=true, then any key (read role) works. */
export function Read(): MethodDecorator {
  return applyDecorators(
    ApiSecurity(API_KEY_SCHEME),
    ApiSecurity(BEARER_SCHEME),
    ApiSecurity({}),
    ApiProblems('UNAUTHENTICATED', 'RATE_LIMITED'),
  );
}

/** Marks an operation for buildOpenApiDocument, which turns it into `security: []`. */
export const PUBLIC_OPERATION = 'x-public-operation';

/**
 * A route that never takes a key (health probes): OpenAPI says so with `security: []`, so a
 * generated client sends none and a linter sees the choice was made on purpose. (@nestjs/swagger
 * drops an empty security list, hence the marker.)
 */
export function Public(): MethodDecorator {
  return ApiExtension(PUBLIC_OPERATION, true);
}
