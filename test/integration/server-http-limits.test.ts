/**
 * The HTTP side's limits on a real server: an unauthenticated body is refused without being read,
 * requests whose headers or body trickle in are cut after short timeouts (set small through
 * options), and sockets are capped per address and in all, so a peer holding many of them cannot
 * starve `/healthz`. Every wait on the server is bounded by `within`, so a server that never acts
 * fails the test in seconds.
 */
import { expect, test } from 'vitest';
import { serve, onCleanup, useCleanups, until } from '../support/cleanups';
import { openRaw, within, type RawSocket } from '../support/raw-tcp';

useCleanups();

/** Opens a raw socket to the server, destroyed after the test. */
async function raw(port: number, localAddress?: string): Promise<RawSocket> {
  const socket = await openRaw(port, localAddress);
  onCleanup(() => void socket.socket.destroy());
  return socket;
}

/** `/healthz` answers 200 (any failure to connect counts as no). */
async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(new URL('/healthz', url))).status === 200;
  } catch {
    return false;
  }
}

test('an unauthenticated admin request is answered 401 and closed without its body being read', async () => {
  const server = await serve();
  const total = 10 * 1024 * 1024;
  const socket = await raw(server.port);
  socket.socket.write(`POST /api/prices HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${total}\r\n\r\n${'x'.repeat(1024)}`);
  await within(5000, 'the 401', socket.until(/^HTTP\/1\.1 401 /));

  // Keep sending the body, then ask again on the same connection: a server that read the body to
  // keep the connection would answer that.
  let written = 1024;
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const pump = () => {
    while (written < total && socket.socket.writable) {
      written += chunk.length;
      if (!socket.socket.write(chunk)) return void socket.socket.once('drain', pump);
    }
    if (socket.socket.writable) socket.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  };
  pump();
  await within(5000, 'the server to close the connection', socket.closed);
  expect(written).toBeLessThan(total);
  expect(socket.received()).not.toMatch(/HTTP\/1\.1 200/);
  expect(socket.received()).toMatch(/\r\nconnection: close\r\n/i);
});

test('a 404 to a request with a body closes the connection instead of reading the body', async () => {
  const server = await serve();
  const socket = await raw(server.port);
  socket.socket.write('POST /api/nothing HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n{');
  await within(5000, 'the 404', socket.until(/^HTTP\/1\.1 404 /));
  await within(5000, 'the server to close the connection', socket.closed);
});

test('requests whose headers or body never finish are answered 408 and closed after the timeouts', async () => {
  const server = await serve({ limits: { headersTimeoutMs: 200, requestTimeoutMs: 400 } });
  const silent = await raw(server.port);
  const halfHeaders = await raw(server.port);
  halfHeaders.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
  const halfBody = await raw(server.port);
  halfBody.socket.write('POST /api/prices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-admin-token\r\nContent-Length: 100\r\n\r\n{');

  await within(5000, 'the silent socket to be closed', silent.closed);
  await within(5000, 'the half-sent headers to be answered 408', halfHeaders.until(/^HTTP\/1\.1 408 /));
  await within(5000, 'the half-sent headers to be closed', halfHeaders.closed);
  await within(5000, 'the half-sent body to be closed', halfBody.closed);
  expect(await healthy(server.url)).toBe(true);
});

test('sockets from one address are capped; the server keeps answering others', async () => {
  const server = await serve({ limits: { maxSocketsPerAddress: 5 } });
  const held = await Promise.all(Array.from({ length: 5 }, () => raw(server.port, '127.0.0.2')));
  for (const socket of held) socket.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');

  const over = await raw(server.port, '127.0.0.2');
  await within(5000, 'the sixth socket of the address to be closed', over.closed);
  expect(over.received()).toBe('');
  expect(await healthy(server.url)).toBe(true);
  expect(await server.metric('switchboard_sockets_refused_total', { reason: 'per-address' })).toBe(1);

  // A socket closed frees its place.
  held[0]!.socket.destroy();
  await until('a socket of that address to be let in again', async () => {
    const again = await raw(server.port, '127.0.0.2');
    again.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    return (await within(5000, 'an answer or a close', Promise.race([again.until(/^HTTP\/1\.1 200 /).catch(() => ''), again.closed.then(() => '')]))) !== '';
  });
});

test('the server holds at most maxSockets sockets; further ones are closed at once', async () => {
  const server = await serve({ limits: { maxSockets: 3, maxSocketsPerAddress: 0 } });
  const held = await Promise.all(['127.0.0.2', '127.0.0.3', '127.0.0.4'].map((address) => raw(server.port, address)));
  const over = await raw(server.port, '127.0.0.5');
  await within(5000, 'the socket over maxSockets to be closed', over.closed);
  expect(over.received()).toBe('');
  for (const socket of held) socket.socket.destroy();
  await until('/healthz to answer once sockets are free', () => healthy(server.url));
  expect(await server.metric('switchboard_sockets_refused_total', { reason: 'max-sockets' })).toBeGreaterThanOrEqual(1);
});
