/**
 * A lab for how long Chromium keeps a Chrome MV3 extension service worker alive with a transport
 * open: throwaway MV3 extensions (manifest + service worker, written to a temp dir), each in its own
 * Debian Chromium (new headless, own profile), against one node:http + `ws` server on 127.0.0.1 that
 * offers an SSE-format stream, a long poll and a WebSocket, and logs what it sees.
 *
 * No automation is attached to the workers: Chromium is spawned directly (no `--enable-automation`)
 * and a browser-level CDP connection only *discovers* targets (`Target.setDiscoverTargets`, never
 * attaches), so the lab sees service-worker targets come and go without keeping them alive
 * (DevTools attached to a worker turns its idle timeout off).
 *
 * Every worker start runs the script's top level: a fresh random instance id, one POST /hello, then
 * it opens its scenario's transport. After that the worker sends nothing of its own (no heartbeat
 * fetches, which could themselves count as activity); its liveness is what the server sees (the
 * stream or socket closing, polls stopping, a new instance id) and the CDP targets.
 *
 * Used by `test/e2e/mv3-keepalive.test.ts` and the longer research run `bench/mv3-keepalive.ts`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import { chromiumExtensionArgs } from './chromium';
import { poll } from './poll';
import { listenOnLoopback } from './listen';

export type Transport = 'ws' | 'sse' | 'poll' | 'none';

export interface Scenario {
  readonly name: string;
  readonly transport: Transport;
  /** Seconds between server messages (ws, sse) or how long the server holds a poll (poll). */
  readonly every: number;
  /** A `chrome.alarms` alarm with this period in minutes (0.5, Chrome's minimum, or more); each worker start reopens the transport. */
  readonly alarmMinutes?: number;
  /** On each message received, call a trivial extension API (`chrome.runtime.getPlatformInfo`). */
  readonly apiCallOnMessage?: boolean;
  readonly what?: string;
}

export type LabEvent =
  | 'hello'
  | 'sse-open'
  | 'sse-close'
  | 'poll-open'
  | 'poll-answer'
  | 'poll-aborted'
  | 'ws-open'
  | 'ws-close'
  | 'cdp-sw-created'
  | 'cdp-sw-destroyed'
  | 'forced-stop';

export interface LabEntry {
  /** Seconds since the lab started. */
  readonly t: number;
  /** Scenario name. */
  readonly s: string;
  readonly ev: LabEvent;
  /** Worker instance id (the server's events). */
  readonly i?: string;
  /** Messages the server had sent on a stream or socket when it closed. */
  readonly n?: number;
}

export interface KeepaliveLab {
  readonly origin: string;
  readonly log: readonly LabEntry[];
  /** The Chromium version string. */
  version(): Promise<string>;
  /** Writes the scenario's extension and starts a Chromium with it. */
  launch(scenario: Scenario): Promise<void>;
  /**
   * Stops the scenario's service worker the way Chrome may at any time (CDP
   * `ServiceWorker.stopAllWorkers` through a session on its blank page, not on the worker).
   */
  stopWorker(name: string): Promise<void>;
  /** Resolves with the first entry matching, waiting up to `timeoutMs`. */
  waitFor(what: string, match: (e: LabEntry) => boolean, timeoutMs: number): Promise<LabEntry>;
  /** Seconds since the lab started. */
  now(): number;
  close(): Promise<void>;
}

function workerScript(scenario: Scenario, origin: string): string {
  return `
const S = ${JSON.stringify(scenario)};
const ORIGIN = ${JSON.stringify(origin)};
const I = Math.random().toString(36).slice(2, 8);
const q = (ev) => ORIGIN + '/' + ev + '?s=' + S.name + '&i=' + I;
async function onMessage() { if (S.apiCallOnMessage) await chrome.runtime.getPlatformInfo(); }
if (S.alarmMinutes) {
  // The wake-up itself is the point: the top level below has reopened the transport.
  chrome.alarms.onAlarm.addListener(() => {});
  chrome.alarms.get('keepalive').then((a) => { if (!a) chrome.alarms.create('keepalive', { periodInMinutes: S.alarmMinutes }); });
}
async function sse() {
  for (;;) {
    try {
      const res = await fetch(q('sse'), { headers: { accept: 'text/event-stream' }, cache: 'no-store' });
      const reader = res.body.getReader();
      for (;;) { const { done } = await reader.read(); if (done) break; await onMessage(); }
    } catch (e) {}
    await new Promise((r) => setTimeout(r, 1000));
  }
}
async function poll() {
  for (;;) {
    try { const res = await fetch(q('poll'), { cache: 'no-store' }); await res.text(); await onMessage(); }
    catch (e) { await new Promise((r) => setTimeout(r, 1000)); }
  }
}
function ws() {
  const socket = new WebSocket(ORIGIN.replace('http', 'ws') + '/ws?s=' + S.name + '&i=' + I);
  socket.onmessage = () => { onMessage(); };
  socket.onclose = () => setTimeout(ws, 1000);
}
fetch(q('hello'), { method: 'POST', body: '' }).catch(() => {});
if (S.transport === 'sse') sse(); else if (S.transport === 'poll') poll(); else if (S.transport === 'ws') ws();
`;
}

function writeExtension(dir: string, scenario: Scenario, origin: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      manifest_version: 3,
      name: `keepalive ${scenario.name}`,
      version: '1.0',
      background: { service_worker: 'sw.js' },
      permissions: scenario.alarmMinutes ? ['alarms'] : [],
      host_permissions: [`${origin}/*`],
    }),
  );
  writeFileSync(join(dir, 'sw.js'), workerScript(scenario, origin));
}

export async function startKeepaliveLab(options: { readonly verbose?: boolean } = {}): Promise<KeepaliveLab> {
  const executable = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  const t0 = Date.now();
  const now = (): number => Math.round((Date.now() - t0) / 100) / 10;
  const log: LabEntry[] = [];
  const record = (s: string, ev: LabEvent, i?: string, n?: number): void => {
    const entry: LabEntry = { t: now(), s, ev, ...(i ? { i } : {}), ...(n !== undefined ? { n } : {}) };
    log.push(entry);
    if (options.verbose) console.log(JSON.stringify(entry));
  };
  const scenarios = new Map<string, Scenario>();
  const timers = new Set<NodeJS.Timeout>();
  const params = (req: IncomingMessage): { s: string; i: string; path: string } => {
    const u = new URL(req.url ?? '/', 'http://x');
    return { s: u.searchParams.get('s') ?? '?', i: u.searchParams.get('i') ?? '?', path: u.pathname };
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const { s, i, path } = params(req);
    const scenario = scenarios.get(s);
    if (path === '/hello') {
      record(s, 'hello', i);
      req.resume();
      res.end('ok');
    } else if (path === '/sse' && scenario) {
      record(s, 'sse-open', i);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.write(': open\n\n');
      let n = 0;
      const timer = setInterval(() => res.write(`: ping ${++n}\n\n`), scenario.every * 1000);
      timers.add(timer);
      res.on('close', () => {
        clearInterval(timer);
        timers.delete(timer);
        record(s, 'sse-close', i, n);
      });
    } else if (path === '/poll' && scenario) {
      record(s, 'poll-open', i);
      let answered = false;
      const timer = setTimeout(() => {
        answered = true;
        timers.delete(timer);
        res.end('[]');
        record(s, 'poll-answer', i);
      }, scenario.every * 1000);
      timers.add(timer);
      res.on('close', () => {
        if (answered) return;
        clearTimeout(timer);
        timers.delete(timer);
        record(s, 'poll-aborted', i);
      });
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  const wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (socket: WebSocket, req: IncomingMessage) => {
    const { s, i } = params(req);
    record(s, 'ws-open', i);
    let n = 0;
    const timer = setInterval(() => socket.send(`ping ${++n}`), (scenarios.get(s)?.every ?? 20) * 1000);
    timers.add(timer);
    socket.on('close', () => {
      clearInterval(timer);
      timers.delete(timer);
      record(s, 'ws-close', i, n);
    });
  });
  const origin = `http://127.0.0.1:${await listenOnLoopback(server)}`;
  const root = mkdtempSync(join(tmpdir(), 'mv3-keepalive-'));
  const browsers: Array<{ proc: ChildProcess; cdp?: WebSocket }> = [];
  const senders = new Map<string, (method: string, params?: object, sessionId?: string) => Promise<Record<string, unknown>>>();

  const waitFor = (what: string, match: (e: LabEntry) => boolean, timeoutMs: number): Promise<LabEntry> =>
    poll(what, () => log.find(match), { timeoutMs, pause: () => new Promise((r) => setTimeout(r, 100)) });

  return {
    origin,
    log,
    now,
    waitFor,
    version: () =>
      new Promise<string>((resolve) => {
        const p = spawn(executable, ['--version']);
        let out = '';
        p.stdout.on('data', (d) => (out += d));
        p.on('close', () => resolve(out.trim()));
      }),
    async launch(scenario) {
      scenarios.set(scenario.name, scenario);
      const ext = join(root, scenario.name, 'ext');
      const profile = join(root, scenario.name, 'profile');
      writeExtension(ext, scenario, origin);
      mkdirSync(profile, { recursive: true });
      const proc = spawn(
        executable,
        ['--headless', `--user-data-dir=${profile}`, ...chromiumExtensionArgs(ext), 'about:blank'],
        { stdio: 'ignore' },
      );
      const browser: { proc: ChildProcess; cdp?: WebSocket } = { proc };
      browsers.push(browser);
      const portFile = join(profile, 'DevToolsActivePort');
      // Chromium may be caught between creating the file and writing both lines: wait for both.
      const [port, wsPath] = await poll(`${scenario.name}: DevToolsActivePort`, () => {
        const [written, path] = existsSync(portFile) ? readFileSync(portFile, 'utf8').split('\n') : [];
        return written && path ? ([written, path] as const) : undefined;
      });
      const cdp = new WebSocket(`ws://127.0.0.1:${port}${wsPath}`);
      browser.cdp = cdp;
      const workers = new Set<string>();
      const pending = new Map<number, (result: Record<string, unknown>) => void>();
      let nextId = 1;
      senders.set(
        scenario.name,
        (method, params = {}, sessionId) =>
          new Promise((resolve) => {
            const id = nextId++;
            pending.set(id, resolve);
            cdp.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
          }),
      );
      cdp.on('message', (data) => {
        const msg = JSON.parse(String(data)) as {
          id?: number;
          result?: Record<string, unknown>;
          method?: string;
          params?: { targetInfo?: { type: string; targetId: string }; targetId?: string };
        };
        if (msg.id !== undefined) {
          pending.get(msg.id)?.(msg.result ?? {});
          pending.delete(msg.id);
        } else if (msg.method === 'Target.targetCreated' && msg.params?.targetInfo?.type === 'service_worker') {
          workers.add(msg.params.targetInfo.targetId);
          record(scenario.name, 'cdp-sw-created');
        } else if (msg.method === 'Target.targetDestroyed' && msg.params?.targetId && workers.delete(msg.params.targetId)) {
          record(scenario.name, 'cdp-sw-destroyed');
        }
      });
      await new Promise<void>((resolve, reject) => {
        cdp.once('open', () => resolve());
        cdp.once('error', reject);
      });
      await senders.get(scenario.name)!('Target.setDiscoverTargets', { discover: true });
    },
    async stopWorker(name) {
      const send = senders.get(name)!;
      const { targetInfos } = (await send('Target.getTargets')) as { targetInfos: Array<{ type: string; targetId: string }> };
      const page = targetInfos.find((info) => info.type === 'page')!;
      const { sessionId } = (await send('Target.attachToTarget', { targetId: page.targetId, flatten: true })) as { sessionId: string };
      record(name, 'forced-stop');
      await send('ServiceWorker.enable', {}, sessionId);
      await send('ServiceWorker.stopAllWorkers', {}, sessionId);
      await send('Target.detachFromTarget', { sessionId });
    },
    async close() {
      const exits = browsers.map(
        ({ proc, cdp }) =>
          new Promise<void>((resolve) => {
            cdp?.close();
            if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
            proc.once('exit', () => resolve());
            proc.kill('SIGTERM');
          }),
      );
      await Promise.all(exits);
      for (const timer of timers) clearTimeout(timer);
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // Chromium's helper processes may still be writing to a profile just after the browser exits.
      rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
}
