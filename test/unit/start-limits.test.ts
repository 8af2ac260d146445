import { describe, expect, it } from 'vitest';
import { OpslabError } from '../../server/src/errors.js';
import { clientKey, StartLimits } from '../../server/src/practice/start-limits.js';

const refusal = (fn: () => unknown): OpslabError | null => {
  try {
    fn();
    return null;
  } catch (err) {
    return err as OpslabError;
  }
};

describe('practice start limits', () => {
  it('keys clients by address, IPv6 ones by their /64', () => {
    expect(clientKey('198.51.100.7')).toBe('198.51.100.7');
    expect(clientKey('::ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
  });

  it('refuses starts past the per-minute limit with Retry-After, per client, and forgets them after the window', () => {
    let now = 1_000_000;
    const limits = new StartLimits({ startsPerMinute: 2, startsPerHour: 0, newTraineesPerHour: 0 }, () => now);
    limits.reserve('a', false);
    now += 10_000;
    limits.reserve('a', false);
    const refused = refusal(() => limits.reserve('a', false))!;
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('50');
    expect(refused.message).toMatch(/Too many practice starts/);
    expect(refusal(() => limits.reserve('b', false))).toBeNull();
    now += 50_001;
    expect(refusal(() => limits.reserve('a', false))).toBeNull();
  });

  it('limits new trainees separately, and a start given back does not count', () => {
    const now = 5_000_000;
    const limits = new StartLimits({ startsPerMinute: 10, startsPerHour: 10, newTraineesPerHour: 2 }, () => now);
    const giveBack = limits.reserve('a', true);
    giveBack();
    limits.reserve('a', true);
    limits.reserve('a', true);
    expect(refusal(() => limits.reserve('a', true))?.message).toMatch(/new practice sessions/);
    // A trainee who already has a token may still start.
    expect(refusal(() => limits.reserve('a', false))).toBeNull();
  });
});
