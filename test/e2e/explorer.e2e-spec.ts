import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EXPLORER_DIRS,
  explorerMiddleware,
  findExplorerDir,
  isExplorerPath,
  SYMBOLS_PRELOAD,
} from '../../apps/api/src/explorer/explorer.static';
import { TestApp } from './support/test-app';

/**
 * GET / serves the explorer that `npm run build` put in dist/apps/web (the jest global setup
 * builds it): caching and CSP as a browser and a proxy see them, and the API's own headers
 * unchanged beside it.
 */
describe('the data explorer at /', () => {
  const t = new TestApp('sqlite');
  beforeAll(() => t.start());
  afterAll(() => t.stop());

  const built = findExplorerDir()!;
  /** The page's entry chunk (lightweight-charts is a chunk of its own, imported from it). */
  const script = () =>
    readdirSync(join(built, 'assets')).find((f) => f.startsWith('index-') && f.endsWith('.js'))!;

  it('is built where the server looks for it', () => {
    expect(built).toBe(EXPLORER_DIRS.find((d) => d === built));
  });

  it('GET / is the page: HTML, revalidated on every load (ETag → 304), its own CSP', async () => {
    const res = await t.http.get('/').expect(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.text).toContain('<title>Historical Data Explorer</title>');
    expect(res.text).toContain(`/assets/${script()}`);
    const csp = res.headers['content-security-policy'];
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=/);

    await t.http.get('/').set('If-None-Match', res.headers.etag).expect(304);
    await t.http.get('/index.html').expect(200);
  });

  it('index.html preloads the symbol list the page asks for first (reads need no key)', async () => {
    const res = await t.http.get('/').expect(200);
    expect(res.text).toMatch(SYMBOLS_PRELOAD);
    // The very URL main.ts fetches first (fetchSymbols, page 1): anything else is a second request.
    const link = SYMBOLS_PRELOAD.exec(res.text)![0];
    expect(link).toContain('href="/api/v1/symbols?page=1&amp;limit=1000"');
    expect(link).toContain('crossorigin="anonymous"');
  });

  it('hashed assets are cached for a year as immutable; gzip when asked', async () => {
    const res = await t.http.get(`/assets/${script()}`).set('Accept-Encoding', 'gzip').expect(200);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.headers['content-encoding']).toBe('gzip');
  });

  it('a missing asset or a path out of the folder is the API 404 problem', async () => {
    for (const path of ['/assets/nope.js', '/assets/..%2F..%2Fpackage.json', '/assets/.hidden']) {
      const res = await t.http.get(path).expect(404);
      expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(res.body.code).toBe('NOT_FOUND');
    }
  });

  it('the API keeps its own CSP and headers', async () => {
    const res = await t.http.get('/api/v1/symbols').expect(200);
    expect(res.headers['content-security-policy']).toBe(
      "default-src 'none';frame-ancestors 'none'",
    );
    expect(isExplorerPath('/api/v1/symbols')).toBe(false);
    expect(isExplorerPath('/docs')).toBe(false);
    expect(isExplorerPath('/assets/index-abc.js')).toBe(true);
  });
});

describe('the data explorer when reads need a key (AUTH_READS=true)', () => {
  const t = new TestApp('sqlite', {
    AUTH_READS: 'true',
    API_KEYS: 'reader:explorer-read-key-000001:read',
  });
  beforeAll(() => t.start());
  afterAll(() => t.stop());

  it('index.html has no keyless preload of the symbol list (the page would reuse its 401)', async () => {
    const res = await t.http.get('/').expect(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.text).toContain('<title>Historical Data Explorer</title>');
    expect(res.text).not.toContain('rel="preload"');
    expect(res.text).not.toMatch(SYMBOLS_PRELOAD);
    await t.http.get('/').set('If-None-Match', res.headers.etag).expect(304);
    await t.http.get('/index.html').expect(200);
  });
});

describe('explorer without a build', () => {
  it('is not served: no router, and findExplorerDir needs index.html and assets/', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hd-web-'));
    try {
      expect(findExplorerDir([join(dir, 'missing')])).toBeUndefined();
      writeFileSync(join(dir, 'index.html'), '<!doctype html>');
      expect(findExplorerDir([dir])).toBeUndefined();
      mkdirSync(join(dir, 'assets'));
      expect(findExplorerDir([join(dir, 'missing'), dir])).toBe(dir);
      expect(explorerMiddleware([join(dir, 'missing')])).toBeUndefined();
      expect(explorerMiddleware([dir])).toBeDefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
