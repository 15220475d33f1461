/**
 * Builds the web dashboard the server serves at `/`: `dashboard/` in, `.output/dashboard/` out
 * (`npm run build:dashboard`). The hub worker is bundled from `new SharedWorker(new URL(...))` as
 * an ES module worker. Nothing is inlined into `index.html` (no module-preload polyfill, assets as
 * files), so the server's CSP can forbid inline scripts and styles.
 */
import preact from '@preact/preset-vite';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [preact()],
  resolve: { alias: { '@': repoRoot } },
  worker: { format: 'es' },
  build: {
    outDir: fileURLToPath(new URL('../.output/dashboard', import.meta.url)),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
