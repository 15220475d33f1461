/**
 * The raw `ws` peer of the server benchmarks: the least a server can do, run as a child process so
 * its CPU and memory are its own. A connection signs in with `{"t":"hello","token"}` (the same JWT
 * check), `{"t":"subscribe","topic"}` adds it to the topic's set, and each publish is encoded once
 * as JSON into a Buffer and written to every subscriber with `ws.send`: the broadcast of `ws`'s
 * README. No log, no sequence of its own (the peer numbers news events), no conflation, no limits,
 * no heartbeat.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import { createPublishServer, listen, verifyToken } from './peer-common';

const byTopic = new Map<string, Set<WebSocket>>();

function broadcast(topic: string, frame: unknown): void {
  const data = Buffer.from(JSON.stringify(frame));
  for (const ws of byTopic.get(topic) ?? []) ws.send(data, { binary: false });
}

const http = createPublishServer({
  news: (event) => broadcast('news', { t: 'event', ...event }),
  price: (state) => broadcast(state.topic, { t: 'state', ...state }),
});
const wss = new WebSocketServer({ server: http, path: '/ws', perMessageDeflate: false, clientTracking: false });

wss.on('connection', (ws) => {
  const topics = new Set<string>();
  let user: string | null = null;
  ws.on('message', (raw) => {
    let frame: { t?: unknown; token?: unknown; topic?: unknown };
    try {
      frame = JSON.parse(String(raw)) as typeof frame;
    } catch {
      return ws.close(4000, 'bad frame');
    }
    if (user === null) {
      if (frame.t !== 'hello') return ws.close(4000, 'hello expected');
      void verifyToken(frame.token).then((verified) => {
        if (verified === null) return ws.close(4010, 'unauthorized');
        user = verified;
        ws.send(JSON.stringify({ t: 'welcome', user }));
      });
      return;
    }
    if (frame.t === 'subscribe' && typeof frame.topic === 'string') {
      topics.add(frame.topic);
      let set = byTopic.get(frame.topic);
      if (!set) byTopic.set(frame.topic, (set = new Set()));
      set.add(ws);
      ws.send(JSON.stringify({ t: 'subscribed', topic: frame.topic }));
    }
  });
  ws.on('close', () => {
    for (const topic of topics) byTopic.get(topic)?.delete(ws);
  });
});

listen(http, 'ws peer');
