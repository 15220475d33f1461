/**
 * Alert engine throughput: ticks per second with 100,000 active rules across 100 symbols,
 * Switchboard's per-symbol index (`server/alerts/engine.ts`) against the reference that scans
 * every rule on every tick (`server/alerts/scan-engine.ts`), on the same rules and the same ticks.
 * Rules were created a day before the first tick (the steady state: a `percent-move` rule younger
 * than its window is evaluated on its own until the window has passed), are mostly out of reach of
 * a random walk, as real alerts are, and recurring, so the few that fire come back after their
 * cooldown. Each engine gets a fixed time budget; over the ticks both processed they must have
 * fired the same alerts.
 */
import type { AlertRule } from '../lib/wire/alerts';
import { createAlertEngine } from '../server/alerts/engine';
import { createScanEngine } from '../server/alerts/scan-engine';
import type { AlertEngine, HeldAlert } from '../server/alerts/types';
import type { Row } from './table';
import { seededRandom } from '../test/support/random';

const RULES = 100_000;
const SYMBOLS = 100;
const TICKS = 200_000;
/** Time each engine may spend ticking. */
const BUDGET_MS = 1_500;
const TICK_SPACING_MS = 10;
const DAY_MS = 24 * 3600 * 1000;
/** A few common window lengths (minutes): rules of one symbol and window share one sliding window. */
const WINDOWS = [5, 15, 60, 240, 1440];

function makeRules(random: () => number): HeldAlert[] {
  const rules: HeldAlert[] = [];
  for (let i = 0; i < RULES; i++) {
    const symbol = `S${i % SYMBOLS}`;
    const r = random();
    const away = 0.02 + random() * 0.5;
    const common = { symbol, repeat: 'recurring', cooldownMinutes: 1 + Math.floor(random() * 30) } as const;
    const rule: AlertRule =
      r < 0.3
        ? { ...common, condition: 'above', price: 100 * (1 + away) }
        : r < 0.6
          ? { ...common, condition: 'below', price: 100 * (1 - away / 2) }
          : r < 0.8
            ? { ...common, condition: 'crossing', price: 100 * (random() < 0.5 ? 1 + away : 1 - away / 2) }
            : { ...common, condition: 'percent-move', percent: 1 + random() * 10, windowMinutes: WINDOWS[Math.floor(random() * WINDOWS.length)]! };
    rules.push({ user: `user${i % 5000}`, since: -DAY_MS, alert: { id: `r${i}`, rule, status: 'active', createdAt: -DAY_MS, fireCount: 0 } });
  }
  return rules;
}

function makeTicks(random: () => number): Array<readonly [string, number, number]> {
  const prices = Array.from({ length: SYMBOLS }, () => 100);
  return Array.from({ length: TICKS }, (_, i) => {
    const s = Math.floor(random() * SYMBOLS);
    prices[s] = Math.max(1, prices[s]! * Math.exp((random() - 0.5) * 0.004));
    return [`S${s}`, Math.round(prices[s]! * 100) / 100, (i + 1) * TICK_SPACING_MS] as const;
  });
}

interface Run {
  readonly ticks: number;
  readonly ms: number;
  readonly examined: number;
  /** Alerts fired after each tick, cumulative. */
  readonly firedAfter: number[];
}

function run(engine: AlertEngine, rules: readonly HeldAlert[], ticks: ReadonlyArray<readonly [string, number, number]>): Run {
  for (const rule of rules) engine.put(rule);
  const firedAfter: number[] = [];
  let fired = 0;
  let examined = 0;
  const start = performance.now();
  let i = 0;
  for (; i < ticks.length; i++) {
    const [symbol, price, at] = ticks[i]!;
    const outcome = engine.tick(symbol, price, at);
    fired += outcome.fired.length;
    examined += outcome.examined;
    firedAfter.push(fired);
    if (performance.now() - start > BUDGET_MS) break;
  }
  return { ticks: Math.min(i + 1, ticks.length), ms: performance.now() - start, examined, firedAfter };
}

export function alertEngineRows(): Row[] {
  const random = seededRandom(42);
  const rules = makeRules(random);
  const ticks = makeTicks(random);
  const index = run(createAlertEngine(), rules, ticks);
  const scan = run(createScanEngine(), rules, ticks);
  const common = Math.min(index.ticks, scan.ticks);
  if (index.firedAfter[common - 1] !== scan.firedAfter[common - 1]) {
    throw new Error(`The engines disagree: ${index.firedAfter[common - 1]} vs ${scan.firedAfter[common - 1]} alerts fired in ${common} ticks`);
  }
  const rate = (r: Run) => (r.ticks / r.ms) * 1000;
  const row = (name: string, r: Run): Row => ({
    engine: name,
    'ticks/s': Math.round(rate(r)),
    'rules looked at / tick': r.examined / r.ticks,
    'alerts fired': r.firedAfter.at(-1)!,
    'ticks run': r.ticks,
    'vs scan': `${Math.round(rate(r) / rate(scan))}×`,
  });
  return [row('per-symbol index (Switchboard)', index), row('scan every rule', scan)];
}
