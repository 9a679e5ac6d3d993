import type { Config } from '../../config/index.js';
import { toDate, type Sql } from '../../db/sql.js';
import { hitRateLimit, underRateLimit } from '../../db/rate-limit.js';
import { hmac } from '../../crypto.js';
import { normalizeUserId } from '../../members/user-id.js';
import { isLocked, type LockoutState } from '../../members/lockout.js';
import { unknownIdLockout } from '../../members/lockout-store.js';
import { countUnknownIdFailure, failedProof, proofAttempts } from '../../flow/attempt.js';
import { PASSWORD_CREDENTIAL_JOIN, PASSWORD_HOLDER_COLUMNS, type PasswordHasher, type PasswordHolder } from '../../members/password.js';
import { recordMemberEvent } from '../../members/events.js';

export type PasswordLoginResult =
  | { ok: true; memberId: string; authEpoch: number }
  | { ok: false; reason: 'invalid' | 'rate_limited' }
  /** `lock`: until when, or for good; said to the member, the same for unknown user IDs. */
  | { ok: false; reason: 'locked'; lock: Pick<LockoutState, 'lockedUntil' | 'lockedPermanently'> };

type MemberRow = LockoutState & PasswordHolder & { id: string; authEpoch: number };

/** The member, their password and their lockout state in one indexed statement (the login's hot path). */
const MEMBER_BY_USER_ID = `select m.id, ${PASSWORD_HOLDER_COLUMNS}, m.failed_logins as "failedLogins", m.lock_count as "lockCount",
  m.locked_until as "lockedUntil", m.locked_permanently as "lockedPermanently", m.auth_epoch as "authEpoch"
  from member m ${PASSWORD_CREDENTIAL_JOIN} where m.user_id = $1`;

export interface PasswordLoginDeps {
  config: Config;
  sql: Sql;
  hasher: PasswordHasher;
}

/**
 * Identifies a member by user ID and password. The answer, and its timing, are the same whether or
 * not the user ID exists: unknown IDs have their own lockout counters, and every attempt costs one bcrypt.
 */
export async function authenticateWithPassword(deps: PasswordLoginDeps, input: { userId: string; password: string; ip: string }): Promise<PasswordLoginResult> {
  const { config, sql, hasher } = deps;
  const policy = config.union;
  // Only failures count against the address: members behind one shared address (an office, a
  // family) who type their password right never use up each other's attempts.
  const ipBucket = `login-ip:${input.ip}`;
  if (!(await underRateLimit(sql, ipBucket, policy.loginRateLimit.perIp))) return { ok: false, reason: 'rate_limited' };
  const countFailure = () => hitRateLimit(sql, ipBucket, policy.loginRateLimit.perIp, policy.loginRateLimit.windowSeconds);

  const userId = normalizeUserId(input.userId);
  const row = userId.length > 0 && userId.length <= 64 ? await sql.one<MemberRow>(MEMBER_BY_USER_ID, [userId]) : undefined;
  const member = row ? { ...row, lockedUntil: toDate(row.lockedUntil) } : undefined;
  const phantomSubject = hmac(config.secretsKey, `login:${userId}`);

  const before: LockoutState = member ?? (await unknownIdLockout(sql, phantomSubject));
  if (isLocked(before, new Date())) {
    await hasher.equaliseTiming(input.password);
    if (member) await recordMemberEvent(sql, member.id, 'login.refused_locked', {}, input.ip);
    await countFailure();
    return { ok: false, reason: 'locked', lock: before };
  }

  const valid = await hasher.verify(member, input.password);
  if (valid && member) {
    // The failures are forgotten when the whole login completes (pipeline finishLogin), not here:
    // otherwise re-entering the password would reset the count that wrong second-factor codes add to.
    await recordMemberEvent(sql, member.id, 'login.password_ok', {}, input.ip);
    return { ok: true, memberId: member.id, authEpoch: member.authEpoch };
  }

  // Compared before the row lock (bcrypt is too slow to hold it); the flow counts the failure.
  const after = member ? await countWrongPassword(deps, member.id, userId, input.ip) : await countUnknownIdFailure(deps, phantomSubject);
  await countFailure();
  return after.lockedNow ? { ok: false, reason: 'locked', lock: after } : { ok: false, reason: 'invalid' };
}

/** A wrong password of a member: counted by the flow; a member locked meanwhile answers as locked, with the lock as it is now. */
async function countWrongPassword(
  deps: PasswordLoginDeps,
  memberId: string,
  userId: string,
  ip: string,
): Promise<Pick<LockoutState, 'lockedUntil' | 'lockedPermanently'> & { lockedNow: boolean }> {
  const attempt = await proofAttempts(deps, ip)(memberId, 'login.password_wrong', failedProof);
  if (attempt.outcome === 'checked') return attempt.failure!;
  const now = await deps.sql.one<MemberRow>(MEMBER_BY_USER_ID, [userId]);
  return { lockedUntil: toDate(now?.lockedUntil ?? null), lockedPermanently: Boolean(now?.lockedPermanently), lockedNow: true };
}
