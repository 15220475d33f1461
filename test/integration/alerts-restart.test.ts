/**
 * Alerts survive restarts on the SQLite store: an in-process server closed and started again on
 * the same data directory, and a server process killed with SIGKILL right after an ack. A message
 * id sent again after the restart gets the same ack and applies nothing; a crossing rule compares
 * the first tick after the restart with the last price from before it; a fired alert stays fired.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import type { AlertsState } from '../../lib/wire/alerts';
import { newMessageId } from '../../lib/wire/ids';
import { spawnServerProcess, startTestServer, type ServerProcess, type TestServer } from '../support/server';
import { connectAndGreet, type TestClient } from '../support/ws-client';

let dataDir: string;
let running: TestServer | undefined;
let clients: TestClient[] = [];
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'switchboard-alerts-'));
});
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
  await running?.close();
  running = undefined;
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<TestServer> {
  running = await startTestServer({ store: 'sqlite', dataDir });
  return running;
}

async function greet(url: string): Promise<TestClient> {
  const { client } = await connectAndGreet(url);
  clients.push(client);
  return client;
}

test('after a restart: the alerts are there, a repeated id gets the same ack, crossing remembers the last price, fired stays fired', async () => {
  let server = await start();
  await server.publishPrice('AAPL', 200);
  let client = await greet(server.url);
  const messageId = newMessageId();
  const body = { alertId: newMessageId(), rule: { symbol: 'AAPL', condition: 'crossing', price: 205 } };
  const ack = await client.message('alert.create', body, messageId);
  expect(ack.ok).toBe(true);
  await client.message('alert.create', { alertId: newMessageId(), rule: { symbol: 'AAPL', condition: 'above', price: 300, repeat: 'recurring', cooldownMinutes: 5 } });
  await server.publishPrice('AAPL', 201); // the crossing rule's first tick: it has a previous price from now on
  const before = await server.alerts('dev');
  await server.close();

  server = await start();
  expect(await server.alerts('dev')).toEqual(before);
  client = await greet(server.url);
  expect(await client.message('alert.create', body, messageId)).toEqual(ack);
  expect(await client.message('alert.create', { ...body, alertId: newMessageId() }, messageId)).toEqual(ack);
  expect(await server.alerts('dev')).toHaveLength(2);
  expect(await server.metric('switchboard_client_messages_total', { kind: 'alert.create', outcome: 'duplicate' })).toBe(2);

  // No price published since the restart: the symbol is still known, and 201 → 210 crosses 205.
  await client.subscribe('feed:dev');
  await client.subscribe('alerts:dev');
  await server.publishPrice('AAPL', 210);
  const event = await client.untilEvent('feed:dev', 1);
  expect(event.data).toMatchObject({ title: 'AAPL crossing 205', alert: { alertId: body.alertId, price: 210 } });
  await client.until((f) => f.t === 'state' && f.topic === 'alerts:dev' && (f.value as AlertsState).alerts.some((a) => a.status === 'fired'));
  const fired = await server.alerts('dev');
  await server.close();

  server = await start();
  expect(await server.alerts('dev')).toEqual(fired);
  expect(fired.find((a) => a.id === body.alertId)).toMatchObject({ status: 'fired', firedPrice: 210, fireCount: 1 });
});

test('a symbol known before the restart can take new alerts after it', async () => {
  let server = await start();
  await server.publishPrice('KO', 60);
  await server.close();
  server = await start();
  const client = await greet(server.url);
  expect(await client.message('alert.create', { alertId: newMessageId(), rule: { symbol: 'KO', condition: 'below', price: 55 } })).toMatchObject({ ok: true });
});

let processes: ServerProcess[] = [];
afterEach(async () => {
  await Promise.all(processes.map((p) => p.dispose()));
  processes = [];
});

test('a server process killed with SIGKILL right after an ack keeps the alert, and the repeated id gets the same ack', async () => {
  const server = await spawnServerProcess();
  processes.push(server);
  await server.publishPrice('MSFT', 400);
  const client = await greet(server.url);
  const messageId = newMessageId();
  const body = { alertId: newMessageId(), rule: { symbol: 'MSFT', condition: 'below', price: 350 } };
  const ack = await client.message('alert.create', body, messageId);
  expect(ack).toMatchObject({ ok: true });
  await server.kill('SIGKILL');
  await server.restart();

  expect(await server.alerts('dev')).toMatchObject([{ id: body.alertId, status: 'active' }]);
  const again = await greet(server.url);
  expect(await again.message('alert.create', body, messageId)).toEqual(ack);
  expect(await server.alerts('dev')).toHaveLength(1);
});

test('a symbol first seen just before SIGKILL is still known after the restart', async () => {
  const server = await spawnServerProcess();
  processes.push(server);
  await server.publishPrice('NVDA', 120);
  await server.publishPrice('AAPL', 200);
  const client = await greet(server.url);
  // Acked after the first prices' writes: the store runs writes in order.
  const first = { alertId: newMessageId(), rule: { symbol: 'NVDA', condition: 'above', price: 150 } };
  expect(await client.message('alert.create', first, newMessageId())).toMatchObject({ ok: true });
  await server.kill('SIGKILL');
  await server.restart();

  const again = await greet(server.url);
  const body = { alertId: newMessageId(), rule: { symbol: 'AAPL', condition: 'below', price: 150 } };
  expect(await again.message('alert.create', body, newMessageId())).toMatchObject({ ok: true });
  expect((await server.alerts('dev')).map((alert) => alert.id).sort()).toEqual([first.alertId, body.alertId].sort());
});
