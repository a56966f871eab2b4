import { Logger } from '@nestjs/common';
import { Router } from 'express';
import type { NextFunction, Request, Response } from 'express';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Where `npm run build` puts the explorer (apps/web, built by Vite into dist/apps/web). From the
 * built server (dist/apps/api/src/explorer) it is three folders up; from the sources (ts-jest, nest start)
 * it is the same folder under dist/.
 */
export const EXPLORER_DIRS = [
  resolve(__dirname, '../../../web'),
  resolve(__dirname, '../../../../dist/apps/web'),
];

/** The first folder holding a built explorer (index.html beside its hashed assets). */
export function findExplorerDir(candidates: readonly string[] = EXPLORER_DIRS): string | undefined {
  return candidates.find(
    (dir) => existsSync(join(dir, 'index.html')) && existsSync(join(dir, 'assets')),
  );
}

/** Paths the explorer's page-specific CSP applies to (app.setup.ts). */
export function isExplorerPath(path: string): boolean {
  return path === '/' || path === '/index.html' || path.startsWith('/assets/');
}

const YEAR_SECONDS = 365 * 24 * 3600;

/**
 * index.html's `<link rel="preload" as="fetch">` of the symbol list: the browser asks for it while
 * the page's script is still loading (the first chart waits on it). It carries no API key, and
 * the page's own fetch (which would) takes the preloaded answer, so it must not be there when
 * reads need a key (AUTH_READS=true).
 */
export const SYMBOLS_PRELOAD =
  /[ \t]*<link\s+rel="preload"\s+as="fetch"\s+href="\/api\/v1\/symbols[^>]*>\n?/;

export interface ExplorerOptions {
  /** Keep index.html's preload of the symbol list (false when reads need a key). */
  preloadSymbols: boolean;
}

/**
 * GET / (and /index.html) → the page, revalidated on every load (no-cache + ETag), so a new
 * release is picked up at once; GET /assets/:file → Vite's content-hashed JS and CSS, cached
 * for a year as immutable; /favicon.svg cached a day. Real routes (not express.static behind a
 * prefix), so request metrics label them "/" and "/assets/:file" instead of "unmatched". A
 * missing file falls through to Nest's 404 problem.
 */
export function explorerRouter(
  dir: string,
  options: ExplorerOptions = { preloadSymbols: true },
): Router {
  const router = Router();
  const send =
    (file: (req: Request) => string, root: string, cacheControl: string, immutable = false) =>
    (req: Request, res: Response, next: NextFunction) => {
      res.sendFile(
        file(req),
        {
          root,
          dotfiles: 'deny',
          immutable,
          maxAge: immutable ? YEAR_SECONDS * 1000 : 0,
          cacheControl: immutable,
          headers: immutable ? {} : { 'Cache-Control': cacheControl },
        },
        (err?: Error & { status?: number; statusCode?: number }) => {
          if (!err || res.headersSent) return;
          // Not there (or not a plain file name): Nest's 404; anything else: its 500.
          const status = err.status ?? err.statusCode;
          next(status === 404 || status === 403 ? undefined : err);
        },
      );
    };
  const index = options.preloadSymbols
    ? send(() => 'index.html', dir, 'no-cache')
    : withoutPreload(readFileSync(join(dir, 'index.html'), 'utf8'));
  router.get('/', index);
  router.get('/index.html', index);
  router.get(
    '/assets/:file',
    send((req) => String(req.params.file), join(dir, 'assets'), '', true),
  );
  router.get(
    '/favicon.svg',
    send(() => 'favicon.svg', dir, `public, max-age=${24 * 3600}`),
  );
  return router;
}

/** index.html without the symbols preload, from memory: Express adds the ETag and answers 304s. */
function withoutPreload(html: string) {
  const page = html.replace(SYMBOLS_PRELOAD, '');
  return (_req: Request, res: Response) => {
    res.set('Cache-Control', 'no-cache').type('html').send(page);
  };
}

/** The router when the explorer is built; otherwise a warning naming the fix, and nothing. */
export function explorerMiddleware(
  candidates: readonly string[] = EXPLORER_DIRS,
  options?: ExplorerOptions,
): Router | undefined {
  const dir = findExplorerDir(candidates);
  if (dir) return explorerRouter(dir, options);
  new Logger('Explorer').warn(
    'the data explorer is not built (no dist/apps/web): GET / answers 404. Run `npm run build`.',
  );
  return undefined;
}
