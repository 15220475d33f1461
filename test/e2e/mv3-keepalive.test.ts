/**
 * What keeps a Chrome MV3 extension service worker alive, in real Chromium: throwaway extensions
 * (not Switchboard's) each in its own headless Chromium, no automation attached to the workers, all
 * in parallel against one local server (`test/support/mv3-keepalive.ts`). It checks the behaviour
 * `docs/mv3-keepalive.md` builds on, so a Chromium that changes it fails here:
 *   - with nothing open, the worker is stopped;
 *   - an open streaming `fetch` (SSE comments every 5 s) does not keep it: the worker is stopped
 *     and its stream cut while the server is still sending, and only a new start reopens it;
 *   - neither do long polls answered and re-issued: the worker is stopped with a poll pending;
 *   - WebSocket messages every 5 s keep it, and so does an extension API call on each SSE message;
 *   - a `chrome.alarms` alarm starts a stopped worker again, which reopens its stream (a 1 min
 *     alarm here, so that the worker is stopped first: a 30 s one keeps it running, see the doc).
 * Waits are on events (bounded), not on durations; Chromium's idle timeout is 30 s, so the file
 * takes about a minute. The long run with figures is `bench/mv3-keepalive.ts`.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startKeepaliveLab, type KeepaliveLab, type LabEntry, type Scenario } from '../support/mv3-keepalive';

const IDLE: Scenario = { name: 'idle', transport: 'none', every: 0 };
const SSE: Scenario = { name: 'sse', transport: 'sse', every: 5 };
const POLL: Scenario = { name: 'poll', transport: 'poll', every: 12 };
const WS: Scenario = { name: 'ws', transport: 'ws', every: 5 };
const SSE_API: Scenario = { name: 'sse-api', transport: 'sse', every: 5, apiCallOnMessage: true };
/** A 1 min alarm: the worker is stopped at its idle timeout before the first alarm. */
const SSE_ALARM: Scenario = { name: 'sse-alarm', transport: 'sse', every: 5, alarmMinutes: 1 };
/** Bound on each wait: the alarm's minute, an idle timeout, and room for a slow machine. */
const WAIT_MS = 100_000;

let lab: KeepaliveLab;
const of = (s: Scenario, ev: LabEntry['ev']): LabEntry[] => lab.log.filter((e) => e.s === s.name && e.ev === ev);
const stopped = (s: Scenario): Promise<LabEntry> =>
  lab.waitFor(`${s.name}: its worker stopped`, (e) => e.s === s.name && e.ev === 'cdp-sw-destroyed', WAIT_MS);

beforeAll(async () => {
  lab = await startKeepaliveLab();
  for (const s of [IDLE, SSE, POLL, WS, SSE_API, SSE_ALARM]) await lab.launch(s);
});
afterAll(async () => {
  await lab?.close();
});

describe('an MV3 service worker in Chromium', { timeout: 150_000 }, () => {
  test('with nothing open, it is stopped', async () => {
    await lab.waitFor('idle: hello', (e) => e.s === IDLE.name && e.ev === 'hello', WAIT_MS);
    await stopped(IDLE);
    expect(of(IDLE, 'hello')).toHaveLength(1);
  });

  test('an open streaming fetch does not keep it: stopped mid-stream, the stream cut', async () => {
    await stopped(SSE);
    const [opened, ...more] = of(SSE, 'sse-open');
    const close = of(SSE, 'sse-close')[0];
    expect(more).toEqual([]);
    // The server had sent comments on the stream, and it was the client that went away.
    expect(close?.i).toBe(opened?.i);
    expect(close?.n).toBeGreaterThan(0);
  });

  test('long polls do not keep it: answered polls, then stopped with one pending', async () => {
    await stopped(POLL);
    expect(of(POLL, 'poll-answer').length).toBeGreaterThan(0);
    expect(of(POLL, 'poll-aborted')).toHaveLength(1);
    expect(new Set(of(POLL, 'poll-open').map((e) => e.i)).size).toBe(1);
  });

  test('an alarm starts a stopped worker again and reopens its stream', async () => {
    const first = await lab.waitFor('sse-alarm: first stream', (e) => e.s === SSE_ALARM.name && e.ev === 'sse-open', WAIT_MS);
    await lab.waitFor('sse-alarm: stream cut', (e) => e.s === SSE_ALARM.name && e.ev === 'sse-close', WAIT_MS);
    const again = await lab.waitFor(
      'sse-alarm: stream reopened by a new instance',
      (e) => e.s === SSE_ALARM.name && e.ev === 'sse-open' && e.i !== first.i,
      WAIT_MS,
    );
    expect(of(SSE_ALARM, 'hello').map((e) => e.i)).toContain(again.i);
  });

  test('WebSocket messages keep it, and so does an extension API call on each SSE message', async () => {
    // By now the idle, streaming and polling workers were stopped and the alarm one restarted.
    await Promise.all([stopped(IDLE), stopped(SSE), stopped(POLL)]);
    for (const s of [WS, SSE_API]) {
      expect(of(s, 'cdp-sw-destroyed'), s.name).toEqual([]);
      expect(of(s, 'hello'), s.name).toHaveLength(1);
      expect([...of(s, 'ws-close'), ...of(s, 'sse-close')], s.name).toEqual([]);
    }
  });
});
