import { hmac } from '../../crypto.js';
import { normalizeUserId } from '../../members/user-id.js';
import { isLocked, type LockoutState } from '../../members/lockout.js';
import { countUnknownIdFailure, failedProof, proofAttempts } from '../../flow/attempt.js';
import type { FlowDeps } from '../../flow/ports.js';

export type PasswordLoginResult =
  | { ok: true; memberId: string; authEpoch: number }
  | { ok: false; reason: 'invalid' | 'rate_limited' }
  /** `lock`: until when, or for good; said to the member, the same for unknown user IDs. */
  | { ok: false; reason: 'locked'; lock: Pick<LockoutState, 'lockedUntil' | 'lockedPermanently'> };

/**
 * Identifies a member by user ID and password. The answer, and its timing, are the same whether or
 * not the user ID exists: unknown IDs have their own lockout counters, and every attempt costs one bcrypt.
 */
export async function authenticateWithPassword(deps: FlowDeps, input: { userId: string; password: string; ip: string }): Promise<PasswordLoginResult> {
  const { config, hasher, rateLimits } = deps;
  const policy = config.union;
  // Only failures count against the address: members behind one shared address (an office, a
  // family) who type their password right never use up each other's attempts.
  const ipBucket = `login-ip:${input.ip}`;
  if (!(await rateLimits.under(ipBucket, policy.loginRateLimit.perIp))) return { ok: false, reason: 'rate_limited' };
  const countFailure = () => rateLimits.hit(ipBucket, policy.loginRateLimit.perIp, policy.loginRateLimit.windowSeconds);

  const userId = normalizeUserId(input.userId);
  const member = userId.length > 0 && userId.length <= 64 ? await deps.credentials.passwordLogin(userId) : undefined;
  const phantomSubject = hmac(config.secretsKey, `login:${userId}`);

  const before: LockoutState = member?.lock ?? (await deps.lockout.unknownIdState(phantomSubject));
  if (isLocked(before, deps.clock.now())) {
    await hasher.equaliseTiming(input.password);
    if (member) await deps.audit.record(member.id, 'login.refused_locked', {}, input.ip);
    await countFailure();
    return { ok: false, reason: 'locked', lock: before };
  }

  const valid = await hasher.verify(member?.holder, input.password);
  if (valid && member) {
    // The failures are forgotten when the whole login completes (pipeline finishLogin), not here:
    // otherwise re-entering the password would reset the count that wrong second-factor codes add to.
    await deps.audit.record(member.id, 'login.password_ok', {}, input.ip);
    return { ok: true, memberId: member.id, authEpoch: member.authEpoch };
  }

  // Compared before the row lock (bcrypt is too slow to hold it); the flow counts the failure.
  const after = member ? await countWrongPassword(deps, member.id, input.ip) : await countUnknownIdFailure(deps, phantomSubject);
  await countFailure();
  return after.lockedNow ? { ok: false, reason: 'locked', lock: after } : { ok: false, reason: 'invalid' };
}

/** A wrong password of a member: counted by the flow; a member locked meanwhile answers as locked, with the lock as it is now. */
async function countWrongPassword(
  deps: FlowDeps,
  memberId: string,
  ip: string,
): Promise<Pick<LockoutState, 'lockedUntil' | 'lockedPermanently'> & { lockedNow: boolean }> {
  const attempt = await proofAttempts(deps, ip)(memberId, 'login.password_wrong', failedProof);
  if (attempt.outcome === 'checked') return attempt.failure!;
  const now = await deps.logins.currentMember(memberId);
  return { lockedUntil: now?.lockedUntil ?? null, lockedPermanently: Boolean(now?.lockedPermanently), lockedNow: true };
}
