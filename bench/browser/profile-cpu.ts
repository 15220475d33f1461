/**
 * CPU time of a whole browser, read from `/proc`: every process whose command line names the
 * browser's profile (`--user-data-dir=<dir>`: the browser, its renderers, GPU and utility processes;
 * only the crash handler does not, and it does nothing here). Summed `utime + stime` before and after
 * a window, per pid, so processes that start during the window count from zero.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of `utime`/`stime` (`getconf CLK_TCK`, 100 on Linux almost always). */
const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

const readOr = (path: string, fallback: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // The process ended between listing and reading.
    return fallback;
  }
};

/** Pids whose command line contains `needle`. */
export function pidsWith(needle: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => readOr(`/proc/${pid}/cmdline`, '').replaceAll('\0', ' ').includes(needle))
    .map(Number);
}

/** `utime + stime` of `pid` in clock ticks, or `null` when it is gone. */
export function cpuTicksOf(pid: number): number | null {
  const stat = readOr(`/proc/${pid}/stat`, '');
  // The command name (field 2) may hold spaces and parentheses: fields are counted after the last `)`.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : null;
}

/** A running measurement: `stop()` gives the CPU seconds spent since it started. */
export interface CpuWindow {
  stop(): number;
}

/** Starts measuring the CPU of the processes `pids()` lists (re-listed at the end). */
export function startCpuWindow(pids: () => readonly number[]): CpuWindow {
  const before = new Map<number, number>();
  for (const pid of pids()) before.set(pid, cpuTicksOf(pid) ?? 0);
  return {
    stop() {
      let ticks = 0;
      for (const pid of new Set([...pids(), ...before.keys()])) {
        const now = cpuTicksOf(pid);
        // A process that ended in the window is left out: its ticks went with it (tabs stay open while measured).
        if (now !== null) ticks += now - (before.get(pid) ?? 0);
      }
      return ticks / TICKS_PER_SECOND;
    },
  };
}

/** CPU of every process of the browser started on `profileDir`. */
export function browserCpuWindow(profileDir: string): CpuWindow {
  return startCpuWindow(() => pidsWith(`--user-data-dir=${profileDir}`));
}

/** The 1-minute load average, for the tables: the machine is shared, and the reader should know how busy it was. */
export function loadAverage(): number {
  return Number(readOr('/proc/loadavg', '0').split(' ')[0]);
}
