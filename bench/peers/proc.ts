/**
 * What the server benchmarks read about a server process from outside it, the same way for
 * Switchboard and its peers: CPU time from `/proc/<pid>/stat` (user + system, every thread), the
 * resident memory from `/proc/<pid>/status`, and live memory through the preloaded
 * `memory-probe.mjs` (garbage collected first). And a peer server started as a child process of
 * its own, so that its CPU and memory are its alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
/** Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`; 100 on Linux). */
const CLOCK_TICKS = 100;

/** `NODE_OPTIONS` that preload the memory probe. */
export const MEMORY_PROBE_OPTIONS = `--import=${pathToFileURL(resolve(repoRoot, 'bench/peers/memory-probe.mjs')).href}`;

/** CPU time the process has used so far, user + system, in ms (10 ms resolution). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** Resident memory of the process in bytes. */
export function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

/** Live memory as the memory probe reports it, after two full collections. */
export interface MemorySample {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

/** Asks the probe in `pid` for a sample; `output()` is everything the process printed so far. */
export async function probeMemory(pid: number, output: () => string): Promise<MemorySample> {
  const count = () => output().split('memory-probe ').length - 1;
  const before = count();
  process.kill(pid, 'SIGUSR2');
  const deadline = performance.now() + 10_000;
  while (count() === before) {
    if (performance.now() > deadline) throw new Error(`no memory-probe answer from ${pid}`);
    await new Promise((done) => setTimeout(done, 10));
  }
  const line = output().split('memory-probe ').at(-1)!.split('\n', 1)[0]!;
  return JSON.parse(line) as MemorySample;
}

/** A peer server running as a child process. */
export interface PeerProcess {
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  output(): string;
  close(): Promise<void>;
}

/**
 * Starts `bench/peers/<script>` with the repository's Node and tsx, and resolves once it prints
 * `listening on <port>`.
 */
export async function spawnPeer(script: string, env: Readonly<Record<string, string>> = {}): Promise<PeerProcess> {
  const node = resolve(repoRoot, 'node_modules/.bin/node');
  const child: ChildProcess = spawn(node, ['--import', 'tsx', `bench/peers/${script}`], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const port = await new Promise<number>((ready, failed) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /listening on (\d+)/.exec(output);
      if (match) ready(Number(match[1]));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => failed(new Error(`${script} exited before listening:\n${output}`)));
  });
  return {
    pid: child.pid!,
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    async close() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
