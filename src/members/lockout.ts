import type { UnionPolicy } from '../config/union.js';

export interface LockoutState {
  failedLogins: number;
  lockCount: number;
  lockedUntil: Date | null;
  lockedPermanently: boolean;
}

export function isLocked(state: LockoutState, now: Date): boolean {
  return state.lockedPermanently || (state.lockedUntil !== null && state.lockedUntil > now);
}

/**
 * One more consecutive failure. After `maxFailures` the account locks for `lockSeconds`, each
 * further lock longer by `lockGrowthFactor`; after `locksBeforePermanent` locks it stays locked
 * until an administrator unlocks it.
 */
export function registerFailure(state: LockoutState, policy: UnionPolicy['lockout'], now: Date): LockoutState & { lockedNow: boolean; newlyLocked: boolean } {
  // A failure that raced past the lock check while another one locked the account counts for
  // nothing; otherwise parallel guesses would climb straight to a permanent lock.
  if (isLocked(state, now)) return { ...state, lockedNow: true, newlyLocked: false };
  const failedLogins = state.failedLogins + 1;
  if (failedLogins < policy.maxFailures) return { ...state, failedLogins, lockedNow: false, newlyLocked: false };
  const lockCount = state.lockCount + 1;
  if (lockCount >= policy.locksBeforePermanent) {
    return { failedLogins: 0, lockCount, lockedUntil: null, lockedPermanently: true, lockedNow: true, newlyLocked: true };
  }
  const seconds = policy.lockSeconds * policy.lockGrowthFactor ** (lockCount - 1);
  return { failedLogins: 0, lockCount, lockedUntil: new Date(now.getTime() + seconds * 1000), lockedPermanently: false, lockedNow: true, newlyLocked: true };
}

/** A successful login clears the consecutive failures and the lock history. */
export function registerSuccess(): LockoutState {
  return { failedLogins: 0, lockCount: 0, lockedUntil: null, lockedPermanently: false };
}
