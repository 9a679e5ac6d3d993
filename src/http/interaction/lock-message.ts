/** An error on the login page: a locale key, with its variables when it has any. */
export type LoginError = string | { key: string; vars: Record<string, string | number> };

/**
 * What a locked member reads (FAQ Q5/Q6): how long the lock lasts, or that only the society can
 * lift it, and whom to ask. The same for unknown user IDs, which lock the same way.
 */
export function lockedError(lock: { lockedUntil?: Date | null; lockedPermanently: boolean } | undefined, now = new Date()): LoginError {
  if (lock?.lockedPermanently) return 'login.error_locked_permanent';
  if (lock?.lockedUntil && lock.lockedUntil > now) {
    return { key: 'login.error_locked_for', vars: { minutes: Math.max(1, Math.ceil((lock.lockedUntil.getTime() - now.getTime()) / 60_000)) } };
  }
  return 'login.error_locked';
}
