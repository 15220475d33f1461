/** Lets a benchmark module run by itself: `node --import tsx bench/<name>.ts` prints just its table. */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { printTable, type Row } from '../table';

/** Prints `rows()` under `title` when the module at `moduleUrl` is the script node was started with. */
export async function runAlone(moduleUrl: string, title: string, rows: () => Promise<Row[]>): Promise<void> {
  const started = process.argv[1];
  if (started === undefined || pathToFileURL(resolve(started)).href !== moduleUrl) return;
  printTable(title, await rows());
}

/** Progress on stderr, so a long benchmark shows it is alive without mixing into the tables. */
export const progress = (message: string): void => void process.stderr.write(`  … ${message}\n`);

/** A positive integer from the environment variable `name`, or `fallback`. */
export function envInt(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}
