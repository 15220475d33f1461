/**
 * What the overlay content script costs every web page: its evaluation in the page's renderer, from
 * a Chrome trace, beside an empty content script, and its size gzipped. Two minimal MV3 extensions
 * that differ only in the script they declare for every http page at `document_idle`: the built
 * `alert-overlay.js` (`npm run build` first) and an empty file, so what both share (matching the
 * page, creating the extension's isolated world) cancels out. Each browser loads a small static page
 * from 127.0.0.1 over and over, interleaved; for each load the trace's `EvaluateScript` events for
 * the extension's script are summed (compiling and running it, in its world). Medians.
 *
 * `node --import tsx bench/content-script.ts` runs it alone; `BENCH_PAGES` (default 25) sizes it.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { CHROME_EXTENSION_DIR } from '../test/support/chromium';
import { BROWSER_PATHS, CHROMIUM_ARGS } from '../test/support/puppeteer';
import { envInt, progress, runAlone } from './browser/alone';
import { sleep } from './pacing';
import { median } from './stats';
import { loadAverage } from './browser/profile-cpu';
import type { Row } from './table';

export const CONTENT_SCRIPT_TITLE = 'Content script: evaluation per page load (Chrome trace) and size, the overlay script vs an empty content script';

const SCRIPT = 'alert-overlay.js';
const PAGE = '<!doctype html><html><head><title>A page</title></head><body><h1>A page</h1><p>Some text.</p></body></html>';
/** After `load`, time for `document_idle` scripts to run before the trace stops. */
const IDLE_MS = 300;

interface Loaded {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly cdp: CDPSession;
  close(): Promise<void>;
}

/** A browser with a one-script extension made from `scriptFile` (its contents, or empty). */
async function launchWithScript(scriptFile: string | null): Promise<Loaded> {
  const extensionDir = mkdtempSync(join(tmpdir(), 'switchboard-cs-'));
  const profileDir = mkdtempSync(join(tmpdir(), 'switchboard-cs-profile-'));
  if (scriptFile) copyFileSync(scriptFile, join(extensionDir, SCRIPT));
  else writeFileSync(join(extensionDir, SCRIPT), '');
  const manifest = {
    manifest_version: 3,
    name: scriptFile ? 'overlay script' : 'empty script',
    version: '1',
    content_scripts: [{ matches: ['http://*/*'], run_at: 'document_idle', js: [SCRIPT] }],
  };
  writeFileSync(join(extensionDir, 'manifest.json'), JSON.stringify(manifest));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: BROWSER_PATHS.chromium,
    headless: true,
    args: [...CHROMIUM_ARGS, `--disable-extensions-except=${extensionDir}`, `--load-extension=${extensionDir}`],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    cdp: await context.newCDPSession(page),
    async close() {
      await context.close();
      rmSync(extensionDir, { recursive: true, force: true });
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}

interface TraceEvent {
  readonly name: string;
  readonly ph: string;
  readonly dur?: number;
  readonly args?: { readonly data?: { readonly url?: string } };
}

/** Loads `url` under a trace; the ms the extension's script took to evaluate there. */
async function tracedLoad(loaded: Loaded, url: string): Promise<number> {
  const events: TraceEvent[] = [];
  // The protocol types trace events as string maps; they are the JSON the trace holds.
  const collect = (event: { value: ReadonlyArray<Record<string, unknown>> }): void => void events.push(...(event.value as unknown as TraceEvent[]));
  loaded.cdp.on('Tracing.dataCollected', collect);
  const complete = new Promise<void>((resolve) => loaded.cdp.once('Tracing.tracingComplete', () => resolve()));
  await loaded.cdp.send('Tracing.start', {
    transferMode: 'ReportEvents',
    traceConfig: { includedCategories: ['devtools.timeline', 'v8.execute'] },
  });
  await loaded.page.goto(url, { waitUntil: 'load' });
  await sleep(IDLE_MS);
  await loaded.cdp.send('Tracing.end');
  await complete;
  loaded.cdp.off('Tracing.dataCollected', collect);
  const ours = events.filter((event) => event.name === 'EvaluateScript' && event.ph === 'X' && event.args?.data?.url?.endsWith(`/${SCRIPT}`));
  if (ours.length === 0) throw new Error(`content-script bench: no EvaluateScript for ${SCRIPT} in the trace of ${url}`);
  return ours.reduce((sum, event) => sum + (event.dur ?? 0), 0) / 1000;
}

export async function contentScriptRows(): Promise<Row[]> {
  const pages = envInt('BENCH_PAGES', 25);
  const built = join(CHROME_EXTENSION_DIR, SCRIPT);
  const size = readFileSync(built);
  const server = createServer((_request, response) => {
    response.setHeader('content-type', 'text/html; charset=utf-8');
    response.end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  const overlay = await launchWithScript(built);
  const empty = await launchWithScript(null);
  const times = { overlay: [] as number[], empty: [] as number[] };
  try {
    for (let i = 0; i < pages; i += 1) {
      if (i % 10 === 0) progress(`content script: page ${i + 1}/${pages}`);
      // A new path each time, so nothing is served from the page cache.
      const url = `http://127.0.0.1:${address.port}/page-${i}`;
      for (const [key, loaded] of i % 2 === 0 ? ([['overlay', overlay], ['empty', empty]] as const) : ([['empty', empty], ['overlay', overlay]] as const)) {
        times[key].push(await tracedLoad(loaded, url));
      }
    }
  } finally {
    await overlay.close();
    await empty.close();
    server.close();
  }
  const overlayMs = median(times.overlay);
  const emptyMs = median(times.empty);
  const load = loadAverage().toFixed(2);
  return [
    {
      script: `${SCRIPT} (Switchboard)`,
      'evaluate ms / page (median)': Number(overlayMs.toFixed(3)),
      'above empty, ms': (overlayMs - emptyMs).toFixed(3),
      bytes: size.length,
      'gzipped bytes': gzipSync(size).length,
      'load avg': load,
    },
    { script: 'empty content script', 'evaluate ms / page (median)': Number(emptyMs.toFixed(3)), 'above empty, ms': '0', bytes: 0, 'gzipped bytes': gzipSync(Buffer.alloc(0)).length, 'load avg': load },
  ];
}

await runAlone(import.meta.url, CONTENT_SCRIPT_TITLE, contentScriptRows);
