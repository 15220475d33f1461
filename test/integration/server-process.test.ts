/**
 * The server as a process (`node --import tsx server/main.ts`): it announces its URL, SIGTERM closes
 * every client with 1001 and exits 0, after a crash (SIGKILL) it restarts on the same port, and
 * the `DATA_DIR` it makes and every file in it are readable by its user only.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, onTestFinished, test } from 'vitest';
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

test('the DATA_DIR it makes is 0700 and the token secret, the SQLite files and their WAL are 0600', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'switchboard-perms-'));
  onTestFinished(() => rmSync(parent, { recursive: true, force: true }));
  const dataDir = join(parent, 'data');
  proc = await spawnServerProcess({ env: { DATA_DIR: dataDir, TOKEN_SECRET: '' } });
  // A write or two, so every file the stores keep exists.
  await proc.publishNotification('dev', { title: 'hello', body: '' });
  await proc.publishPrice('AAPL', 190);
  const modes = Object.fromEntries(readdirSync(dataDir).map((name) => [name, statSync(join(dataDir, name)).mode & 0o777]));
  expect(Object.keys(modes)).toEqual(expect.arrayContaining(['token-secret', 'switchboard.sqlite', 'switchboard.sqlite-wal', 'alerts.sqlite', 'alerts.sqlite-wal']));
  expect({ dir: statSync(dataDir).mode & 0o777, ...modes }).toEqual({
    dir: 0o700,
    ...Object.fromEntries(Object.keys(modes).map((name) => [name, 0o600])),
  });
});
