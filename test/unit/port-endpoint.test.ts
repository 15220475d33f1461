import * as Comlink from 'comlink';
import { afterEach, describe, expect, test } from 'vitest';
import { createPipeAcceptor } from '../../worker/hosts/extension/pipe-acceptor';
import { connectingPipes, createPortEndpoint, PIPE_PREFIX, type PortEndpoint } from '../../lib/rpc/runtime-port-endpoint';
import { createFakeRuntime, createPortPair, type FakeRuntime, type Serialisation } from '../support/runtime-ports';

interface Service {
  add(a: number, b: number): number;
  hang(): Promise<never>;
  callBack(callback: (n: number) => number, n: number): Promise<number>;
  keep(callback: (n: number) => number | Promise<number>): void;
  callKept(n: number): Promise<number>;
  counter(): { next(): number };
  fail(): never;
  echo(value: unknown): unknown;
  /** Answers with a value no serialisation carries: a `BigInt` (JSON) next to a function (structured clone). */
  unsendable(): unknown;
}

function createService(): Service {
  let kept: ((n: number) => number | Promise<number>) | null = null;
  return {
    add: (a, b) => a + b,
    hang: () => new Promise<never>(() => {}),
    callBack: async (callback, n) => await callback(n),
    keep(callback) {
      kept = callback;
    },
    callKept: async (n) => {
      if (!kept) throw new Error('nothing kept');
      return await kept(n);
    },
    counter() {
      let n = 0;
      return Comlink.proxy({ next: () => (n += 1) });
    },
    fail() {
      throw new RangeError('bad input');
    },
    echo: (value) => value,
    unsendable: () => ({ big: 1n, fn: () => 1 }),
  };
}

const endpoints: PortEndpoint[] = [];

/** A background that exposes the service on every `main` port and accepts pipes. */
function startBackground(runtime: FakeRuntime, exposeDelayMs = 0): void {
  const acceptor = createPipeAcceptor({ claimTimeoutMs: 500 });
  const service = createService();
  runtime.onConnect((port) => {
    if (acceptor.accept(port)) return;
    const endpoint = createPortEndpoint(port, { pipes: acceptor.pipes });
    endpoints.push(endpoint);
    setTimeout(() => Comlink.expose(service, endpoint), exposeDelayMs);
  });
}

function connectView(runtime: FakeRuntime, timeoutMs?: number): { endpoint: PortEndpoint; remote: Comlink.Remote<Service> } {
  const endpoint = createPortEndpoint(runtime.connect('main'), {
    pipes: connectingPipes((name) => runtime.connect(name)),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
  endpoints.push(endpoint);
  return { endpoint, remote: Comlink.wrap<Service>(endpoint) };
}

afterEach(() => {
  for (const endpoint of endpoints.splice(0)) endpoint.close();
});

describe.each<Serialisation>(['json', 'structured'])('port endpoint with %s messages', (serialisation) => {
  test('a call makes the round trip', async () => {
    const runtime = createFakeRuntime(serialisation, (r) => startBackground(r));
    const { remote } = connectView(runtime);
    await expect(remote.add(2, 3)).resolves.toBe(5);
  });

  test('calls sent before the background exposes are kept until it does', async () => {
    const runtime = createFakeRuntime(serialisation, (r) => startBackground(r, 30));
    const { remote } = connectView(runtime);
    await expect(remote.add(1, 1)).resolves.toBe(2);
  });

  test('errors thrown by the other side reject with their name and message', async () => {
    const runtime = createFakeRuntime(serialisation, (r) => startBackground(r));
    const { remote } = connectView(runtime);
    await expect(remote.fail()).rejects.toMatchObject({ name: 'RangeError', message: 'bad input' });
  });

  test('a proxied callback is called from the other side', async () => {
    const runtime = createFakeRuntime(serialisation, (r) => startBackground(r));
    const { remote } = connectView(runtime);
    await expect(remote.callBack(Comlink.proxy((n: number) => n * 10), 4)).resolves.toBe(40);
    // Kept and called later, over the same pipe.
    await remote.keep(Comlink.proxy((n: number) => n + 100));
    await expect(remote.callKept(1)).resolves.toBe(101);
    await expect(remote.callKept(2)).resolves.toBe(102);
    expect(runtime.viewPorts.filter((p) => p.name.startsWith(PIPE_PREFIX))).toHaveLength(2);
  });

  test('a proxy returned by the background works in the view', async () => {
    const runtime = createFakeRuntime(serialisation, (r) => startBackground(r));
    const { remote } = connectView(runtime);
    const counter = await remote.counter();
    expect(await counter.next()).toBe(1);
    expect(await counter.next()).toBe(2);
  });

  test('pending calls reject when the port drops, and later calls reject at once', async () => {
    const runtime = createFakeRuntime(serialisation, (r) => startBackground(r));
    const { endpoint, remote } = connectView(runtime);
    await remote.add(0, 0);
    const pending = remote.hang();
    const closed = new Promise<string>((resolve) => endpoint.onClose(resolve));
    runtime.stopWorker();
    await expect(pending).rejects.toMatchObject({ name: 'HubDisconnectedError' });
    expect(await closed).toMatch(/lost/);
    expect(endpoint.closed).toBe(true);
    await expect(remote.add(1, 2)).rejects.toMatchObject({ name: 'HubDisconnectedError' });
  });

  test('pipes close with their main port, so a kept callback rejects instead of hanging', async () => {
    const runtime = createFakeRuntime(serialisation, (r) => startBackground(r));
    const first = connectView(runtime);
    await first.remote.keep(Comlink.proxy((n: number) => n));
    const pipe = runtime.viewPorts.find((p) => p.name.startsWith(PIPE_PREFIX));
    first.endpoint.close();
    expect(pipe?.disconnected).toBe(true);
  });

  test('a call whose arguments the port cannot serialise rejects saying so, and the link stays up', async () => {
    const runtime = createFakeRuntime(serialisation, (r) => startBackground(r));
    const { endpoint, remote } = connectView(runtime);
    await expect(remote.echo({ big: 1n, fn: () => 1 })).rejects.toMatchObject({
      name: 'SerialisationError',
      message: expect.stringMatching(/^the call could not be sent: /),
    });
    expect(endpoint.closed).toBe(false);
    await expect(remote.add(1, 2)).resolves.toBe(3);
  });

  test('an answer the port cannot serialise rejects the call instead of leaving it waiting', async () => {
    const runtime = createFakeRuntime(serialisation, (r) => startBackground(r));
    const { endpoint, remote } = connectView(runtime);
    await expect(remote.unsendable()).rejects.toMatchObject({
      name: 'SerialisationError',
      message: expect.stringMatching(/^the answer could not be sent: /),
    });
    expect(endpoint.closed).toBe(false);
    await expect(remote.add(2, 2)).resolves.toBe(4);
  });

  test(`values arrive as ${serialisation === 'json' ? 'JSON leaves them' : 'themselves'}`, async () => {
    const runtime = createFakeRuntime(serialisation, (r) => startBackground(r));
    const { remote } = connectView(runtime);
    const sent = { at: new Date(5), map: new Map([['a', 1]]), missing: undefined };
    const echoed = (await remote.echo(sent)) as Record<string, unknown>;
    if (serialisation === 'json') {
      expect(echoed).toEqual({ at: new Date(5).toISOString(), map: {} });
      expect('missing' in echoed).toBe(false);
    } else {
      expect(echoed).toEqual(sent);
      expect(echoed.map).toBeInstanceOf(Map);
      expect('missing' in echoed).toBe(true);
    }
  });

  test('a call with no answer rejects after the timeout', async () => {
    const runtime = createFakeRuntime(serialisation, (r) => startBackground(r));
    const { remote } = connectView(runtime, 50);
    await expect(remote.add(1, 1)).resolves.toBe(2);
    await expect(remote.hang()).rejects.toMatchObject({ name: 'HubDisconnectedError', message: expect.stringMatching(/50 ms/) });
  });
});

describe('background calls into a view that went away', () => {
  test('reject instead of hanging', async () => {
    let service: Service | null = null;
    const runtime = createFakeRuntime('json', (r) => {
      const acceptor = createPipeAcceptor();
      service = createService();
      const exposed = service;
      r.onConnect((port) => {
        if (acceptor.accept(port)) return;
        const endpoint = createPortEndpoint(port, { pipes: acceptor.pipes });
        endpoints.push(endpoint);
        Comlink.expose(exposed, endpoint);
      });
    });
    const { endpoint, remote } = connectView(runtime);
    await remote.keep(Comlink.proxy(() => new Promise<number>(() => {})));
    const call = service!.callKept(1);
    endpoint.close();
    await expect(call).rejects.toMatchObject({ name: 'HubDisconnectedError' });
  });
});

describe('pipe acceptor', () => {
  test('a pipe that arrives before its marker keeps its messages', async () => {
    const acceptor = createPipeAcceptor();
    const [view, background] = createPortPair(`${PIPE_PREFIX}x`, 'json');
    expect(acceptor.accept(background)).toBe(true);
    const arrived = new Promise((resolve) => background.onMessage.addListener(resolve));
    view.postMessage({ hello: 1 });
    // Delivered to the background port, where nothing took it yet.
    await arrived;
    const received: unknown[] = [];
    acceptor.pipes(`${PIPE_PREFIX}x`, (pipe) => pipe?.onMessage.addListener((m) => received.push(m)));
    expect(received).toEqual([{ hello: 1 }]);
  });

  test('a marker that arrives first waits for its pipe', () => {
    const acceptor = createPipeAcceptor();
    const got: string[] = [];
    acceptor.pipes(`${PIPE_PREFIX}y`, (pipe) => got.push(pipe?.name ?? 'none'));
    expect(got).toEqual([]);
    acceptor.accept(createPortPair(`${PIPE_PREFIX}y`, 'json')[1]);
    expect(got).toEqual([`${PIPE_PREFIX}y`]);
  });

  test('a pipe that never comes is reported after the claim timeout', async () => {
    const acceptor = createPipeAcceptor({ claimTimeoutMs: 20 });
    const got = await new Promise((resolve) => acceptor.pipes(`${PIPE_PREFIX}z`, resolve));
    expect(got).toBeNull();
  });

  test('ignores ports that are not pipes', () => {
    expect(createPipeAcceptor().accept(createPortPair('switchboard-hub', 'json')[1])).toBe(false);
  });
});
