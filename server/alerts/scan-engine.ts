/**
 * The reference alert engine: every rule keeps its own state and every tick looks at every rule.
 * Obviously right rather than fast, it is what the per-symbol index (`engine.ts`) is checked
 * against in the tests and measured against in `bench/alert-engine.ts`; the server does not run it.
 */
import type { AlertRule } from '../../lib/wire/alerts';
import { crossed, expiredAlert, firedAlert, isDue, newestFirst, percentMove, rearmAt, windowMs } from './conditions';
import { createWindowExtremes, type WindowExtremes } from './price-window';
import type { AlertEngine, Firing, HeldAlert, LastPrice } from './types';

interface ScanRule {
  held: HeldAlert;
  /** The last price this rule saw. */
  prev: number | undefined;
  /** `percent-move`: the prices this rule saw within its window. */
  readonly window: WindowExtremes | undefined;
}

function satisfied(rule: AlertRule, state: ScanRule, price: number, at: number): boolean {
  switch (rule.condition) {
    case 'above':
      return price >= rule.price!;
    case 'below':
      return price <= rule.price!;
    case 'crossing':
      return crossed(state.prev, price, rule.price!);
    case 'percent-move': {
      state.window!.evict(at);
      const lo = state.window!.lowest();
      const hi = state.window!.highest();
      return lo !== undefined && hi !== undefined && percentMove(price, lo, hi) >= rule.percent!;
    }
  }
}

export function createScanEngine(): AlertEngine {
  const rules = new Map<string, ScanRule>();
  const last = new Map<string, LastPrice>();

  function expire(rule: ScanRule, now: number, expired: HeldAlert[]): boolean {
    if (!isDue(rule.held.alert, now)) return false;
    rule.held = { ...rule.held, alert: expiredAlert(rule.held.alert) };
    expired.push(rule.held);
    return true;
  }

  return {
    put(held) {
      const { rule } = held.alert;
      const seen = last.get(rule.symbol);
      const saw = seen !== undefined && seen.at > held.since;
      const window = rule.condition === 'percent-move' ? createWindowExtremes(windowMs(rule)) : undefined;
      if (saw) window?.push(seen);
      rules.set(held.alert.id, { held, prev: saw ? seen.price : undefined, window });
    },
    remove(alertId) {
      const rule = rules.get(alertId);
      rules.delete(alertId);
      return rule?.held;
    },
    get: (alertId) => rules.get(alertId)?.held,
    list: (user) => [...rules.values()].filter((r) => r.held.user === user).map((r) => r.held.alert).sort(newestFirst),
    count: (user) => [...rules.values()].filter((r) => r.held.user === user).length,
    *all() {
      for (const rule of rules.values()) yield rule.held;
    },
    seed(symbol, price, at) {
      last.set(symbol, { price, at });
    },
    lastPrice: (symbol) => last.get(symbol),
    prices: () => last.entries(),
    tick(symbol, price, tickAt) {
      const seen = last.get(symbol);
      const at = seen ? Math.max(tickAt, seen.at) : tickAt;
      const fired: Firing[] = [];
      const expired: HeldAlert[] = [];
      for (const state of rules.values()) {
        const { alert } = state.held;
        if (expire(state, at, expired) || alert.status !== 'active' || alert.rule.symbol !== symbol) continue;
        const ok = satisfied(alert.rule, state, price, at);
        state.prev = price;
        state.window?.push({ at, price });
        const until = rearmAt(alert);
        if (!ok || (until !== undefined && at < until)) continue;
        state.held = { ...state.held, alert: firedAlert(alert, price, at) };
        fired.push({ user: state.held.user, alert: state.held.alert, price, at });
      }
      last.set(symbol, { price, at });
      return { fired, expired, examined: rules.size };
    },
    sweep(now) {
      const expired: HeldAlert[] = [];
      for (const state of rules.values()) expire(state, now, expired);
      return { fired: [], expired, examined: rules.size };
    },
    get size() {
      return rules.size;
    },
  };
}
