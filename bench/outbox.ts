/**
 * 1,000 client messages queued offline, then the network comes back: the time from reconnect until
 * the server acknowledged every one, the frames that went out for them, and how many the server
 * applied more than once. Switchboard's outbox (IndexedDB first, strictly in queue order, up to 32
 * in flight, a message never sent while an earlier one about the same alert is unanswered, same id
 * on every try) runs as the hub core in Node (fake-indexeddb, `ws`) against the real server in a
 * process of its own (as a hub and its server never share an event loop: in one process the
 * server's work held up the hub's timers, a reconnect's backoff among them), cleanly and with the
 * connection cut three times mid-flush; its time ends when every ack
 * was recorded in IndexedDB and the alert list shows the result. Beside it, in the same run, a bare
 * client that pipelines all 1,000 `send` frames on one socket with no outbox, timed from its connect
 * until the last ack arrived: once alone (the throughput ceiling, which gives up ordering across
 * retries and durability) and once subscribed to `alerts:<user>` as the hub is, so the server does
 * the same work for both (it sends the user's alert list after changes, at most every `flushMs`
 * while they keep coming) and the client decodes it (the hub also validates it, stores the newest
 * and shows it). One untimed round first compiles each side's code; then rounds are interleaved,
 * and the table shows medians and the ratio to each peer.
 *
 * The server keeps at most `MAX_ALERTS_PER_USER` (100) alerts per user, so the 1,000 messages of
 * one user are 100 `alert.create` (distinct alert ids) followed by 900 `alert.pause` that pause and
 * resume each alert in turn, ending paused: order matters, and the server's list shows it.
 *
 * Alone: `node --import tsx bench/outbox.ts` (`OUTBOX_ROUNDS`, default 21: a run takes a fifth of a
 * second, so the medians need many).
 */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { MAX_ALERTS_PER_USER, type AlertRule } from '../lib/wire/alerts';
import { createCodec, type RawFrame } from '../lib/wire/codec';
import type { AlertsUpdate } from '../lib/rpc/hub-api';
import { newMessageId } from '../lib/wire/ids';
import { topics } from '../lib/wire/topics';
import { PROTOCOL_VERSION, type ClientFrame } from '../lib/wire/protocol';
import { spawnServerProcess, type ServerProcess } from '../test/support/server';
import { createFakeNetwork } from '../test/support/fake-network';
import { openHub } from '../worker/core/hub';
import { systemClock, type SocketLike } from '../worker/core/platform';
import { cpuMs as processCpuMs } from './peers/proc';
import { median, ratio } from './stats';
import { printTable, type Row } from './table';

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
async function messageOutcomes(server: ServerProcess): Promise<Map<string, number>> {
  const outcomes = new Map<string, number>();
  for (const line of (await server.request('GET', '/metrics')).text.split('\n')) {
    const match = /^switchboard_client_messages_total\{[^}]*outcome="([^"]+)"[^}]*\}\s+(\S+)/.exec(line);
    if (match) outcomes.set(match[1]!, (outcomes.get(match[1]!) ?? 0) + Number(match[2]));
  }
  return outcomes;
}

/** What the server holds for `user`, through the admin API. */
async function held(server: ServerProcess, user: string): Promise<{ alerts: number; paused: number }> {
  const response = await fetch(`${server.url}/api/alerts?user=${user}`, { headers: { authorization: `Bearer ${server.adminToken}` } });
  const body = (await response.json()) as { alerts: Array<{ status: string }> };
  return { alerts: body.alerts.length, paused: body.alerts.filter((alert) => alert.status === 'paused').length };
}

/** msgpack of a map whose first key is `t` with the value `send`, as the hub encodes a `send` frame. */
const SEND_PREFIX = [0xa1, 0x74, 0xa4, 0x73, 0x65, 0x6e, 0x64];

/**
 * Whether an encoded client frame is a `send`, read from its first bytes: decoding every frame to
 * count them would charge the hub's side for work the peer's does not do. (Should the encoding
 * change, the count falls short and the run throws.)
 */
function isSendFrame(data: Uint8Array): boolean {
  return SEND_PREFIX.every((byte, i) => data[i + 1] === byte);
}

interface Run {
  readonly sent: number;
  readonly ms: number;
  /** CPU time of this process (the hub or the peer) over the same span, in ms. */
  readonly cpuMs: number;
  /** CPU time of the server's process over the same span, in ms. */
  readonly serverCpuMs: number;
}

/** CPU time used by this process since `since` (`process.cpuUsage()`), in ms. */
const cpuMsSince = (since: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

/**
 * Queues the plan with the hub offline, brings the network back and times until the alert list
 * shows every alert paused and nothing pending. `cuts` times the socket is killed right after a
 * `send`, before its ack, as a network drop mid-flush.
 */
async function hubRun(server: ServerProcess, user: string, alerts: number, cuts: number): Promise<Run> {
  const token = await server.mintToken(user);
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
          if (!isSendFrame(data)) return;
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
  const cpu = process.cpuUsage();
  const serverCpu = processCpuMs(server.pid()!);
  network.set(true);
  await done;
  const ms = performance.now() - started;
  const cpuMs = cpuMsSince(cpu);
  const serverCpuMs = processCpuMs(server.pid()!) - serverCpu;
  await hub.idle();
  hub.close();
  if (sent < messages.length) throw new Error(`only ${sent} send frames were seen for ${messages.length} messages`);
  return { sent, ms, cpuMs, serverCpuMs };
}

/**
 * The peer: one socket, every `send` frame at once, no outbox; times until every ack arrived. With
 * `watch`, it first subscribes to `alerts:<user>` as the hub does, and decodes every list the server
 * sends meanwhile (the codec validates each frame, as the hub's does).
 */
async function pipelinedRun(server: ServerProcess, user: string, alerts: number, watch: boolean): Promise<Run> {
  const token = await server.mintToken(user);
  const alertIds = Array.from({ length: alerts }, () => newMessageId());
  const frames = plan(alerts).map((message): ClientFrame => {
    const alertId = alertIds[message.alert]!;
    const body = message.kind === 'alert.create' ? { alertId, rule: rule(message.alert) } : { alertId, paused: message.paused };
    return { t: 'send', id: newMessageId(), kind: message.kind, body };
  });
  // Timed from the connect, as the hub's run is from the network coming back: both include the
  // handshake (`hello`, the token check, `welcome`) before the first message can go.
  const started = performance.now();
  const cpu = process.cpuUsage();
  const serverCpu = processCpuMs(server.pid()!);
  const socket = new WebSocket(server.wsUrl);
  socket.binaryType = 'arraybuffer';
  const acked = new Set<string>();
  const flush = () => {
    for (const send of frames) socket.send(codec.encode(send));
  };
  await new Promise<void>((resolve, reject) => {
    socket.onerror = () => reject(new Error('socket error'));
    socket.onopen = () => socket.send(codec.encode({ t: 'hello', v: PROTOCOL_VERSION, token }));
    socket.onmessage = (event) => {
      const decoded = codec.decodeServerFrame(event.data as RawFrame);
      if (!decoded.ok) return;
      const frame = decoded.frame;
      if (frame.t === 'welcome') {
        if (watch) socket.send(codec.encode({ t: 'subscribe', topic: topics.alerts(user) }));
        else flush();
      } else if (frame.t === 'subscribed') {
        flush();
      } else if (frame.t === 'ack') {
        acked.add(frame.id);
        if (acked.size === frames.length) resolve();
      }
    };
  });
  const ms = performance.now() - started;
  const cpuMs = cpuMsSince(cpu);
  const serverCpuMs = processCpuMs(server.pid()!) - serverCpu;
  socket.close();
  return { sent: frames.length, ms, cpuMs, serverCpuMs };
}

interface Client {
  readonly name: string;
  readonly run: (server: ServerProcess, user: string, alerts: number) => Promise<Run>;
}

const CLIENTS: readonly Client[] = [
  { name: 'Switchboard outbox', run: (server, user, alerts) => hubRun(server, user, alerts, 0) },
  { name: 'Switchboard outbox, 3 cuts mid-flush', run: (server, user, alerts) => hubRun(server, user, alerts, 3) },
  { name: 'bare socket, all pipelined, no outbox', run: (server, user, alerts) => pipelinedRun(server, user, alerts, false) },
  { name: 'bare socket, all pipelined, no outbox, watching alerts:<user>', run: (server, user, alerts) => pipelinedRun(server, user, alerts, true) },
];

/**
 * `alerts` per run (default the server's per-user limit); each run sends ten messages per alert.
 * `rounds` rounds, each running every client once in turn, each with a user of its own.
 */
export async function outboxRows(alerts = MAX_ALERTS_PER_USER, rounds = Number(process.env.OUTBOX_ROUNDS ?? 21)): Promise<Row[]> {
  const server = await spawnServerProcess({ store: 'memory' });
  const total = plan(alerts).length;
  const results = CLIENTS.map(() => ({ ms: [] as number[], cpuMs: [] as number[], serverCpuMs: [] as number[], sent: [] as number[], applied: 0, duplicates: 0, refused: 0, held: [] as string[] }));
  try {
    await server.publishPrice('AAPL', 100);
    // One untimed round first, so each side's code is compiled before it is timed (a hub runs for
    // hours; its first thousand messages are not what it costs).
    for (const [i, client] of CLIENTS.entries()) await client.run(server, `bench-warm-${i}`, alerts);
    for (let round = 0; round < rounds; round++) {
      for (const [i, client] of CLIENTS.entries()) {
        const user = `bench-${round}-${i}`;
        const before = await messageOutcomes(server);
        const result = await client.run(server, user, alerts);
        const after = await messageOutcomes(server);
        const delta = (outcome: string) => (after.get(outcome) ?? 0) - (before.get(outcome) ?? 0);
        const state = await held(server, user);
        const out = results[i]!;
        out.ms.push(result.ms);
        out.cpuMs.push(result.cpuMs);
        out.serverCpuMs.push(result.serverCpuMs);
        out.sent.push(result.sent);
        out.applied += delta('applied');
        out.duplicates += delta('duplicate');
        out.refused += delta('refused');
        out.held.push(`${state.alerts} / ${state.paused}`);
        process.stderr.write(`outbox bench: round ${round + 1}/${rounds}, ${client.name}: ${Math.round(result.ms)} ms\n`);
      }
    }
  } finally {
    await server.dispose();
  }
  const peer = median(results[2]!.ms);
  const totalCpu = (out: (typeof results)[number]) => median(out.cpuMs.map((ms, i) => ms + out.serverCpuMs[i]!));
  const peerCpu = totalCpu(results[2]!);
  const watchingPeer = median(results[3]!.ms);
  return CLIENTS.map((client, i) => {
    const out = results[i]!;
    const ms = median(out.ms);
    return {
      client: client.name,
      messages: total,
      'frames sent (median)': median(out.sent),
      'reconnect → all acked ms (median)': ms,
      'msgs/s': Math.round(total / (ms / 1000)),
      'vs bare': ratio(ms, peer),
      'vs bare watching': ratio(ms, watchingPeer),
      'client CPU ms (median)': median(out.cpuMs),
      'server CPU ms (median)': median(out.serverCpuMs),
      'CPU vs bare (client + server)': ratio(totalCpu(out), peerCpu),
      'applied (all rounds)': out.applied,
      'answered from record': out.duplicates,
      refused: out.refused,
      'applied twice': Math.max(0, out.applied - total * rounds),
      'server: alerts / paused': [...new Set(out.held)].join(', '),
    };
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printTable('Outbox: 1,000 client messages queued offline, time from reconnect until all acked', await outboxRows());
}
