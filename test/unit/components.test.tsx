// @vitest-environment happy-dom
import { act } from 'preact/test-utils';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { applyPriceUpdates } from '../../components/hub-state';
import { PriceList } from '../../components/PriceList';
import { SettingsForm } from '../../components/SettingsForm';
import { StatusLine } from '../../components/StatusLine';
import { err, ok, type Result } from '../../lib/errors';
import type { TopicUpdate } from '../../lib/rpc/hub-api';
import type { PriceTick } from '../../lib/wire/prices';
import { DEFAULT_SETTINGS, type Settings } from '../../lib/rpc/settings';
import { field, root, show, submit, type, useRenderRoot } from '../support/dom';

// Registered first so that it runs last (hooks after a test run in reverse order): after the unmount.
afterEach(() => {
  vi.useRealTimers();
});
useRenderRoot();

describe('StatusLine', () => {
  test.each([
    [{ s: 'open', session: 's', user: 'u', since: 0 } as const, 'Connected'],
    [{ s: 'open', session: 's', user: 'u', since: 0, transport: 'streaming' } as const, 'Connected (streaming)'],
    [{ s: 'open', session: 's', user: 'u', since: 0, transport: 'long polling' } as const, 'Connected (long polling)'],
    [{ s: 'offline' } as const, 'Offline'],
    [null, 'Connecting…'],
  ])('%j reads %s', async (status, text) => {
    await show(<StatusLine status={status} />);
    expect(root.querySelector('[role="status"]')?.textContent).toBe(text);
  });

  const refused = (code: number, reason: string) => ({ s: 'closed', reason, code }) as const;
  test.each([
    ['extension', refused(4003, 'origin not allowed'), "Not connected: this server does not allow the extension's origin (ALLOWED_ORIGINS)"],
    ['dashboard', refused(4003, 'origin not allowed'), "Not connected: this server does not allow this page's origin (ALLOWED_ORIGINS, or a proxy that changes the Host header)"],
    ['extension', refused(4010, 'Access token refused: not a valid access token'), 'Not connected: Access token refused: not a valid access token. Save a new access token in Options'],
    ['dashboard', refused(4010, 'access token refused'), 'Not connected: access token refused. Sign in with a new access token'],
    ['extension', refused(4011, 'access token expired'), 'Not connected: the access token expired. Save a new access token in Options'],
    ['dashboard', refused(4011, 'Access token refused: "exp" claim timestamp check failed'), 'Not connected: the access token expired. Sign in with a new access token'],
    ['extension', refused(4001, 'unsupported protocol version'), 'Not connected: unsupported protocol version. Update the extension'],
    ['extension', { s: 'closed', reason: 'hub closed' } as const, 'Disconnected: hub closed'],
  ] as const)('in the %s, %j reads %s', async (host, status, text) => {
    await show(<StatusLine status={status} host={host} />);
    expect(root.querySelector('[role="status"]')?.textContent).toBe(text);
  });

  test('the extension is the default host', async () => {
    await show(<StatusLine status={refused(4003, 'origin not allowed')} />);
    expect(root.querySelector('[role="status"]')?.textContent).toContain("the extension's origin");
  });

  test('counts down every second while waiting to reconnect', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const start = Date.now();
    await show(<StatusLine status={{ s: 'waiting', attempt: 1, retryAt: start + 3000, reason: 'connection lost' }} />);
    const text = () => root.querySelector('[role="status"]')?.textContent;
    expect(text()).toBe('Reconnecting in 3s (connection lost)');
    await act(() => {
      vi.advanceTimersByTime(999);
    });
    expect(text()).toBe('Reconnecting in 3s (connection lost)');
    await act(() => {
      vi.advanceTimersByTime(1);
    });
    expect(text()).toBe('Reconnecting in 2s (connection lost)');
  });
});

const tick = (symbol: string, price: number, prev: number): PriceTick => ({ symbol, price, prev, at: 1 });

describe('PriceList', () => {
  test('lists symbols in order with their move up or down', async () => {
    await show(<PriceList prices={[tick('MSFT', 410.5, 412), tick('AAPL', 190.25, 189), tick('IBM', 150, 150)]} />);
    const list = root.querySelector('ul[aria-label="Prices"]');
    const rows = [...(list?.querySelectorAll('li') ?? [])];
    expect(rows.map((row) => row.querySelector('.symbol')?.textContent)).toEqual(['AAPL', 'IBM', 'MSFT']);
    expect(rows[0]?.className).toContain('up');
    expect(rows[0]?.textContent).toContain('190.25');
    expect(rows[0]?.querySelector('.change')?.textContent).toBe('▲ 1.25 (+0.66%)');
    expect(rows[1]?.className).toContain('flat');
    expect(rows[2]?.className).toContain('down');
    expect(rows[2]?.querySelector('.change')?.textContent).toBe('▼ 1.50 (−0.36%)');
  });

  test('renders hostile text as text', async () => {
    const symbol = '<img src=x onerror=alert(1)>';
    await show(<PriceList prices={[tick(symbol, 1, 1)]} />);
    expect(root.querySelector('img')).toBeNull();
    expect(root.querySelector('.symbol')?.textContent).toBe(symbol);
  });

  test('says it is waiting while there are no prices', async () => {
    await show(<PriceList prices={[]} />);
    expect(root.textContent).toContain('Waiting for prices');
  });
});

describe('applyPriceUpdates', () => {
  const update = (topic: string, value: unknown): TopicUpdate => ({ kind: 'state', topic, value, at: 1 });

  test('keeps the latest valid tick per symbol and drops the rest', () => {
    const book = applyPriceUpdates(new Map(), [
      update('prices:AAPL', tick('AAPL', 1, 1)),
      update('prices:AAPL', tick('AAPL', 2, 1)),
      update('prices:BAD', { symbol: '<b>', price: 1, prev: 1, at: 1 }),
      update('prices:MSFT', 'not a tick'),
      update('news', tick('NEWS', 1, 1)),
      { kind: 'error', topic: 'prices:X', code: 'forbidden', message: 'no' },
    ]);
    expect([...book.values()]).toEqual([tick('AAPL', 2, 1)]);
  });

  test('returns the same book when nothing applied', () => {
    const book = new Map([['AAPL', tick('AAPL', 1, 1)]]);
    expect(applyPriceUpdates(book, [update('news', 'x')])).toBe(book);
  });
});

describe('SettingsForm', () => {
  const settings: Settings = { serverUrl: 'http://127.0.0.1:9999', token: 'secret' };

  test('has labelled fields, disabled until the settings load', async () => {
    await show(<SettingsForm initial={null} onSave={async (s) => ok(s)} />);
    // happy-dom does not apply a disabled fieldset to `:disabled`; browsers do.
    expect(field('Server URL').closest('fieldset')?.disabled).toBe(true);
    await show(<SettingsForm initial={DEFAULT_SETTINGS} onSave={async (s) => ok(s)} />);
    expect(field('Server URL').value).toBe(DEFAULT_SETTINGS.serverUrl);
    expect(field('Access token').value).toBe(DEFAULT_SETTINGS.token);
    expect(field('Server URL').closest('fieldset')?.disabled).toBe(false);
  });

  test('starts with no access token and says where to get one', async () => {
    await show(<SettingsForm initial={DEFAULT_SETTINGS} onSave={async (s) => ok(s)} />);
    const token = field('Access token');
    expect(token.value).toBe('');
    const hint = root.querySelector(`#${token.getAttribute('aria-describedby')}`);
    expect(hint?.textContent).toContain('POST /api/tokens');
  });

  test('saves what was typed and confirms', async () => {
    const onSave = vi.fn(async (s: Settings): Promise<Result<Settings>> => ok(s));
    await show(<SettingsForm initial={DEFAULT_SETTINGS} onSave={onSave} />);
    await type(field('Server URL'), settings.serverUrl);
    await type(field('Access token'), settings.token);
    const button = [...root.querySelectorAll('button')].find((b) => b.textContent === 'Save');
    await act(async () => {
      button?.click();
    });
    expect(onSave).toHaveBeenCalledWith({ ...settings, systemNotifications: true, quietHours: null });
    await vi.waitFor(() => expect(root.textContent).toContain('Saved'));
  });

  test('shows the stored system notifications and quiet hours, and saves every field', async () => {
    const stored: Settings = { ...settings, systemNotifications: false, quietHours: { start: '22:00', end: '07:00' } };
    const onSave = vi.fn(async (s: Settings): Promise<Result<Settings>> => ok(s));
    await show(<SettingsForm initial={stored} onSave={onSave} />);
    const checkbox = field('System notifications');
    expect(checkbox.type).toBe('checkbox');
    expect(checkbox.checked).toBe(false);
    expect(field('Quiet hours from').type).toBe('time');
    expect(field('Quiet hours from').value).toBe('22:00');
    expect(field('Quiet hours to').value).toBe('07:00');
    await act(() => {
      checkbox.click();
    });
    await type(field('Quiet hours to'), '06:30');
    await submit();
    expect(onSave).toHaveBeenLastCalledWith({ ...settings, systemNotifications: true, quietHours: { start: '22:00', end: '06:30' } });
    await vi.waitFor(() => expect(root.textContent).toContain('Saved'));
  });

  test('quiet hours are optional: both cleared saves none', async () => {
    const onSave = vi.fn(async (s: Settings): Promise<Result<Settings>> => ok(s));
    await show(<SettingsForm initial={{ ...settings, quietHours: { start: '22:00', end: '07:00' } }} onSave={onSave} />);
    await type(field('Quiet hours from'), '');
    await type(field('Quiet hours to'), '');
    await submit();
    expect(onSave).toHaveBeenLastCalledWith({ ...settings, systemNotifications: true, quietHours: null });
  });

  test('refuses half a quiet-hours range without saving', async () => {
    const onSave = vi.fn(async (s: Settings): Promise<Result<Settings>> => ok(s));
    await show(<SettingsForm initial={settings} onSave={onSave} />);
    await type(field('Quiet hours from'), '22:00');
    await submit();
    expect(onSave).not.toHaveBeenCalled();
    expect(root.querySelector('[role="alert"]')?.textContent).toBe('Set both quiet hours times, or neither');
  });

  test('shows the validation error', async () => {
    await show(<SettingsForm initial={DEFAULT_SETTINGS} onSave={async () => err('InvalidSettings', 'Server URL is not a URL')} />);
    await type(field('Server URL'), 'nope');
    await submit();
    await vi.waitFor(() => expect(root.querySelector('[role="alert"]')?.textContent).toBe('Server URL is not a URL'));
    expect(root.textContent).not.toContain('Saved');
  });
});
