import { toDate, type Sql } from '../db/sql.js';
import type { UnionPolicy } from '../config/union.js';
import { registerFailure, type LockoutState } from './lockout.js';

/**
 * Counts one failed proof of identity (a wrong password, a wrong birth date) against a member,
 * under a row lock so that parallel attempts are all counted. Returns the new state.
 */
export async function registerMemberFailure(sql: Sql, memberId: string, policy: UnionPolicy['lockout']): Promise<LockoutState & { lockedNow: boolean }> {
  return sql.transaction(async (tx) => {
    const row = (await tx.one<LockoutState>(
      `select failed_logins as "failedLogins", lock_count as "lockCount", locked_until as "lockedUntil", locked_permanently as "lockedPermanently"
       from member where id = $1 for update`, [memberId],
    ))!;
    const next = registerFailure({ ...row, lockedUntil: toDate(row.lockedUntil) }, policy, new Date());
    await tx.run(
      'update member set failed_logins = $2, lock_count = $3, locked_until = $4, locked_permanently = $5 where id = $1',
      [memberId, next.failedLogins, next.lockCount, next.lockedUntil, next.lockedPermanently],
    );
    return next;
  });
}
