import { describe, expect, test } from 'vitest';
import { watchUser } from '../../lib/user-change';

describe('watchUser', () => {
  test('a change is another user than the last one seen; the first is none', () => {
    const changed = watchUser();
    expect(changed('ann')).toBe(false);
    expect(changed('ann')).toBe(false);
    expect(changed('bob')).toBe(true);
    expect(changed('bob')).toBe(false);
    expect(changed(null)).toBe(true);
    expect(changed(null)).toBe(false);
  });

  test('no user at first, then one, is a change', () => {
    const changed = watchUser();
    expect(changed(null)).toBe(false);
    expect(changed('ann')).toBe(true);
  });
});
