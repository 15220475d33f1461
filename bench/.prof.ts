import { Decoder, Encoder } from '@msgpack/msgpack';
import WebSocket from 'ws';
import { PROTOCOL_VERSION } from '../lib/wire/protocol';
import { signTestToken, spawnServerProcess } from '../test/support/server';
import { paced, sleep } from './peers/stats';
const N = 1000;
const server = await spawnServerProcess({ store: (process.env.STORE as 'memory') ?? 'memory', env: { LOG_LEVEL: 'warn', MAX_SOCKETS_PER_ADDRESS: '0', MAX_PENDING_PER_ADDRESS: '0', NODE_OPTIONS: '--cpu-prof --cpu-prof-dir=/tmp/prof' } });
const enc = new Encoder(); const dec = new Decoder();
let got = 0;
const tokens = await Promise.all(Array.from({ length: N }, (_, i) => signTestToken({ sub: `u${i}` })));
const sockets: WebSocket[] = [];
for (let i = 0; i < N; i += 50) {
  await Promise.all(tokens.slice(i, i + 50).map((token) => new Promise<void>((ready) => {
    const ws = new WebSocket(server.wsUrl, { perMessageDeflate: false }); sockets.push(ws);
    ws.on('open', () => ws.send(enc.encode({ t: 'hello', v: PROTOCOL_VERSION, token })));
    ws.on('message', (d: Buffer) => { const f = dec.decode(d) as { t: string; at?: number }; if (f.t === 'welcome') ws.send(enc.encode({ t: 'subscribe', topic: 'news' })); else if (f.t === 'subscribed') ready(); else if (f.t === 'event') got++; else if (f.t === 'ping') ws.send(enc.encode({ t: 'pong', at: f.at })); });
  })));
}
await paced(Number(process.env.EVENTS ?? 500), 100, (k) => void server.publishNews({ title: `m${k}`, body: 'Markets moved on the news. '.repeat(7) }));
while (got < N * Number(process.env.EVENTS ?? 500)) await sleep(50);
console.log('delivered', got);
for (const ws of sockets) ws.terminate();
await server.kill('SIGTERM');
await sleep(500);
await server.dispose();
