import type { Config } from '../../config/index.js';
import { toDate, type Sql } from '../../db/sql.js';
import { hitRateLimit } from '../../db/rate-limit.js';
import { hmac } from '../../crypto.js';
import { normalizeUserId } from '../../members/user-id.js';
import { isLocked, registerFailure, registerSuccess, type LockoutState } from '../../members/lockout.js';
import { registerMemberFailure } from '../../members/lockout-store.js';
import type { UnionPolicy } from '../../config/union.js';
import type { PasswordHasher } from '../../members/password.js';
import { recordMemberEvent } from '../../members/events.js';

export type PasswordLoginResult =
  | { ok: true; memberId: string }
  | { ok: false; reason: 'invalid' | 'locked' | 'rate_limited' };

interface MemberRow extends LockoutState {
  id: string;
  passwordHash: string | null;
  insuranceSymbol: string;
  insuranceNumber: string;
  birthdate: string;
}

const MEMBER_COLUMNS = `id, password_hash as "passwordHash", insurance_symbol as "insuranceSymbol", insurance_number as "insuranceNumber",
  to_char(birthdate, 'YYYY-MM-DD') as birthdate, failed_logins as "failedLogins", lock_count as "lockCount",
  locked_until as "lockedUntil", locked_permanently as "lockedPermanently"`;

function withDates<T extends LockoutState>(row: T | undefined): T | undefined {
  return row ? { ...row, lockedUntil: toDate(row.lockedUntil) } : undefined;
}

export interface PasswordLoginDeps {
  config: Config;
  sql: Sql;
  hasher: PasswordHasher;
}

/**
 * Checks a user ID and password. The answer, and its timing, are the same whether or not the user
 * ID exists: unknown IDs have their own lockout counters, and every attempt costs one bcrypt.
 */
export async function authenticateWithPassword(deps: PasswordLoginDeps, input: { userId: string; password: string; ip: string }): Promise<PasswordLoginResult> {
  const { config, sql, hasher } = deps;
  const policy = config.union;
  const limit = await hitRateLimit(sql, `login-ip:${input.ip}`, policy.loginRateLimit.perIp, policy.loginRateLimit.windowSeconds);
  if (!limit.allowed) return { ok: false, reason: 'rate_limited' };

  const userId = normalizeUserId(input.userId);
  const member = userId.length > 0 && userId.length <= 64
    ? withDates(await sql.one<MemberRow>(`select ${MEMBER_COLUMNS} from member where user_id = $1`, [userId]))
    : undefined;
  const phantomSubject = hmac(config.secretsKey, `login:${userId}`);
  const now = new Date();

  const before: LockoutState = member ?? withDates(await sql.one<LockoutState>(
    `select failed_logins as "failedLogins", lock_count as "lockCount", locked_until as "lockedUntil", locked_permanently as "lockedPermanently"
     from login_lockout where subject = $1`, [phantomSubject],
  )) ?? { failedLogins: 0, lockCount: 0, lockedUntil: null, lockedPermanently: false };

  if (isLocked(before, now)) {
    await hasher.equaliseTiming(input.password);
    if (member) await recordMemberEvent(sql, member.id, 'login.refused_locked', {}, input.ip);
    return { ok: false, reason: 'locked' };
  }

  const valid = await hasher.verify(member, input.password);
  if (valid && member) {
    const cleared = registerSuccess();
    await sql.run(
      `update member set failed_logins = $2, lock_count = $3, locked_until = $4, locked_permanently = $5, last_login_at = now() where id = $1`,
      [member.id, cleared.failedLogins, cleared.lockCount, cleared.lockedUntil, cleared.lockedPermanently],
    );
    await recordMemberEvent(sql, member.id, 'login.password_ok', {}, input.ip);
    return { ok: true, memberId: member.id };
  }

  const after = member
    ? await registerMemberFailure(sql, member.id, policy.lockout)
    : await registerUnknownIdFailure(sql, phantomSubject, policy.lockout);
  if (member) await recordMemberEvent(sql, member.id, after.lockedNow ? 'login.locked' : 'login.password_wrong', after.lockedPermanently ? { permanent: true } : {}, input.ip);
  return { ok: false, reason: after.lockedNow ? 'locked' : 'invalid' };
}

/** The same counting for a user ID that does not exist, so that it answers like a real one. */
async function registerUnknownIdFailure(sql: Sql, subject: string, policy: UnionPolicy['lockout']) {
  return sql.transaction(async (tx) => {
    const current = withDates(await tx.one<LockoutState>(
      `insert into login_lockout (subject) values ($1) on conflict (subject) do update set updated_at = now()
       returning failed_logins as "failedLogins", lock_count as "lockCount", locked_until as "lockedUntil", locked_permanently as "lockedPermanently"`,
      [subject],
    ))!;
    const next = registerFailure(current, policy, new Date());
    await tx.run(
      'update login_lockout set failed_logins = $2, lock_count = $3, locked_until = $4, locked_permanently = $5, updated_at = now() where subject = $1',
      [subject, next.failedLogins, next.lockCount, next.lockedUntil, next.lockedPermanently],
    );
    return next;
  });
}
