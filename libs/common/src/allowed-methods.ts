import type { Request } from 'express';
import { METHODS } from 'node:http';

/** What this module needs of Express's router (router 2.x, as Express 5 ships it). */
interface RouterLayer {
  route?: { methods: Record<string, boolean | undefined> };
  match(path: string): unknown;
}

const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * The methods some route answers at this request's path, read from the app's router: what an
 * `Allow` header lists when the path exists but not for this method (405, not 404). Only asked
 * on the way to a 404, so it costs nothing on routed requests. A GET route answers HEAD too.
 */
export function allowedMethods(req: Request): string[] {
  const app = req.app as unknown as { router?: { stack?: RouterLayer[] } } | undefined;
  const stack = app?.router?.stack;
  const methods = new Set<string>();
  for (const layer of stack ?? []) {
    if (!layer.route || !layer.match(req.path)) continue;
    const own = Object.entries(layer.route.methods);
    // A route for every method is middleware (Nest's forRoutes('*') registers `all`), not a resource.
    if (own.length >= METHODS.length) continue;
    for (const [method, on] of own) {
      if (on && method !== '_all') methods.add(method.toUpperCase());
    }
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b));
}
