// The data explorer's build: `npm run build` runs it after `nest build` (which empties dist/),
// writing index.html, favicon.svg and content-hashed assets/ into dist/apps/web, where the API
// serves them (apps/api/src/explorer). Everything ships in the build: no CDN, no inline script
// or style (the page runs under a strict CSP), no module-preload polyfill (it would be inline).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  publicDir: 'public',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../../dist/apps/web', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    reportCompressedSize: false,
  },
});
