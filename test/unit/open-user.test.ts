import { describe, expect, test, vi } from 'vitest';
import { watchOpenUser } from '../../components/open-user';
import type { HubStatus } from '../../lib/rpc/hub-api';

const open = (user: string): HubStatus => ({ s: 'open', session: 's', user, since: 1 });

describe('watchOpenUser', () => {
  test('fires only when the hub opens for another user than the last open one', () => {
    const onChange = vi.fn();
    const watch = watchOpenUser(onChange);
    watch(open('ann'));
    watch({ s: 'waiting', attempt: 1, retryAt: 5, reason: 'closed' });
    watch(open('ann'));
    expect(onChange).not.toHaveBeenCalled();
    watch({ s: 'idle', reason: 'no token' });
    watch(open('bob'));
    expect(onChange).toHaveBeenCalledTimes(1);
    watch(open('bob'));
    expect(onChange).toHaveBeenCalledTimes(1);
  });
});
