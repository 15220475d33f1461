/**
 * The alert engine's semantics as a truth table, run against both the per-symbol index the server
 * uses and the reference scan of every rule; then the two compared on random rules and ticks.
 */
import { describe, expect, test } from 'vitest';
import type { AlertRule, AlertStatus, ServerAlert } from '../../lib/wire/alerts';
import { createAlertEngine } from '../../server/alerts/engine';
import { createScanEngine } from '../../server/alerts/scan-engine';
import type { AlertEngine, EngineOutcome, HeldAlert } from '../../server/alerts/types';
import { seededRandom } from '../support/random';

const MIN = 60_000;
const ENGINES = [
  ['index', createAlertEngine],
  ['scan', createScanEngine],
] as const;

type RuleInput = Partial<AlertRule> & Pick<AlertRule, 'condition'>;

function held(rule: RuleInput, options: { id?: string; user?: string; since?: number; status?: AlertStatus } = {}): HeldAlert {
  const since = options.since ?? 0;
  const alert: ServerAlert = {
    id: options.id ?? 'a1',
    rule: { symbol: 'AAPL', repeat: 'once', ...rule },
    status: options.status ?? 'active',
    createdAt: since,
    fireCount: 0,
  };
  return { user: options.user ?? 'alice', alert, since };
}

interface Row {
  readonly name: string;
  readonly rule: RuleInput;
  /** Ticks of the symbol before the alert is created (at 0). */
  readonly before?: ReadonlyArray<readonly [number, number]>;
  readonly ticks: ReadonlyArray<readonly [number, number]>;
  /** Indexes into `ticks` of the ticks that fire the alert. */
  readonly fires: readonly number[];
  readonly status?: AlertStatus;
  /** Final status (default: `fired` for a once rule that fired, else `active`). */
  readonly final?: AlertStatus;
}

const cooldown5 = { repeat: 'recurring', cooldownMinutes: 5 } as const;

const ROWS: Row[] = [
  { name: 'above: exactly at the threshold fires', rule: { condition: 'above', price: 100 }, ticks: [[1000, 99], [2000, 100]], fires: [1] },
  { name: 'above: a cent under never fires', rule: { condition: 'above', price: 100 }, ticks: [[1000, 99.99], [2000, 99.5]], fires: [] },
  { name: 'above: already above at the first tick fires at once', rule: { condition: 'above', price: 100 }, ticks: [[1000, 150]], fires: [0] },
  { name: 'below: exactly at the threshold fires', rule: { condition: 'below', price: 100 }, ticks: [[1000, 101], [2000, 100]], fires: [1] },
  { name: 'below: a cent over never fires', rule: { condition: 'below', price: 100 }, ticks: [[1000, 100.01]], fires: [] },
  { name: 'crossing: the first tick has no previous and does not fire', rule: { condition: 'crossing', price: 100 }, before: [[-1000, 90]], ticks: [[1000, 110]], fires: [] },
  { name: 'crossing: the first tick exactly on the threshold fires', rule: { condition: 'crossing', price: 100 }, ticks: [[1000, 100]], fires: [0] },
  { name: 'crossing: a jump up over the threshold fires', rule: { condition: 'crossing', price: 100 }, ticks: [[1000, 95], [2000, 105]], fires: [1] },
  { name: 'crossing: a jump down over the threshold fires', rule: { condition: 'crossing', price: 100 }, ticks: [[1000, 105], [2000, 95]], fires: [1] },
  { name: 'crossing: landing exactly on the threshold fires', rule: { condition: 'crossing', price: 100 }, ticks: [[1000, 95], [2000, 100]], fires: [1] },
  { name: 'crossing: moving on one side never fires', rule: { condition: 'crossing', price: 100 }, ticks: [[1000, 95], [2000, 99], [3000, 99.99], [4000, 97]], fires: [] },
  {
    name: 'crossing: leaving the threshold it sat on is not a crossing',
    rule: { condition: 'crossing', price: 100, ...cooldown5 },
    ticks: [[1000, 100], [1000 + 5 * MIN, 101]],
    fires: [0],
  },
  { name: 'gap: above fires after hours without ticks', rule: { condition: 'above', price: 100 }, ticks: [[1000, 99], [1000 + 10 * 24 * 60 * MIN, 150]], fires: [1] },
  { name: 'gap: crossing compares with the last tick however old', rule: { condition: 'crossing', price: 100 }, ticks: [[1000, 95], [1000 + 10 * 24 * 60 * MIN, 105]], fires: [1] },
  {
    name: 'gap: percent-move does not reach back past its window',
    rule: { condition: 'percent-move', percent: 5, windowMinutes: 10 },
    ticks: [[1000, 100], [1000 + 24 * 60 * MIN, 150]],
    fires: [],
  },
  {
    name: 'cooldown: nothing at cooldown - 1 ms, fires at the cooldown',
    rule: { condition: 'above', price: 100, ...cooldown5 },
    ticks: [[1000, 101], [1000 + 5 * MIN - 1, 102], [1000 + 5 * MIN, 102], [1000 + 5 * MIN + 1, 103]],
    fires: [0, 2],
  },
  {
    name: 'cooldown: a crossing during the cooldown is lost, the next one fires',
    rule: { condition: 'crossing', price: 100, ...cooldown5 },
    ticks: [[1000, 95], [2000, 105], [2000 + 5 * MIN - 1, 95], [2000 + 5 * MIN, 105]],
    fires: [1, 3],
  },
  {
    name: 'cooldown: percent-move fires again once cooled, if the move still holds',
    rule: { condition: 'percent-move', percent: 5, windowMinutes: 30, ...cooldown5 },
    ticks: [[1000, 100], [2000, 106], [2000 + 5 * MIN - 1, 106], [2000 + 5 * MIN, 106]],
    fires: [1, 3],
  },
  { name: 'expiry: a tick 1 ms before the expiry fires', rule: { condition: 'above', price: 100, expiresAt: 5000 }, ticks: [[4999, 101]], fires: [0] },
  { name: 'expiry: a tick at the expiry does not fire, the alert expired', rule: { condition: 'above', price: 100, expiresAt: 5000 }, ticks: [[5000, 101]], fires: [], final: 'expired' },
  {
    name: 'expiry: a recurring alert stops at its expiry',
    rule: { condition: 'above', price: 100, expiresAt: 5 * MIN + 2000, ...cooldown5 },
    ticks: [[1000, 101], [5 * MIN + 1000, 101], [5 * MIN + 2000, 101], [20 * MIN, 101]],
    fires: [0, 1],
    final: 'expired',
  },
  { name: 'percent: a rise just under the percent does not fire', rule: { condition: 'percent-move', percent: 5, windowMinutes: 10 }, ticks: [[1000, 100], [2000, 104.99]], fires: [] },
  { name: 'percent: a fall just under the percent does not fire', rule: { condition: 'percent-move', percent: 5, windowMinutes: 10 }, ticks: [[1000, 100], [2000, 95.01]], fires: [] },
  { name: 'percent: a rise of exactly the percent fires', rule: { condition: 'percent-move', percent: 5, windowMinutes: 10 }, ticks: [[1000, 100], [2000, 105]], fires: [1] },
  { name: 'percent: a fall of exactly the percent fires', rule: { condition: 'percent-move', percent: 5, windowMinutes: 10 }, ticks: [[1000, 100], [2000, 95]], fires: [1] },
  {
    name: 'percent: the reference may be any tick in the window, not just the last',
    rule: { condition: 'percent-move', percent: 5, windowMinutes: 10 },
    ticks: [[1000, 100], [2000, 102], [3000, 104], [4000, 105]],
    fires: [3],
  },
  {
    name: 'percent: a tick exactly a window ago still counts',
    rule: { condition: 'percent-move', percent: 5, windowMinutes: 10 },
    ticks: [[1000, 100], [1000 + 10 * MIN, 105]],
    fires: [1],
  },
  {
    name: 'percent: a move older than the window does not count',
    rule: { condition: 'percent-move', percent: 5, windowMinutes: 10 },
    ticks: [[1000, 100], [1000 + 10 * MIN + 1, 105]],
    fires: [],
  },
  {
    name: 'percent: a window that slid past the low no longer sees it',
    rule: { condition: 'percent-move', percent: 5, windowMinutes: 10 },
    ticks: [[1000, 100], [5 * MIN, 104], [10 * MIN + 2000, 105], [10 * MIN + 3000, 109.2]],
    fires: [3],
  },
  {
    name: 'percent: prices from before the alert existed are no reference',
    rule: { condition: 'percent-move', percent: 5, windowMinutes: 10 },
    before: [[-1000, 100]],
    ticks: [[1000, 105], [2000, 110.25]],
    fires: [1],
  },
  { name: 'paused: never fires', rule: { condition: 'above', price: 100 }, status: 'paused', ticks: [[1000, 101], [2000, 150]], fires: [], final: 'paused' },
  { name: 'once: never fires twice', rule: { condition: 'above', price: 100 }, ticks: [[1000, 101], [2000, 102], [3000, 99], [4000, 101]], fires: [0], final: 'fired' },
];

describe.each(ENGINES)('%s engine truth table', (_name, createEngine) => {
  test.each(ROWS)('$name', (row) => {
    const engine = createEngine();
    for (const [at, price] of row.before ?? []) engine.tick('AAPL', price, at);
    engine.put(held(row.rule, { status: row.status ?? 'active' }));
    const fired = row.ticks.flatMap(([at, price], i) => (engine.tick('AAPL', price, at).fired.length > 0 ? [i] : []));
    expect(fired).toEqual(row.fires);
    const once = (row.rule.repeat ?? 'once') === 'once';
    const final = row.final ?? (once && row.fires.length > 0 ? 'fired' : 'active');
    const alert = engine.get('a1')!.alert;
    expect(alert.status).toBe(final);
    expect(alert.fireCount).toBe(row.fires.length);
    if (row.fires.length > 0) {
      const [at, price] = row.ticks[row.fires.at(-1)!]!;
      expect(alert).toMatchObject({ firedAt: at, firedPrice: price });
    }
  });

  test('the sweep expires an alert at its expiry without any tick, and only then', () => {
    const engine = createEngine();
    engine.put(held({ condition: 'above', price: 100, expiresAt: 5000 }, { id: 'a' }));
    engine.put(held({ condition: 'below', price: 100, expiresAt: 5000 }, { id: 'b', status: 'paused' }));
    expect(engine.sweep(4999).expired).toEqual([]);
    const { expired } = engine.sweep(5000);
    expect(expired.map((h) => [h.alert.id, h.alert.status]).sort()).toEqual([['a', 'expired'], ['b', 'expired']]);
    expect(engine.tick('AAPL', 150, 6000).fired).toEqual([]);
  });

  test('a tick of one symbol fires only that symbol’s rules, and expires due alerts of any symbol', () => {
    const engine = createEngine();
    engine.put(held({ condition: 'above', price: 100, symbol: 'AAPL' }, { id: 'a' }));
    engine.put(held({ condition: 'above', price: 100, symbol: 'MSFT' }, { id: 'm' }));
    engine.put(held({ condition: 'above', price: 100, symbol: 'KO', expiresAt: 500 }, { id: 'k' }));
    const outcome = engine.tick('MSFT', 101, 1000);
    expect(outcome.fired.map((f) => f.alert.id)).toEqual(['m']);
    expect(outcome.expired.map((h) => h.alert.id)).toEqual(['k']);
    expect(engine.get('a')!.alert.status).toBe('active');
  });

  test('a removed alert never fires; put replaces an alert and starts its rule afresh', () => {
    const engine = createEngine();
    engine.put(held({ condition: 'above', price: 100 }, { id: 'a' }));
    engine.remove('a');
    expect(engine.tick('AAPL', 150, 1000).fired).toEqual([]);
    expect(engine.get('a')).toBeUndefined();
    engine.put(held({ condition: 'crossing', price: 100 }, { id: 'c', since: 1500 }));
    engine.tick('AAPL', 90, 2000);
    engine.put(held({ condition: 'crossing', price: 120 }, { id: 'c', since: 2500 }));
    expect(engine.tick('AAPL', 130, 3000).fired).toEqual([]); // the new version has no previous price yet
    expect(engine.tick('AAPL', 110, 4000).fired.map((f) => f.alert.id)).toEqual(['c']);
  });

  test('a seeded price (restored after a restart) primes crossing rules that started before it', () => {
    const engine = createEngine();
    engine.seed('AAPL', 95, 5000);
    engine.put(held({ condition: 'crossing', price: 100 }, { id: 'old', since: 1000 }));
    engine.put(held({ condition: 'crossing', price: 100 }, { id: 'new', since: 6000 }));
    expect(engine.tick('AAPL', 105, 7000).fired.map((f) => f.alert.id)).toEqual(['old']);
    expect(engine.lastPrice('AAPL')).toEqual({ price: 105, at: 7000 });
  });

  test('list is newest first and per user; count counts every status', () => {
    const engine = createEngine();
    engine.put(held({ condition: 'above', price: 1 }, { id: 'x', since: 1 }));
    engine.put(held({ condition: 'above', price: 1 }, { id: 'y', since: 3 }));
    engine.put(held({ condition: 'above', price: 1 }, { id: 'z', since: 2, user: 'bob' }));
    engine.tick('AAPL', 2, 10);
    expect(engine.list('alice').map((a) => a.id)).toEqual(['y', 'x']);
    expect(engine.count('alice')).toBe(2);
    expect(engine.list('carol')).toEqual([]);
  });
});

const summary = (outcome: EngineOutcome) => ({
  fired: outcome.fired.map((f) => `${f.alert.id}@${f.price}`).sort(),
  expired: outcome.expired.map((h) => h.alert.id).sort(),
});

describe('the index agrees with the reference scan', () => {
  test.each([1, 2, 3, 4, 5, 6])('on random rules and ticks (seed %i)', (seed) => {
    const rnd = seededRandom(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
    const symbols = ['AAPL', 'MSFT', 'KO'];
    const index = createAlertEngine();
    const scan = createScanEngine();
    const prices = new Map(symbols.map((s) => [s, 100]));
    // Ticks land on even milliseconds and alerts start on odd ones, so no alert starts in the same
    // millisecond as a tick (ordering within one millisecond is not part of the contract).
    let now = 0;
    let nextId = 0;
    const ids: string[] = [];

    function randomRule(): RuleInput {
      const symbol = pick(symbols);
      const base = prices.get(symbol)!;
      const repeat = rnd() < 0.5 ? ({ repeat: 'recurring', cooldownMinutes: 1 + Math.floor(rnd() * 3) } as const) : ({ repeat: 'once' } as const);
      const expiry = rnd() < 0.2 ? { expiresAt: now + Math.floor(rnd() * 20 * MIN) } : {};
      const condition = pick(['above', 'below', 'crossing', 'percent-move'] as const);
      const grid = Math.round((base + (rnd() - 0.5) * 10) * 2) / 2;
      return condition === 'percent-move'
        ? { symbol, condition, percent: pick([0.5, 1, 2, 3]), windowMinutes: 1 + Math.floor(rnd() * 5), ...repeat, ...expiry }
        : { symbol, condition, price: grid, ...repeat, ...expiry };
    }

    for (let step = 0; step < 4000; step++) {
      const r = rnd();
      if (r < 0.1 || ids.length < 20) {
        now += 1;
        const h = held(randomRule(), { id: `r${nextId++}`, since: now, status: rnd() < 0.1 ? 'paused' : 'active' });
        ids.push(h.alert.id);
        index.put(h);
        scan.put(h);
        now += 1;
      } else if (r < 0.13) {
        const id = pick(ids);
        expect(index.remove(id)).toEqual(scan.remove(id));
      } else if (r < 0.17) {
        // Pause, resume or edit an alert: a new version of it, starting now.
        const current = index.get(pick(ids));
        if (!current) continue;
        now += 1;
        const status: AlertStatus = current.alert.status === 'paused' ? 'active' : rnd() < 0.5 ? 'paused' : current.alert.status;
        const next: HeldAlert = { ...current, since: now, alert: { ...current.alert, status } };
        index.put(next);
        scan.put(next);
        now += 1;
      } else if (r < 0.18) {
        expect(summary(index.sweep(now))).toEqual(summary(scan.sweep(now)));
      } else {
        const symbol = pick(symbols);
        const price = Math.max(0.5, prices.get(symbol)! + Math.round((rnd() - 0.5) * 6) / 2);
        prices.set(symbol, price);
        now += 2 * (1 + Math.floor(rnd() * (rnd() < 0.05 ? 300_000 : 15_000)));
        expect(summary(index.tick(symbol, price, now))).toEqual(summary(scan.tick(symbol, price, now)));
      }
    }
    for (const user of ['alice']) expect(index.list(user)).toEqual(scan.list(user));
    expect(index.size).toBe(scan.size);
  });
});
