/**
 * The server as a process (`node --import tsx server/main.ts`): it announces its URL, SIGTERM closes
 * every client with 1001 and exits 0, and after a crash (SIGKILL) it restarts on the same port.
 */
import { afterEach, expect, test } from 'vitest';
import { CloseCode } from '../../lib/wire/close-codes';
import { spawnServerProcess, type ServerProcess } from '../support/server';
import { connectAndGreet } from '../support/ws-client';

let proc: ServerProcess | undefined;
afterEach(async () => {
  await proc?.dispose();
  proc = undefined;
});

test('SIGTERM closes every client with 1001 "server going away" and exits 0', async () => {
  proc = await spawnServerProcess();
  expect(proc.output()).toContain(`Switchboard server listening on http://127.0.0.1:${proc.port}`);
  const a = await connectAndGreet(proc.url);
  const b = await connectAndGreet(proc.url);
  expect(await proc.metric('switchboard_ws_connections')).toBe(2);
  const exit = await proc.kill('SIGTERM');
  expect(await a.client.closed).toEqual({ code: CloseCode.goingAway, reason: 'server going away' });
  expect((await b.client.closed).code).toBe(CloseCode.goingAway);
  expect(exit).toEqual({ code: 0, signal: null });
});

test('after a crash (SIGKILL) the server restarts on the same port and serves again', async () => {
  proc = await spawnServerProcess({ env: { ADMIN_TOKEN: 'process-admin-token' } });
  const { client } = await connectAndGreet(proc.url);
  const exit = await proc.kill('SIGKILL');
  expect(exit.signal).toBe('SIGKILL');
  expect((await client.closed).code).toBe(1006);
  await proc.restart();
  const tick = await proc.publishPrice('AAPL', 190);
  expect(tick).toMatchObject({ topic: 'prices:AAPL', price: 190 });
  const again = await connectAndGreet(proc.url);
  again.client.send({ t: 'subscribe', topic: 'prices:AAPL' });
  expect(await again.client.nextOf('state')).toMatchObject({ topic: 'prices:AAPL', value: { price: 190 } });
  await again.client.close();
});

test('with the simulator on, prices:* carries the well-known symbols at once', async () => {
  proc = await spawnServerProcess({ env: { SIMULATOR: 'on', SIMULATOR_RATE: '20' } });
  const { client } = await connectAndGreet(proc.url);
  client.send({ t: 'subscribe', topic: 'prices:*' });
  const batch = await client.nextOf('batch');
  const symbols = batch.frames.map((f) => (f.t === 'state' ? f.topic : ''));
  expect(symbols).toEqual(expect.arrayContaining(['prices:AAPL', 'prices:BTC-USD', 'prices:BRK.B']));
  expect(symbols.length).toBeGreaterThanOrEqual(20);
  await client.close();
});
