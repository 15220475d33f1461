/**
 * A TCP proxy on 127.0.0.1 port 0 in front of a server, which a test can unplug: `unplug()` cuts
 * every connection through it and refuses new ones (the client sees the socket die, as when a
 * cable is pulled or a server drops it), `plug()` lets them through again. Tests use it to hold a
 * client away from a server for exactly as long as they need, with no race against its backoff.
 * It can also hold back what the server sends (`delayToClients`), in order, so a test can act
 * while a message is applied on the server but its answer is still on the way.
 */
import { createServer, connect, type Socket } from 'node:net';
import { listenOnLoopback } from './listen';

export interface TcpProxy {
  /** `http://127.0.0.1:<port>`: use it where the server's URL would go. */
  readonly url: string;
  readonly port: number;
  /** Connections currently piped through. */
  connections(): number;
  /** Bytes sent from the server to clients so far: what the client side received on the wire. */
  bytesToClients(): number;
  /** Cuts every piped connection and refuses new ones until `plug()`. */
  unplug(): void;
  plug(): void;
  /** Holds back every byte from the server for `ms` from now on (0: none), keeping their order. */
  delayToClients(ms: number): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { readonly host?: string; readonly port: number }): Promise<TcpProxy> {
  const pairs = new Set<readonly [Socket, Socket]>();
  let plugged = true;
  let toClients = 0;
  let delayMs = 0;

  const server = createServer((client) => {
    if (!plugged) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host ?? '127.0.0.1');
    const pair = [client, upstream] as const;
    pairs.add(pair);
    /** Chunks from the server with the time each may go on; one timer sends them in order. */
    const queue: { readonly at: number; readonly chunk: Buffer }[] = [];
    let timer: ReturnType<typeof setTimeout> | null = null;
    const pump = (): void => {
      timer = null;
      while (queue.length > 0 && queue[0]!.at <= Date.now()) {
        const { chunk } = queue.shift()!;
        if (client.writable) client.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(pump, queue[0]!.at - Date.now());
    };
    const end = (): void => {
      pairs.delete(pair);
      if (timer !== null) clearTimeout(timer);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      toClients += chunk.length;
      queue.push({ at: Math.max(Date.now() + delayMs, queue.at(-1)?.at ?? 0), chunk });
      if (timer === null) pump();
    });
  });
  const port = await listenOnLoopback(server);

  const cutAll = (): void => {
    for (const [client, upstream] of [...pairs]) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connections: () => pairs.size,
    bytesToClients: () => toClients,
    unplug() {
      plugged = false;
      cutAll();
    },
    plug() {
      plugged = true;
    },
    delayToClients(ms) {
      delayMs = ms;
    },
    close() {
      cutAll();
      return new Promise((closed) => server.close(() => closed()));
    },
  };
}
