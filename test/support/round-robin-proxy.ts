/**
 * A small round-robin TCP load balancer on 127.0.0.1 in front of several server nodes, as an
 * operator's proxy without sticky sessions: each new connection goes to the next node in turn, and
 * a node that refuses the connection (killed, restarting) is skipped for the next one. A connection
 * already piped to a node that dies is cut with it, and the client reconnects through the proxy to
 * another node, carrying its cursors.
 */
import { connect, createServer, type Socket } from 'node:net';
import { listenOnLoopback } from './listen';

export interface RoundRobinProxy {
  /** `http://127.0.0.1:<port>`: use it where a server's URL would go. */
  readonly url: string;
  readonly port: number;
  /** How many connections each upstream port was given so far. */
  given(): ReadonlyMap<number, number>;
  close(): Promise<void>;
}

export async function startRoundRobinProxy(ports: readonly number[]): Promise<RoundRobinProxy> {
  if (ports.length === 0) throw new Error('A round-robin proxy needs at least one upstream');
  const sockets = new Set<Socket>();
  const given = new Map<number, number>();
  let next = 0;

  /** Pipes `client` to the first upstream from `start` that accepts, trying each once. */
  function pipeFrom(client: Socket, start: number, tried: number): void {
    if (tried === ports.length) return void client.destroy();
    const port = ports[(start + tried) % ports.length]!;
    const upstream = connect(port, '127.0.0.1');
    sockets.add(upstream);
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      given.set(port, (given.get(port) ?? 0) + 1);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => {
      if (!connected) return pipeFrom(client, start, tried + 1);
      client.destroy();
    });
    upstream.on('close', () => {
      sockets.delete(upstream);
      if (connected) client.destroy();
    });
    client.on('close', () => upstream.destroy());
  }

  const server = createServer({ pauseOnConnect: true }, (client) => {
    sockets.add(client);
    client.on('error', () => client.destroy());
    client.on('close', () => sockets.delete(client));
    const start = next;
    next = (next + 1) % ports.length;
    pipeFrom(client, start, 0);
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    given: () => given,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
