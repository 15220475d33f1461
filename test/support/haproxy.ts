/**
 * Debian's HAProxy running README's example configuration (`docs/deploy/haproxy.cfg`) in front of
 * test nodes, in the foreground, on a free port of 127.0.0.1: the very file operators copy is the
 * one the test runs.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { onCleanup } from './cleanups';
import { poll } from './poll';
import { freePort } from './server';

export const HAPROXY_CONFIG = fileURLToPath(new URL('../../docs/deploy/haproxy.cfg', import.meta.url));

/** Starts HAProxy with the example config in front of two node ports; resolves with its URL once it answers. */
export async function startHaproxy(nodePorts: readonly [number, number]): Promise<{ url: string }> {
  const port = await freePort();
  const child = spawn('haproxy', ['-db', '-f', HAPROXY_CONFIG], {
    env: { ...process.env, SB_BIND: `127.0.0.1:${port}`, SB_NODE1: `127.0.0.1:${nodePorts[0]}`, SB_NODE2: `127.0.0.1:${nodePorts[1]}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (error) => (output += `\n${error.message} (is Debian's haproxy installed?)`));
  onCleanup(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  const url = `http://127.0.0.1:${port}`;
  await poll(`HAProxy answering on ${url}`, async () => {
    if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}:\n${output}`);
    return (await fetch(`${url}/healthz`).catch(() => null))?.status === 200;
  });
  return { url };
}
