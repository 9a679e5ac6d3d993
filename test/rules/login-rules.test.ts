import { describe, it, expect } from '@jest/globals';
import { registerFailure, registerSuccess, isLocked } from '../../src/members/lockout.js';
import { owedSteps } from '../../src/members/required-steps.js';
import { acrFor, acrSatisfies, isStrongAcr, trustOfNewDevice, weakerAcr, ACR_PASSWORD_ONLY } from '../../src/factors/acr.js';
import { lockedError } from '../../src/http/interaction/lock-message.js';

/** The pure rules of the login, tested where they live (no database, no HTTP). */
const policy = { maxFailures: 5, lockSeconds: 300, lockGrowthFactor: 2, locksBeforePermanent: 3 };
const NOW = new Date('2026-12-06T00:00:00Z');

describe('the lockout rule', () => {
  it('locks on the fifth consecutive failure, each lock longer, the third for good', () => {
    let state = registerSuccess();
    const locks: (number | 'permanent')[] = [];
    for (let attempt = 0; attempt < 15; attempt++) {
      const next = registerFailure(state, policy, NOW);
      if (next.newlyLocked) locks.push(next.lockedPermanently ? 'permanent' : (next.lockedUntil!.getTime() - NOW.getTime()) / 1000);
      // The lock runs out before the next guess.
      state = { ...next, lockedUntil: next.lockedUntil && !next.lockedPermanently ? new Date(NOW.getTime() - 1) : next.lockedUntil };
    }
    expect(locks).toEqual([300, 600, 'permanent']);
  });

  it('counts nothing while locked, so racing guesses cannot climb to a permanent lock', () => {
    const locked = { failedLogins: 0, lockCount: 1, lockedUntil: new Date(NOW.getTime() + 60_000), lockedPermanently: false };
    const next = registerFailure(locked, policy, NOW);
    expect(next).toMatchObject({ lockCount: 1, lockedNow: true, newlyLocked: false });
    expect(isLocked(locked, NOW)).toBe(true);
    expect(isLocked({ ...locked, lockedUntil: new Date(NOW.getTime() - 1) }, NOW)).toBe(false);
  });
});

describe('the lock message', () => {
  it('says how long a lock lasts in whole minutes, or that it is for good', () => {
    expect(lockedError({ lockedUntil: new Date(NOW.getTime() + 61_000), lockedPermanently: false }, NOW)).toEqual({
      key: 'login.error_locked_for',
      vars: { minutes: 2 },
    });
    expect(lockedError({ lockedUntil: new Date(NOW.getTime() + 1_000), lockedPermanently: false }, NOW)).toEqual({
      key: 'login.error_locked_for',
      vars: { minutes: 1 },
    });
    expect(lockedError({ lockedUntil: null, lockedPermanently: true }, NOW)).toBe('login.error_locked_permanent');
    expect(lockedError(undefined, NOW)).toBe('login.error_locked');
  });
});

describe('owed steps', () => {
  it("keeps the manual's order, and adds re-consent when the terms are newer", () => {
    expect(owedSteps({ pendingSteps: ['password', 'birthdate', 'email'], termsVersion: '2026-01-01' }, '2026-01-01')).toEqual([
      'birthdate',
      'email',
      'password',
    ]);
    expect(owedSteps({ pendingSteps: [], termsVersion: '2025-01-01' }, '2026-01-01')).toEqual(['terms']);
    expect(owedSteps({ pendingSteps: [], termsVersion: '2026-01-01' }, '2026-01-01')).toEqual([]);
  });
});

describe('acr', () => {
  it('orders the levels: password, mailed code, app or recovery code, passkey', () => {
    expect(['email', 'totp', 'recovery_code', 'passkey', undefined].map(acrFor)).toEqual([
      'urn:kosmo:acr:email',
      'urn:kosmo:acr:mfa',
      'urn:kosmo:acr:mfa',
      'urn:kosmo:acr:phr',
      ACR_PASSWORD_ONLY,
    ]);
    expect(acrSatisfies('urn:kosmo:acr:mfa', ['urn:kosmo:acr:email'])).toBe(true);
    expect(acrSatisfies('urn:kosmo:acr:email', ['urn:kosmo:acr:mfa', 'urn:kosmo:acr:phr'])).toBe(false);
    expect(acrSatisfies('urn:kosmo:acr:email', ['unknown'])).toBe(true);
    expect([ACR_PASSWORD_ONLY, 'urn:kosmo:acr:email', 'urn:kosmo:acr:mfa', 'urn:kosmo:acr:phr'].map(isStrongAcr)).toEqual([false, false, true, true]);
  });

  it('makes a device added from a weaker session worth no more than that session', () => {
    expect(trustOfNewDevice('passkey', 'urn:kosmo:acr:email')).toBe('urn:kosmo:acr:email');
    expect(trustOfNewDevice('passkey', 'urn:kosmo:acr:mfa')).toBe('urn:kosmo:acr:mfa');
    expect(trustOfNewDevice('totp', 'urn:kosmo:acr:phr')).toBeNull();
    expect(trustOfNewDevice('totp', undefined)).toBeNull();
    expect(trustOfNewDevice('recovery_code', 'urn:kosmo:acr:email')).toBe('urn:kosmo:acr:email');
    expect(weakerAcr('urn:kosmo:acr:phr', 'urn:kosmo:acr:email')).toBe('urn:kosmo:acr:email');
    expect(weakerAcr('urn:kosmo:acr:mfa', null)).toBe('urn:kosmo:acr:mfa');
  });
});
