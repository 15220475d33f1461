/** Starting a test's own server (a proxy, a page server) on 127.0.0.1 at a port the system picks. */
import type { Server } from 'node:net';

/** Listens on 127.0.0.1 port 0; resolves with the port, or rejects if it cannot listen. */
export async function listenOnLoopback(server: Server): Promise<number> {
  await new Promise<void>((listening, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', fail);
      listening();
    });
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('the server has no address');
  return address.port;
}
