import { toDate, type Sql } from '../db/sql.js';
import type { LockoutState } from './lockout.js';
import { PASSWORD_CREDENTIAL_JOIN, PASSWORD_HOLDER_COLUMNS, type PasswordHolder } from './password.js';

/** The member's current password as the hasher checks it (their own hash, or the initial one). */
export async function loadPasswordHolder(sql: Sql, memberId: string): Promise<(PasswordHolder & { userId: string }) | undefined> {
  return sql.one<PasswordHolder & { userId: string }>(
    `select m.user_id as "userId", ${PASSWORD_HOLDER_COLUMNS} from member m ${PASSWORD_CREDENTIAL_JOIN} where m.id = $1`,
    [memberId],
  );
}

type MemberRow = LockoutState & PasswordHolder & { id: string; authEpoch: number };

/** The member, their password and their lockout state in one indexed statement (the login's hot path). */
const MEMBER_BY_USER_ID = `select m.id, ${PASSWORD_HOLDER_COLUMNS}, m.failed_logins as "failedLogins", m.lock_count as "lockCount",
  m.locked_until as "lockedUntil", m.locked_permanently as "lockedPermanently", m.auth_epoch as "authEpoch"
  from member m ${PASSWORD_CREDENTIAL_JOIN} where m.user_id = $1`;

/** The member a (normalised) user ID names, as the password login checks them; one pool statement. */
export async function memberForPasswordLogin(
  sql: Sql,
  userId: string,
): Promise<{ id: string; authEpoch: number; lock: LockoutState; holder: PasswordHolder } | undefined> {
  const row = await sql.one<MemberRow>(MEMBER_BY_USER_ID, [userId]);
  if (!row) return undefined;
  const { id, authEpoch, failedLogins, lockCount, lockedUntil, lockedPermanently, ...holder } = row;
  return { id, authEpoch, lock: { failedLogins, lockCount, lockedUntil: toDate(lockedUntil), lockedPermanently }, holder };
}
