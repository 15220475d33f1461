// @vitest-environment happy-dom
import { act } from 'preact/test-utils';
import { describe, expect, test, vi } from 'vitest';
import { latestAlerts } from '../../components/hub-state';
import { EMPTY_ALERT_FORM, readAlertForm, type AlertFormFields } from '../../components/alert-form-model';
import { AlertForm } from '../../components/AlertForm';
import { AlertList } from '../../components/AlertList';
import { AlertOverlay, SNOOZE_MINUTES } from '../../components/AlertOverlay';
import { AlertsSection } from '../../components/AlertsSection';
import type { AlertRule } from '../../lib/wire/alerts';
import { err, ok, type Result } from '../../lib/errors';
import type { AlertItem, OverlayItem } from '../../lib/rpc/hub-api';
import { button, field, fill, maybeField, press, root, show, useRenderRoot } from '../support/dom';

useRenderRoot();

const NOW = Date.UTC(2026, 2, 3, 12, 0, 0);
const PRICES = new Map([
  ['AAPL', 200],
  ['BTC-USD', 67_000],
]);

function renderForm(prices: ReadonlyMap<string, number> = PRICES, answer: Result<{ id: string }> = ok({ id: 'a1' })) {
  const onCreate = vi.fn(async (_rule: AlertRule): Promise<Result<{ readonly id: string }>> => answer);
  return { onCreate, shown: show(<AlertForm symbols={[...prices.keys()].sort()} prices={() => prices} onCreate={onCreate} now={() => NOW} />) };
}

const errorText = () => root.querySelector('.alert-form [role="alert"]')?.textContent;

describe('AlertForm', () => {
  test('has visibly labelled fields and a Create alert button; kind-specific fields appear with their kind', async () => {
    await renderForm().shown;
    for (const label of ['Symbol', 'Condition', 'Price', 'Repeat', 'Expires', 'Note']) expect(maybeField(label), label).not.toBeNull();
    expect(button('Create alert')?.type).toBe('submit');
    const options = [...field('Condition').querySelectorAll('option')].map((o) => [o.value, o.textContent]);
    expect(options).toEqual([
      ['above', 'above'],
      ['below', 'below'],
      ['crossing', 'crossing'],
      ['percent-move', 'percent move'],
    ]);
    expect(maybeField('Percent')).toBeNull();
    expect(maybeField('Window (minutes)')).toBeNull();
    expect(maybeField('Cooldown (minutes)')).toBeNull();

    await fill(field('Condition'), 'percent-move');
    expect(maybeField('Price')).toBeNull();
    expect(maybeField('Percent')).not.toBeNull();
    expect(maybeField('Window (minutes)')).not.toBeNull();
    await fill(field('Repeat'), 'recurring');
    expect(maybeField('Cooldown (minutes)')).not.toBeNull();
    // The symbols on the price list are offered.
    expect([...root.querySelectorAll('datalist option')].map((o) => o.getAttribute('value'))).toEqual(['AAPL', 'BTC-USD']);
  });

  test('queues a valid rule (symbol upper-cased, numbers parsed) and clears the numbers', async () => {
    const { onCreate, shown } = renderForm();
    await shown;
    await fill(field('Symbol'), ' aapl ');
    await fill(field('Price'), '250.5');
    await fill(field('Note'), 'take profit');
    await press('Create alert');
    expect(onCreate).toHaveBeenCalledWith({ symbol: 'AAPL', condition: 'above', price: 250.5, repeat: 'once', note: 'take profit' });
    await vi.waitFor(() => expect(root.textContent).toContain('Queued: AAPL'));
    expect(field('Price').value).toBe('');
    expect(field('Symbol').value).toBe(' aapl ');
    expect(errorText()).toBeUndefined();
  });

  test('queues a recurring percent move with an expiry', async () => {
    const { onCreate, shown } = renderForm();
    await shown;
    await fill(field('Symbol'), 'BTC-USD');
    await fill(field('Condition'), 'percent-move');
    await fill(field('Percent'), '5');
    await fill(field('Window (minutes)'), '60');
    await fill(field('Repeat'), 'recurring');
    await fill(field('Cooldown (minutes)'), '30');
    await fill(field('Expires'), '2026-12-31T18:00');
    await press('Create alert');
    expect(onCreate).toHaveBeenCalledWith({
      symbol: 'BTC-USD',
      condition: 'percent-move',
      percent: 5,
      windowMinutes: 60,
      repeat: 'recurring',
      cooldownMinutes: 30,
      expiresAt: new Date('2026-12-31T18:00').getTime(),
    });
  });

  test.each<[string, Partial<AlertFormFields>, string, string | null]>([
    ['a missing symbol', { symbol: '' }, 'Symbol is required', 'Symbol'],
    ['a missing price', { price: '' }, 'Price is required', 'Price'],
    ['NaN', { price: 'NaN' }, 'Price must be a number', 'Price'],
    ['text for a price', { price: '12abc' }, 'Price must be a number', 'Price'],
    ['a negative price', { price: '-5' }, 'Price must be above 0', 'Price'],
    ['an absurdly large price', { price: '2000000000000' }, 'Price is absurdly large', 'Price'],
    ['a price 1000× away from the market', { price: '250000' }, "Price 250000 is more than 1000× away from AAPL's current 200", 'Price'],
    ['an unknown symbol', { symbol: 'XYZ' }, 'Unknown symbol XYZ: it is not on the price list', 'Symbol'],
    ['a malformed symbol', { symbol: 'AAPL!' }, 'Symbol must be 1-12 capital letters, digits, "." or "-"', 'Symbol'],
    ['a negative window', { condition: 'percent-move', percent: '5', windowMinutes: '-5' }, 'Window must be at least 1 minute', 'Window (minutes)'],
    ['a window over a day', { condition: 'percent-move', percent: '5', windowMinutes: '1441' }, 'Window must be at most 1440 minutes', 'Window (minutes)'],
    ['a missing window', { condition: 'percent-move', percent: '5' }, 'Window is required', 'Window (minutes)'],
    ['a missing percent', { condition: 'percent-move', windowMinutes: '5' }, 'Percent is required', 'Percent'],
    ['a recurring alert without cooldown', { repeat: 'recurring' }, 'Cooldown is required', 'Cooldown (minutes)'],
    ['an expiry in the past', { expires: '2026-03-01T10:00' }, 'Expiry must be in the future', 'Expires'],
  ])('refuses %s before queueing, next to the form', async (_what, fields, message, label) => {
    const { onCreate, shown } = renderForm();
    await shown;
    const filled: AlertFormFields = { ...EMPTY_ALERT_FORM, symbol: 'AAPL', price: '210', ...fields };
    await fill(field('Condition'), filled.condition);
    await fill(field('Repeat'), filled.repeat);
    for (const [name, value] of [
      ['Symbol', filled.symbol],
      ['Price', filled.price],
      ['Percent', filled.percent],
      ['Window (minutes)', filled.windowMinutes],
      ['Cooldown (minutes)', filled.cooldownMinutes],
      ['Expires', filled.expires],
    ] as const) {
      const input = maybeField(name);
      if (input) await fill(input, value);
    }
    await press('Create alert');
    expect(onCreate).not.toHaveBeenCalled();
    expect(errorText()).toBe(message);
    if (label) {
      expect(field(label).getAttribute('aria-invalid')).toBe('true');
      expect(field(label).getAttribute('aria-describedby')).toBe(root.querySelector('.alert-form [role="alert"]')?.id);
    }
    // Editing clears the message.
    await fill(field('Symbol'), 'AAPL');
    expect(errorText()).toBeUndefined();
  });

  test('shows the hub refusing the rule', async () => {
    const { shown } = renderForm(PRICES, err('InvalidInput', 'Too many alerts'));
    await shown;
    await fill(field('Symbol'), 'AAPL');
    await fill(field('Price'), '210');
    await press('Create alert');
    await vi.waitFor(() => expect(errorText()).toBe('Too many alerts'));
  });

  test('with no prices heard yet (offline on a fresh profile) any well-formed symbol is queued; the server checks it', async () => {
    const { onCreate, shown } = renderForm(new Map());
    await shown;
    await fill(field('Symbol'), 'NEWCO');
    await fill(field('Price'), '5');
    await press('Create alert');
    expect(onCreate).toHaveBeenCalledWith({ symbol: 'NEWCO', condition: 'above', price: 5, repeat: 'once' });
  });
});

describe('readAlertForm', () => {
  const context = { prices: PRICES, now: NOW };

  test('ignores fields the condition does not use', () => {
    const read = readAlertForm({ ...EMPTY_ALERT_FORM, symbol: 'AAPL', condition: 'percent-move', price: 'junk', percent: '2', windowMinutes: '15', cooldownMinutes: 'x' }, context);
    expect(read).toEqual({ ok: true, rule: { symbol: 'AAPL', condition: 'percent-move', percent: 2, windowMinutes: 15, repeat: 'once' } });
  });

  test.each(['Infinity', '0x10', '1e3', ' ', '1,5'])('reads %j as no plain number', (price) => {
    const read = readAlertForm({ ...EMPTY_ALERT_FORM, symbol: 'AAPL', price }, context);
    expect(read.ok).toBe(false);
  });
});

const RULE: AlertRule = { symbol: 'AAPL', condition: 'above', price: 200, repeat: 'once' };
const item = (id: string, state: AlertItem['state'], extra: Partial<AlertItem> = {}): AlertItem => ({ id, rule: RULE, state, ...extra });

describe('AlertList', () => {
  test('shows each alert with its rule in words and its state, a failed one with its reason', async () => {
    const alerts = [
      item('a1', 'pending sync'),
      item('a2', 'active', { rule: { symbol: 'BTC-USD', condition: 'percent-move', percent: 5, windowMinutes: 60, repeat: 'recurring', cooldownMinutes: 30 } }),
      item('a3', 'paused'),
      item('a4', 'fired', { firedAt: NOW, firedPrice: 200.12 }),
      item('a5', 'expired'),
      item('a6', 'failed', { rule: { ...RULE, symbol: 'XYZ' }, reason: 'unknown symbol XYZ' }),
    ];
    await show(<AlertList alerts={alerts} onPause={() => {}} onDelete={() => {}} now={() => NOW} />);
    const list = root.querySelector('ul[aria-label="Alerts"]');
    const rows = [...(list?.querySelectorAll('li') ?? [])];
    expect(rows.map((row) => [row.querySelector('.rule')?.textContent, row.querySelector('.state')?.textContent])).toEqual([
      ['AAPL above 200', 'Pending sync'],
      ['BTC-USD moves 5% within 60 min', 'Active'],
      ['AAPL above 200', 'Paused'],
      ['AAPL above 200', 'Fired'],
      ['AAPL above 200', 'Expired'],
      ['XYZ above 200', 'Failed'],
    ]);
    expect(rows[5]?.querySelector('.reason')?.textContent).toBe('unknown symbol XYZ');
    expect(rows[3]?.querySelector('.fired')?.textContent).toContain('Fired at 200.12');
    expect(rows[1]?.querySelector('.schedule')?.textContent).toBe('recurring, 30 min cooldown');
    expect(rows.map((row) => row.getAttribute('data-state'))).toEqual(['pending sync', 'active', 'paused', 'fired', 'expired', 'failed']);
  });

  test('Pause for an active alert, Resume for a paused one, Delete for every one', async () => {
    const onPause = vi.fn();
    const onDelete = vi.fn();
    await show(<AlertList alerts={[item('a1', 'active'), item('a2', 'paused'), item('a3', 'failed', { reason: 'no' })]} onPause={onPause} onDelete={onDelete} />);
    const rows = [...root.querySelectorAll('li')];
    const buttons = rows.map((row) => [...row.querySelectorAll('button')].map((b) => b.textContent));
    expect(buttons).toEqual([['Pause', 'Delete'], ['Resume', 'Delete'], ['Delete']]);
    await act(() => {
      rows[0]?.querySelector('button')?.click();
      rows[1]?.querySelector('button')?.click();
      rows[2]?.querySelector('button')?.click();
    });
    expect(onPause.mock.calls).toEqual([
      ['a1', true],
      ['a2', false],
    ]);
    expect(onDelete.mock.calls).toEqual([['a3']]);
  });

  test('renders a hostile note as text', async () => {
    const note = '<img src=x onerror=alert(1)>';
    await show(<AlertList alerts={[item('a1', 'active', { rule: { ...RULE, note } })]} onPause={() => {}} onDelete={() => {}} />);
    expect(root.querySelector('img')).toBeNull();
    expect(root.querySelector('.note')?.textContent).toBe(note);
  });

  test('says when there are none', async () => {
    await show(<AlertList alerts={[]} onPause={() => {}} onDelete={() => {}} />);
    expect(root.querySelector('ul[aria-label="Alerts"]')).not.toBeNull();
    expect(root.textContent).toContain('No alerts yet.');
  });
});

describe('AlertsSection', () => {
  test('a refused pause or delete says why; the next accepted one clears it', async () => {
    const pauseAlert = vi.fn(async (): Promise<Result<null>> => err('NotFound', 'no alert a2'));
    const deleteAlert = vi.fn(async (): Promise<Result<null>> => ok(null));
    await show(
      <AlertsSection
        alerts={[item('a2', 'active')]}
        symbols={['AAPL']}
        prices={() => new Map([['AAPL', 190]])}
        pauseAlert={pauseAlert}
        deleteAlert={deleteAlert}
        createAlert={async () => ok({ id: 'x' })}
      />,
    );
    await act(async () => button('Pause')!.click());
    await vi.waitFor(() => expect(root.querySelector('.error[role="alert"]')?.textContent).toBe('Could not pause the alert: no alert a2'));
    expect(pauseAlert).toHaveBeenCalledWith('a2', true);
    await act(async () => button('Delete')!.click());
    await vi.waitFor(() => expect(root.querySelector('.error[role="alert"]')).toBeNull());
    expect(deleteAlert).toHaveBeenCalledWith('a2');
  });
});

describe('latestAlerts', () => {
  test('takes the last alert list of a batch, or none', () => {
    const first = [item('a1', 'pending sync')];
    const second = [item('a1', 'active')];
    expect(
      latestAlerts([
        { kind: 'alerts', alerts: first },
        { kind: 'state', topic: 'prices:AAPL', value: 1, at: 1 },
        { kind: 'alerts', alerts: second },
      ]),
    ).toBe(second);
    expect(latestAlerts([{ kind: 'feed', changed: [], unread: 0 }])).toBeNull();
  });
});

describe('AlertOverlay', () => {
  const overlay: OverlayItem = {
    id: 'feed:ann/e1/7',
    kind: 'alert',
    title: 'AAPL above 200',
    body: 'AAPL hit 200.12',
    level: 'high',
    at: NOW,
    entryIds: ['feed:ann/e1/7'],
  };

  test('two overlays in one document are each labelled by their own title', async () => {
    const second = { ...overlay, id: 'alert:two', title: 'MSFT below 300' };
    await show(
      <div>
        <AlertOverlay item={overlay} onDismiss={() => {}} onSnooze={() => {}} now={() => NOW} />
        <AlertOverlay item={second} onDismiss={() => {}} onSnooze={() => {}} now={() => NOW} />
      </div>,
    );
    const labels = [...root.querySelectorAll('[role="alert"]')].map((alert) => {
      const id = alert.getAttribute('aria-labelledby') ?? '';
      return root.querySelector(`[id="${id}"]`)?.textContent;
    });
    expect(labels).toEqual(['AAPL above 200', 'MSFT below 300']);
  });

  test('is a role=alert with the title and body as text, and Dismiss / Snooze', async () => {
    const onDismiss = vi.fn();
    const onSnooze = vi.fn();
    await show(<AlertOverlay item={overlay} onDismiss={onDismiss} onSnooze={onSnooze} now={() => NOW} />);
    const alert = root.querySelector('[role="alert"]');
    expect(alert?.querySelector('.overlay-title')?.textContent).toBe('AAPL above 200');
    expect(alert?.querySelector('.overlay-body')?.textContent).toBe('AAPL hit 200.12');
    expect(alert?.textContent).toContain('Price alert');
    await press('Dismiss');
    await press(`Snooze ${SNOOZE_MINUTES} min`);
    expect(onDismiss).toHaveBeenCalledOnce();
    expect(onSnooze).toHaveBeenCalledWith(10);
  });

  test('renders hostile title and body as inert text', async () => {
    const hostile = `<img src=x onerror="document.title='pwned'"><script>document.title='pwned'</script>`;
    await show(<AlertOverlay item={{ ...overlay, title: hostile, body: hostile }} onDismiss={() => {}} onSnooze={() => {}} />);
    expect(root.querySelector('img, script')).toBeNull();
    expect(root.querySelector('.overlay-title')?.textContent).toBe(hostile);
    expect(root.querySelector('.overlay-body')?.textContent).toBe(hostile);
  });

  test('a summary says so; buttons are disabled while a dismiss is on its way', async () => {
    await show(
      <AlertOverlay item={{ ...overlay, kind: 'summary', title: '3 alerts fired while you were away' }} busy onDismiss={() => {}} onSnooze={() => {}} />,
    );
    expect(root.textContent).toContain('While you were away');
    expect(button('Dismiss')?.disabled).toBe(true);
  });
});
