// @vitest-environment happy-dom
/** Which screen the dashboard shows while signing in, and the sign-in form itself. */
import { describe, expect, test, vi } from 'vitest';
import { SignInForm } from '../../components/SignInForm';
import { screenOf, type SignInPhase } from '../../dashboard/sign-in-state';
import type { HubStatus } from '../../lib/rpc/hub-api';
import { field, root, show, submit, type, useRenderRoot } from '../support/dom';

const IDLE: HubStatus = { s: 'idle', reason: 'no access token' };
const CONNECTING: HubStatus = { s: 'connecting', attempt: 0 };
const OPEN: HubStatus = { s: 'open', session: 's', user: 'ann', since: 1 };
const REFUSED: HubStatus = { s: 'closed', reason: 'Access token refused: not a valid access token' };
const NONE: SignInPhase = { s: 'none' };

describe('screenOf', () => {
  test.each<[string, HubStatus | null, SignInPhase, ReturnType<typeof screenOf>]>([
    ['nothing heard yet', null, NONE, { s: 'loading' }],
    ['no token stored', IDLE, NONE, { s: 'sign-in', busy: false, error: null }],
    ['a token stored and working', OPEN, NONE, { s: 'dashboard' }],
    ['a stored token, reconnecting', { s: 'waiting', attempt: 2, retryAt: 0, reason: 'connection lost' }, NONE, { s: 'dashboard' }],
    ['the server refused the stored token', REFUSED, NONE, { s: 'sign-in', busy: false, error: `Could not sign in. ${REFUSED.reason}` }],
    ['saving the token', IDLE, { s: 'saving' }, { s: 'sign-in', busy: true, error: null }],
    ['saved, hub still connecting', CONNECTING, { s: 'connecting', after: IDLE }, { s: 'sign-in', busy: true, error: null }],
    ['saved, signed in', OPEN, { s: 'connecting', after: CONNECTING }, { s: 'dashboard' }],
    ['saving failed', IDLE, { s: 'failed', message: 'disk full' }, { s: 'sign-in', busy: false, error: 'disk full' }],
  ])('%s', (_, status, phase, expected) => {
    expect(screenOf(status, phase)).toEqual(expected);
  });

  test('the refusal of the previous token is not taken as the answer to the new one', () => {
    // Statuses and call answers travel on different ports: right after saving, the view may still hold the old status.
    expect(screenOf(REFUSED, { s: 'connecting', after: REFUSED })).toEqual({ s: 'sign-in', busy: true, error: null });
    const newRefusal: HubStatus = { ...REFUSED };
    expect(screenOf(newRefusal, { s: 'connecting', after: REFUSED })).toEqual({ s: 'sign-in', busy: false, error: `Could not sign in. ${REFUSED.reason}` });
  });
});

describe('SignInForm', () => {
  useRenderRoot();

  test('hands the trimmed token to onSignIn from a field labelled Access token', async () => {
    const onSignIn = vi.fn();
    await show(<SignInForm busy={false} error={null} onSignIn={onSignIn} />);
    expect(field('Access token').type).toBe('password');
    await type(field('Access token'), '  tok  ');
    await submit();
    expect(onSignIn).toHaveBeenCalledWith('tok');
    expect(root.querySelector('button[type="submit"]')?.textContent).toBe('Sign in');
  });

  test('an empty field is not sent, and says why', async () => {
    const onSignIn = vi.fn();
    await show(<SignInForm busy={false} error={null} onSignIn={onSignIn} />);
    await submit();
    expect(onSignIn).not.toHaveBeenCalled();
    expect(root.querySelector('[role="alert"]')?.textContent).toBe('Paste an access token first');
  });

  test("the server's reason is shown as text, and the form is disabled while busy", async () => {
    const hostile = '<img src=x onerror=alert(1)>';
    await show(<SignInForm busy={false} error={hostile} onSignIn={() => {}} />);
    expect(root.querySelector('[role="alert"]')?.textContent).toBe(hostile);
    expect(root.querySelector('img')).toBeNull();
    await show(<SignInForm busy error={null} onSignIn={() => {}} />);
    expect(root.querySelector('fieldset')?.disabled).toBe(true);
    expect(root.textContent).toContain('Signing in…');
  });
});
