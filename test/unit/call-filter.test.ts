/**
 * Only calls of `HubApi` methods reach the hub's Comlink surface: the filter's verdicts, then
 * hostile Comlink messages (GET/SET on arbitrary paths, `__proto__` / `constructor` / `prototype`,
 * CONSTRUCT, ENDPOINT) sent raw, as code in a content script or a compromised view would, at the
 * two servers the hosts run: a `runtime.Port` endpoint with Chrome's JSON and Firefox's structured
 * copies (the extension background), and the SharedWorker's `MessagePort` server. Each must be
 * answered with `RefusedCall`, leave `Object.prototype` and the surface untouched, and leave good
 * calls working.
 */
import * as Comlink from 'comlink';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { ok } from '../../lib/errors';
import { filterCalls, refusalOf } from '../../lib/rpc/call-filter';
import { HUB_METHOD_NAMES, type HubApi } from '../../lib/rpc/hub-api';
import { createPortEndpoint, type PortEndpoint } from '../../lib/rpc/runtime-port-endpoint';
import type { Settings } from '../../lib/rpc/settings';
import type { Hub, HubSession } from '../../worker/core/hub';
import { createPipeAcceptor } from '../../worker/hosts/extension/pipe-acceptor';
import { createMessagePortServer } from '../../worker/hosts/shared-worker/message-port-server';
import { createTabSessions } from '../../worker/hosts/shared-worker/tab-sessions';
import { createRecordingLogger } from '../support/fake-socket';
import { createPortPair, type FakePort, type Serialisation } from '../support/runtime-ports';

const METHODS: ReadonlySet<string> = new Set(HUB_METHOD_NAMES);
const SECRET: Settings = { serverUrl: 'http://127.0.0.1:8787', token: 'the-token' };
const raw = (value: unknown) => ({ type: 'RAW', value });

/** Comlink requests no view of the hub ever sends, each with what it would do unfiltered. */
const HOSTILE: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
  ['SET through __proto__ (pollutes Object.prototype)', { type: 'SET', path: ['__proto__', 'polluted'], value: raw('yes') }],
  ['SET through constructor.prototype', { type: 'SET', path: ['constructor', 'prototype', 'polluted'], value: raw('yes') }],
  ['SET replacing a method', { type: 'SET', path: ['getSettings'], value: raw(null) }],
  ['GET of a method', { type: 'GET', path: ['getSettings'] }],
  ['GET of the whole surface', { type: 'GET', path: [] }],
  ['APPLY through __proto__', { type: 'APPLY', path: ['__proto__', '__defineSetter__'], argumentList: [raw('polluted'), raw(null)] }],
  ['APPLY of constructor', { type: 'APPLY', path: ['constructor'], argumentList: [] }],
  ['APPLY of an inherited method', { type: 'APPLY', path: ['toString'], argumentList: [] }],
  ['APPLY of a method of a method', { type: 'APPLY', path: ['getSettings', 'call'], argumentList: [] }],
  ['CONSTRUCT', { type: 'CONSTRUCT', path: ['constructor'], argumentList: [] }],
  ['ENDPOINT (a new channel to the surface)', { type: 'ENDPOINT' }],
  ['RELEASE of a path', { type: 'RELEASE', path: ['__proto__'] }],
  ['a thrown error as an argument', { type: 'APPLY', path: ['overlay'], argumentList: [{ type: 'HANDLER', name: 'throw', value: { isError: true, value: { message: 'x' } } }] }],
  ['an unknown handler as an argument', { type: 'APPLY', path: ['overlay'], argumentList: [{ type: 'HANDLER', name: 'nope', value: 1 }] }],
  ['a proxy that is not a port', { type: 'APPLY', path: ['listen'], argumentList: [{ type: 'HANDLER', name: 'proxy', value: {} }] }],
  ['an argument list that is not a list', { type: 'APPLY', path: ['overlay'], argumentList: 'abc' }],
];

afterEach(() => {
  // Only reached when a test fails: keep the damage out of the other tests.
  delete (Object.prototype as Record<string, unknown>).polluted;
});

function expectUnpolluted(): void {
  expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

describe('refusalOf', () => {
  test.each([
    ['a call of a method', { id: '1', type: 'APPLY', path: ['getSettings'], argumentList: [] }],
    ['a call with plain arguments', { id: '1', type: 'APPLY', path: ['dismissOverlay'], argumentList: [raw('feed:ann/e/1'), raw(10)] }],
    ['a call without an argument list', { id: '1', type: 'APPLY', path: ['status'] }],
    ['a release of the proxy', { id: '1', type: 'RELEASE', path: [] }],
    ['a release without a path', { id: '1', type: 'RELEASE' }],
  ])('accepts %s', (_, message) => {
    expect(refusalOf(message, METHODS)).toBeNull();
  });

  test('accepts a Comlink.proxy port as an argument', () => {
    const { port1, port2 } = new MessageChannel();
    expect(refusalOf({ id: '1', type: 'APPLY', path: ['listen'], argumentList: [{ type: 'HANDLER', name: 'proxy', value: port1 }] }, METHODS)).toBeNull();
    port1.close();
    port2.close();
  });

  test.each(HOSTILE)('refuses %s', (_, message) => {
    expect(refusalOf({ id: '1', ...message }, METHODS)).toEqual(expect.any(String));
  });

  test.each([[null], ['APPLY'], [42], [{ type: 'switchboard:bye' }], [{ id: '1', type: 'APPLY', path: ['status'], argumentList: [raw(1), raw(2), raw(3), raw(4), raw(5)] }]])(
    'refuses %j',
    (message) => {
      expect(refusalOf(message, METHODS)).toEqual(expect.any(String));
    },
  );

  test('names no method the table does not have, own names only', () => {
    for (const name of ['__proto__', 'constructor', 'hasOwnProperty', 'valueOf', 'close']) {
      expect(refusalOf({ id: '1', type: 'APPLY', path: [name] }, METHODS)).toBe('the hub has no such method');
    }
  });
});

/** A hub surface whose settings hold a token, and what its methods were asked. */
function fakeSurface(): { surface: HubApi; calls: string[] } {
  const calls: string[] = [];
  const methods = Object.fromEntries(
    HUB_METHOD_NAMES.map((name) => [
      name,
      async (...args: unknown[]) => {
        calls.push(name);
        if (name === 'getSettings') return SECRET;
        if (name === 'saveSettings') return ok(args[0]);
        return null;
      },
    ]),
  );
  return { surface: methods as unknown as HubApi, calls };
}

/** What came back on a raw port for each request id. */
function answersOn(subscribe: (listener: (message: unknown) => void) => void): Map<string, Record<string, unknown>> {
  const answers = new Map<string, Record<string, unknown>>();
  subscribe((message) => {
    const record = message as Record<string, unknown>;
    if (typeof record.id === 'string') answers.set(record.id, record);
  });
  return answers;
}

const refused = (reason: RegExp | string = /^Refused: /) => ({
  type: 'HANDLER',
  name: 'throw',
  value: { isError: true, value: { name: 'RefusedCall', message: expect.stringMatching(reason) } },
});

describe.each<Serialisation>(['json', 'structured'])('the background endpoint (runtime.Port, %s copies)', (serialisation) => {
  const endpoints: PortEndpoint[] = [];
  afterEach(() => {
    for (const endpoint of endpoints.splice(0)) endpoint.close();
  });

  /** The background side as `host.ts` wires it; the other end is left raw, as a hostile script holds it. */
  function serve(): { attacker: FakePort; calls: string[]; surface: HubApi } {
    const [attacker, background] = createPortPair('switchboard-hub', serialisation);
    const endpoint = createPortEndpoint(background, { pipes: createPipeAcceptor().pipes });
    endpoints.push(endpoint);
    const { surface, calls } = fakeSurface();
    Comlink.expose(surface, filterCalls(endpoint, HUB_METHOD_NAMES));
    return { attacker, calls, surface };
  }

  test('hostile requests are refused and change nothing', async () => {
    const { attacker, calls, surface } = serve();
    const answers = answersOn((listener) => attacker.onMessage.addListener(listener));
    const before = { ...surface };
    HOSTILE.forEach(([, message], i) => attacker.postMessage({ id: `h${i}`, ...message }));
    await vi.waitFor(() => expect(answers.size).toBe(HOSTILE.length), { timeout: 2_000, interval: 5 });
    for (const answer of answers.values()) expect(answer).toMatchObject(refused());
    expectUnpolluted();
    expect(calls).toEqual([]);
    expect({ ...surface }).toEqual(before);
  });

  test('a good call after them is answered', async () => {
    const { attacker } = serve();
    const answers = answersOn((listener) => attacker.onMessage.addListener(listener));
    attacker.postMessage({ id: 'bad', type: 'SET', path: ['__proto__', 'polluted'], value: raw('yes') });
    attacker.postMessage({ id: 'good', type: 'APPLY', path: ['status'], argumentList: [] });
    await vi.waitFor(() => expect(answers.get('good')).toEqual({ id: 'good', type: 'RAW', value: null }), { timeout: 2_000, interval: 5 });
    expect(answers.get('bad')).toMatchObject(refused());
    expectUnpolluted();
  });

  test('a request with no id is dropped without an answer', async () => {
    const { attacker } = serve();
    const answers = answersOn((listener) => attacker.onMessage.addListener(listener));
    attacker.postMessage({ type: 'SET', path: ['__proto__', 'polluted'], value: raw('yes') });
    // The answer to this one comes after anything the first could have caused.
    attacker.postMessage({ id: 'later', type: 'APPLY', path: ['status'] });
    await vi.waitFor(() => expect(answers.has('later')).toBe(true), { timeout: 2_000, interval: 5 });
    expect([...answers.keys()]).toEqual(['later']);
    expectUnpolluted();
  });
});

describe("the dashboard's MessagePort server", () => {
  test('a view posting hostile requests gets RefusedCall, the worker stays clean, good calls work', async () => {
    const { surface, calls } = fakeSurface();
    const session = { ...surface, close: () => {} } as HubSession;
    const hub = { openSession: () => session } as unknown as Hub;
    const server = createMessagePortServer({
      hub: async () => hub,
      tabs: createTabSessions({ locks: undefined, log: createRecordingLogger() }),
      log: createRecordingLogger(),
    });
    const { port1: view, port2: worker } = new MessageChannel();
    server.serve(worker);
    const answers = answersOn((listener) => view.addEventListener('message', (event) => listener(event.data)));
    view.start();
    HOSTILE.forEach(([, message], i) => view.postMessage({ id: `h${i}`, ...message }));
    view.postMessage({ id: 'good', type: 'APPLY', path: ['getSettings'], argumentList: [] });
    await vi.waitFor(() => expect(answers.size).toBe(HOSTILE.length + 1), { timeout: 2_000, interval: 5 });
    for (const [id, answer] of answers) {
      if (id === 'good') expect(answer).toEqual({ id, type: 'RAW', value: SECRET });
      else expect(answer).toMatchObject(refused());
    }
    expectUnpolluted();
    expect(calls).toEqual(['getSettings']);
    view.close();
  });
});

describe('filterCalls', () => {
  test('passes start() through, and a removed listener hears nothing more', async () => {
    const { port1, port2 } = new MessageChannel();
    const filtered = filterCalls(port2, HUB_METHOD_NAMES);
    const heard: unknown[] = [];
    const listener = (event: Event) => heard.push((event as MessageEvent).data);
    filtered.addEventListener('message', listener);
    filtered.start?.();
    port1.postMessage({ id: '1', type: 'APPLY', path: ['status'] });
    await vi.waitFor(() => expect(heard).toHaveLength(1), { timeout: 2_000, interval: 5 });
    filtered.removeEventListener('message', listener);
    port1.postMessage({ id: '2', type: 'APPLY', path: ['status'] });
    // Ordered after the second message on the same port: had the listener still been there, it heard it first.
    const marker = new Promise((resolve) => port2.addEventListener('message', (event) => event.data === 'marker' && resolve(null)));
    port1.postMessage('marker');
    await marker;
    expect(heard).toHaveLength(1);
    port1.close();
    port2.close();
  });
});
