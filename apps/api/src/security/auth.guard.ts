import { APP_CONFIG, AppConfig, Role, roleAllows, secretParamsIn } from '@app/config';
import { AppError } from '@app/common';
import {
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
  Logger,
  OnModuleInit,
  SetMetadata,
} from '@nestjs/common';
import type { Request } from 'express';
import { CachedReflector } from './cached-reflector';
import { identityOf } from './client-identity';

const ROLE_KEY = 'hd:required-role';

/** The role a route needs beyond its method's default (bulk delete and the uploads list: admin). */
export const RequireRole = (role: Role): MethodDecorator => SetMetadata(ROLE_KEY, role);

/** Probes and scrapes: never behind a key, never rate limited. */
export const isInfrastructurePath = (path: string): boolean =>
  path === '/health' || path.startsWith('/health/') || path === '/metrics';

export const WWW_AUTHENTICATE =
  'Bearer realm="historical-data-api", ApiKey realm="historical-data-api" header="X-API-Key"';

/**
 * API keys with roles (read < write < admin). Reads (GET) are public unless AUTH_READS=true;
 * other methods need write; routes marked @RequireRole need that role. A key that matches none is
 * 401 wherever it is sent. With no keys configured (development, test) everything is open.
 */
@Injectable()
export class AuthGuard implements CanActivate, OnModuleInit {
  /** The role marks, read once per handler. */
  private readonly reflector = new CachedReflector();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  onModuleInit(): void {
    if (this.config.auth.open) {
      new Logger('Auth').warn(
        `API_KEYS is empty: writes are open to anyone (NODE_ENV=${this.config.env}). Set API_KEYS before exposing this service.`,
      );
    }
  }

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    refuseKeyInQuery(req);
    if (this.config.auth.open) return true;
    if (isInfrastructurePath(req.path)) return true;
    const identity = identityOf(req);
    if (identity.kind === 'invalid') {
      throw unauthenticated('The API key is not valid.');
    }
    const needed = this.requiredRole(context, req);
    if (needed === undefined) return true;
    if (identity.kind === 'anonymous') {
      throw unauthenticated(
        `This request needs an API key with the ${needed} role: send it as X-API-Key or Authorization: Bearer.`,
      );
    }
    if (!roleAllows(identity.role, needed)) {
      throw new AppError(
        'FORBIDDEN',
        `The API key "${identity.name}" has the ${identity.role} role; this request needs ${needed}.`,
      );
    }
    return true;
  }

  private requiredRole(context: ExecutionContext, req: Request): Role | undefined {
    const marked = this.reflector.get(ROLE_KEY, context.getHandler()) as Role | undefined;
    if (marked) return marked;
    if (req.method === 'GET' || req.method === 'HEAD') {
      return this.config.auth.reads ? 'read' : undefined;
    }
    return 'write';
  }
}

/**
 * A key in the query string (`?apiKey=`, `?token=`, the habit of many market-data APIs) is refused
 * with or without keys configured: it has already been copied into every log and proxy on the
 * way, and accepting it once teaches the habit. The log line and the problem show it redacted.
 */
function refuseKeyInQuery(req: Request): void {
  const at = req.originalUrl.indexOf('?');
  const found = at < 0 ? [] : secretParamsIn(req.originalUrl.slice(at + 1));
  if (found.length === 0) return;
  throw unauthenticated(
    `API keys are not accepted in the query string (${found.join(', ')}): URLs are written to logs and proxies. ` +
      'Send the key in the X-API-Key header (or Authorization: Bearer), and consider rotating this one.',
  );
}

function unauthenticated(detail: string): AppError {
  return new AppError('UNAUTHENTICATED', detail, {
    headers: { 'WWW-Authenticate': WWW_AUTHENTICATE },
  });
}
