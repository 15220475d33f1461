/**
 * 1,000 client messages queued offline, then the network comes back: the time from reconnect until
 * the server acknowledged every one, the frames that went out for them, and how many the server
 * applied more than once. Switchboard's outbox (IndexedDB first, in order, one in flight, same id
 * on every try) runs as the hub core in Node (fake-indexeddb, `ws`) against the real in-process
 * server, cleanly and with the connection cut three times mid-flush; beside it, in the same run, a
 * bare client that pipelines all 1,000 `send` frames on one socket with no outbox (the throughput
 * ceiling that gives up ordering and durability).
 *
 * The server keeps at most `MAX_ALERTS_PER_USER` (100) alerts per user, so the 1,000 messages of
 * one user are 100 `alert.create` (distinct alert ids) followed by 900 `alert.pause` that pause and
 * resume each alert in turn, ending paused: order matters, and the server's list shows it.
 */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import pino from 'pino';
import WebSocket from 'ws';
import { MAX_ALERTS_PER_USER, type AlertRule } from '../lib/wire/alerts';
import { createCodec, type RawFrame } from '../lib/wire/codec';
import type { AlertsUpdate } from '../lib/rpc/hub-api';
import { newMessageId } from '../lib/wire/ids';
import { PROTOCOL_VERSION, type ClientFrame } from '../lib/wire/protocol';
import { startServer, type RunningServer } from '../server/server';
import { createFakeNetwork } from '../test/support/fake-network';
import { openHub } from '../worker/core/hub';
import { systemClock, type SocketLike } from '../worker/core/platform';
import type { Row } from './table';

const codec = createCodec();

const rule = (i: number): AlertRule => ({ symbol: 'AAPL', condition: 'above', price: 1000 + i, repeat: 'once' });

/** Pause/resume messages per alert after its create: odd, so every alert ends paused. */
const TOGGLES = 9;

/** The messages of one run, in order: `alerts` creates, then pause/resume rounds over all of them. */
function plan(alerts: number): Array<{ readonly alert: number } & ({ readonly kind: 'alert.create' } | { readonly kind: 'alert.pause'; readonly paused: boolean })> {
  const creates = Array.from({ length: alerts }, (_, alert) => ({ alert, kind: 'alert.create' as const }));
  const toggles = Array.from({ length: TOGGLES * alerts }, (_, i) => ({
    alert: i % alerts,
    kind: 'alert.pause' as const,
    paused: Math.floor(i / alerts) % 2 === 0,
  }));
  return [...creates, ...toggles];
}

/** The server's `switchboard_client_messages_total` summed per outcome (`applied`, `duplicate`, ...). */
async function messageOutcomes(server: RunningServer): Promise<Map<string, number>> {
  const outcomes = new Map<string, number>();
  for (const line of (await server.metricsText()).split('\n')) {
    const match = /^switchboard_client_messages_total\{[^}]*outcome="([^"]+)"[^}]*\}\s+(\S+)/.exec(line);
    if (match) outcomes.set(match[1]!, (outcomes.get(match[1]!) ?? 0) + Number(match[2]));
  }
  return outcomes;
}

/** What the server holds for `user`, through the admin API. */
async function held(server: RunningServer, user: string): Promise<{ alerts: number; paused: number }> {
  const response = await fetch(`${server.url}/api/alerts?user=${user}`, { headers: { authorization: `Bearer ${server.adminToken}` } });
  const body = (await response.json()) as { alerts: Array<{ status: string }> };
  return { alerts: body.alerts.length, paused: body.alerts.filter((alert) => alert.status === 'paused').length };
}

interface Run {
  readonly sent: number;
  readonly ms: number;
}

/**
 * Queues the plan with the hub offline, brings the network back and times until the alert list
 * shows every alert paused and nothing pending. `cuts` times the socket is killed right after a
 * `send`, before its ack, as a network drop mid-flush.
 */
async function hubRun(server: RunningServer, user: string, alerts: number, cuts: number): Promise<Run> {
  const { token } = await server.mintToken(user);
  const network = createFakeNetwork(false);
  const messages = plan(alerts);
  const cutEvery = Math.floor(messages.length / (cuts + 1));
  let sent = 0;
  let live: WebSocket | null = null;
  const hub = await openHub(
    {
      openSocket: (url): SocketLike => {
        const socket = new WebSocket(url);
        live = socket;
        const send = socket.send.bind(socket);
        socket.send = ((data: Uint8Array) => {
          send(data);
          const frame = codec.decodeClientFrame(data);
          if (!frame.ok || frame.frame.t !== 'send') return;
          sent++;
          if (cuts > 0 && sent % cutEvery === 0 && sent / cutEvery <= cuts) queueMicrotask(() => live?.terminate());
        }) as typeof socket.send;
        return socket;
      },
      clock: systemClock,
      random: Math.random,
      network,
      settings: { load: async () => ({ serverUrl: server.url, token }), save: async () => {} },
      indexedDB: new IDBFactory(),
    },
    { backoffBaseMs: 20, backoffCapMs: 100 },
  );
  const session = hub.openSession();
  const ids: string[] = [];
  for (const message of messages) {
    if (message.kind === 'alert.create') {
      const created = await session.createAlert(rule(message.alert));
      if (!created.ok) throw new Error(created.error.message);
      ids.push(created.value.id);
    } else {
      const paused = await session.pauseAlert(ids[message.alert]!, message.paused);
      if (!paused.ok) throw new Error(paused.error.message);
    }
  }
  const done = new Promise<void>((resolve) => {
    void session.listen({
      status: () => {},
      updates: (batch) => {
        const latest = batch.filter((update): update is AlertsUpdate => update.kind === 'alerts').at(-1);
        if (latest && latest.alerts.length === alerts && latest.alerts.every((alert) => alert.state === 'paused')) resolve();
      },
    });
  });
  const started = performance.now();
  network.set(true);
  await done;
  const ms = performance.now() - started;
  await hub.idle();
  hub.close();
  return { sent, ms };
}

/** The peer: one socket, every `send` frame at once, no outbox; times until every ack arrived. */
async function pipelinedRun(server: RunningServer, user: string, alerts: number): Promise<Run> {
  const { token } = await server.mintToken(user);
  const alertIds = Array.from({ length: alerts }, () => newMessageId());
  const frames = plan(alerts).map((message): ClientFrame => {
    const alertId = alertIds[message.alert]!;
    const body = message.kind === 'alert.create' ? { alertId, rule: rule(message.alert) } : { alertId, paused: message.paused };
    return { t: 'send', id: newMessageId(), kind: message.kind, body };
  });
  const socket = new WebSocket(server.wsUrl);
  socket.binaryType = 'arraybuffer';
  const acked = new Set<string>();
  let started = 0;
  await new Promise<void>((resolve, reject) => {
    socket.onerror = () => reject(new Error('socket error'));
    socket.onopen = () => socket.send(codec.encode({ t: 'hello', v: PROTOCOL_VERSION, token }));
    socket.onmessage = (event) => {
      const decoded = codec.decodeServerFrame(event.data as RawFrame);
      if (!decoded.ok) return;
      const frame = decoded.frame;
      if (frame.t === 'welcome') {
        started = performance.now();
        for (const send of frames) socket.send(codec.encode(send));
      } else if (frame.t === 'ack') {
        acked.add(frame.id);
        if (acked.size === frames.length) resolve();
      }
    };
  });
  const ms = performance.now() - started;
  socket.close();
  return { sent: frames.length, ms };
}

/** `alerts` per run (default the server's per-user limit); each run sends ten messages per alert. */
export async function outboxRows(alerts = MAX_ALERTS_PER_USER): Promise<Row[]> {
  const server = await startServer({ port: 0, host: '127.0.0.1', simulator: 'off', store: 'memory', logger: pino({ level: 'silent' }) });
  const total = plan(alerts).length;
  try {
    server.publishPrice('AAPL', 100);
    const rows: Row[] = [];
    const measure = async (name: string, user: string, run: (user: string) => Promise<Run>) => {
      const before = await messageOutcomes(server);
      const result = await run(user);
      const after = await messageOutcomes(server);
      const delta = (outcome: string) => (after.get(outcome) ?? 0) - (before.get(outcome) ?? 0);
      const state = await held(server, user);
      rows.push({
        client: name,
        messages: total,
        'frames sent': result.sent,
        'reconnect → all acked ms': result.ms,
        'msgs/s': Math.round(total / (result.ms / 1000)),
        applied: delta('applied'),
        'repeats answered from record': delta('duplicate'),
        refused: delta('refused'),
        'applied twice': Math.max(0, delta('applied') - total),
        'server: alerts / paused': `${state.alerts} / ${state.paused}`,
      });
    };
    await measure('Switchboard outbox', 'bench-clean', (user) => hubRun(server, user, alerts, 0));
    await measure('Switchboard outbox, 3 cuts mid-flush', 'bench-cuts', (user) => hubRun(server, user, alerts, 3));
    await measure('bare socket, all pipelined, no outbox', 'bench-peer', (user) => pipelinedRun(server, user, alerts));
    return rows;
  } finally {
    await server.close();
  }
}
