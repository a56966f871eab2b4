import { APP_CONFIG, AppConfig } from '@app/config';
import {
  chainMiddleware,
  createValidationPipe,
  deferContinue,
  installLeanAsyncResourceBind,
  jsonBody,
  Middleware,
  pathOf,
  ProblemDetailsFilter,
  putInFront,
  TimeoutInterceptor,
} from '@app/common';
import { NestFactory, Reflector } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import {
  httpMetricsMiddleware,
  requestLogMiddleware,
  ROOT_LOGGER,
  setMetricsRecording,
} from '@app/observability';
import { Logger } from 'nestjs-pino';
import type pino from 'pino';
import { AppModule, AppOptions } from './app.module';
import { buildOpenApiDocument } from './openapi';
import compression from 'compression';
import helmet from 'helmet';
import { KeyRing, setIdentity } from './security/client-identity';
import type { Express, Request, Response } from 'express';
import type { IncomingMessage, Server } from 'node:http';
import { ListFastPath } from './historical-data/list-fast-path';
import { LoadShedder } from './overload/load-shedder';
import { EXPLORER_DIRS, explorerMiddleware, isExplorerPath } from './explorer/explorer.static';

/** JSON bodies: 10 000 bars with long symbols and string prices fit well inside this. */
export const JSON_BODY_LIMIT = '20mb';

/** The CSV upload reads its own body (streamed), whatever its Content-Type says. */
const UPLOAD_PATH = '/api/v1/data/upload';
const isUpload = (req: { method?: string; url?: string }): boolean =>
  req.method === 'POST' && pathOf(req.url ?? '') === UPLOAD_PATH;

/** A body follows the headers (what body-parser checks before reading: type-is's hasBody). */
const announcesBody = (req: IncomingMessage): boolean =>
  req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] !== undefined;

/**
 * The middlewares Express runs for every request, in order: the layers `app.use` mounted at "/"
 * so far (Nest's request hooks, the front chain, CORS), read from Express's router.
 */
function globalMiddlewares(app: Express): Middleware<Request, Response>[] {
  const { stack } = (app as unknown as { router: { stack: RouterLayer[] } }).router;
  return stack
    .filter((layer) => layer.slash && !layer.route && layer.handle.length < 4)
    .map((layer) => layer.handle);
}

interface RouterLayer {
  slash?: boolean;
  route?: unknown;
  handle: Middleware<Request, Response>;
}

/**
 * Puts `fast` in front of Express on `server`: a request it claims (GET /api/v1/data without a
 * body; a body goes through Express's parser) is answered by it, after the global middlewares
 * Express would have run; every other request goes to Express.
 */
function answerFirst(server: Server, fast: ListFastPath, app: Express): void {
  const globals = chainMiddleware(...globalMiddlewares(app));
  putInFront(server, (req, res, express) =>
    fast.claims(req) && !announcesBody(req)
      ? fast.answer(app, globals, req, res)
      : express(req, res),
  );
}

/** Everything between "module graph built" and "listening", shared by main, e2e tests and the CLI. */
export function configureApp(app: NestExpressApplication): void {
  const config = app.get<AppConfig>(APP_CONFIG);
  // Nest binds each step of a route's interceptor chain with AsyncResource.bind, which on Node 20
  // costs far more than its own call (see bindToContext): the same binding, without the
  // deprecated property that makes it slow.
  installLeanAsyncResourceBind();
  app.useLogger(app.get(Logger));
  setMetricsRecording(config.metrics.enabled);
  app.disable('x-powered-by');
  app.set('trust proxy', config.http.trustProxy);
  // The global middlewares in front of the routes, in this order, as one Express layer (each
  // app.use is a router dispatch on every request).
  const front: Middleware<Request, Response>[] = [
    httpMetricsMiddleware,
    // The request id, the request's logger (made when something logs) and its completion line.
    requestLogMiddleware(app.get<pino.Logger>(ROOT_LOGGER)) as Middleware<Request, Response>,
  ];
  const keys = new KeyRing(config.auth.keys);
  front.push((req, _res, next) => {
    const identity = keys.identify(req);
    // No keys configured: a key sent anyway is ignored rather than rejected.
    setIdentity(
      req,
      identity.kind === 'invalid' && config.auth.open ? { kind: 'anonymous' } : identity,
    );
    next();
  });
  front.push(securityHeaders());
  // gzip for bodies over 1 KiB when the client accepts it (lists of bars compress ~8x). A client
  // that accepts no encoding skips the middleware (it wraps write/end for every response); Vary
  // says so either way.
  // application/x-ndjson (the export) is text, but not in compression's list of compressible types.
  const compress = compression({
    threshold: 1024,
    filter: (req, res) =>
      compression.filter(req, res) ||
      String(res.getHeader('Content-Type')).startsWith('application/x-ndjson'),
  });
  front.push((req, res, next) => {
    if (req.headers['accept-encoding']) {
      compress(req, res, next);
    } else {
      res.vary('Accept-Encoding');
      next();
    }
  });
  // The data explorer at / (apps/web, built by `npm run build`): before Nest's routes, after gzip.
  // Entered only for its own paths: the API's requests skip the walk through its routes.
  const explorer = explorerMiddleware(EXPLORER_DIRS, { preloadSymbols: !config.auth.reads });
  if (explorer) {
    front.push((req, res, next) =>
      isExplorerPath(req.path) || req.path === '/favicon.svg' ? explorer(req, res, next) : next(),
    );
  }
  // Not on the upload route: a CSV sent as application/json is refused there (415) unread. A
  // request announcing no body (most GETs) skips the parser, which would find none.
  const parseJson = jsonBody(JSON_BODY_LIMIT);
  front.push((req, res, next) =>
    isUpload(req) || !announcesBody(req) ? next() : parseJson(req, res, next),
  );
  app.use(chainMiddleware(...front));
  // An upload's `100 Continue` waits until its declared size, type and key are accepted.
  deferContinue(app.getHttpServer(), isUpload);
  if (config.http.corsOrigins.length > 0) {
    app.enableCors({
      origin: config.http.corsOrigins.includes('*') ? true : config.http.corsOrigins,
      exposedHeaders: ['X-Request-Id', 'Location'],
    });
  }
  // In front of Express, in this order: the load shedder (an overloaded server refuses before
  // doing any other work for the request; its lag sampler's timer is unref'd, so it never keeps
  // the process alive), then GET /api/v1/data's fast path, which runs Express's global
  // middlewares itself and skips its router.
  const server = app.getHttpServer();
  answerFirst(server, app.get(ListFastPath), app.getHttpAdapter().getInstance());
  new LoadShedder(config.http.overload).guard(server);
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.useGlobalInterceptors(
    new TimeoutInterceptor(app.get(Reflector), {
      default: config.http.requestTimeoutMs,
      upload: config.http.uploadTimeoutMs,
    }),
  );

  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, () => document, {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
    customSiteTitle: 'Historical Data API',
  });
}

export async function createApp(options: AppOptions = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(options), {
    bufferLogs: true,
    bodyParser: false,
  });
  configureApp(app);
  return app;
}

/**
 * helmet's headers everywhere. The API answers JSON, so its CSP allows nothing at all; /docs
 * (Swagger UI) gets a policy allowing its own scripts and styles, its inline styles and data:
 * images, and no upgrade-insecure-requests (over plain http that breaks every asset). The
 * explorer at / gets its own: scripts, styles, fonts and fetches from this origin only, no
 * inline script or style at all; data:/blob: images (the chart library's logo, downloads).
 */
function securityHeaders(): (req: Request, res: Response, next: (err?: unknown) => void) => void {
  const api = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    },
  });
  const docs = helmet({
    contentSecurityPolicy: {
      useDefaults: true,
      directives: {
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        upgradeInsecureRequests: null,
      },
    },
  });
  const explorer = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        manifestSrc: ["'self'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
      },
    },
  });
  const apiHeaders = fixedHeaders(api);
  const docsHeaders = fixedHeaders(docs);
  const explorerHeaders = fixedHeaders(explorer);
  return (req, res, next) => {
    const headers = req.path.startsWith('/docs')
      ? docsHeaders
      : isExplorerPath(req.path)
        ? explorerHeaders
        : apiHeaders;
    for (const [name, value] of headers) res.setHeader(name, value);
    next();
  };
}

/**
 * The headers a middleware sets, read once: helmet's are the same for every request (no nonces),
 * so they are computed at start-up instead of by a dozen small middlewares per request.
 */
function fixedHeaders(middleware: Middleware<Request, Response>): [string, string][] {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: unknown) => headers.set(name, String(value)),
    removeHeader: (name: string) => headers.delete(name),
  };
  let called = false;
  middleware({} as Request, recorder as unknown as Response, () => (called = true));
  if (!called) throw new Error('security headers: the middleware did not complete synchronously');
  return [...headers];
}
