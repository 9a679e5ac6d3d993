import { LockMode, type EntityManager } from '@mikro-orm/core';
import { OneTimeCode } from '../db/entities/index.js';
import type { Sql } from '../db/sql.js';

/**
 * Mailed one-time codes (`one_time_code`): only a keyed hash of each is kept (src/factors/email/codes.ts
 * makes and compares them); expiry, single use and the number of tries live with the row.
 */

/** How the email method's codes are marked (a stored value, spelled as when it was first written). */
export const EMAIL_CODE_PURPOSE = 'email';

/** How far back a spent code is still recognised as "used" rather than wrong. */
const USED_CODES_REMEMBERED_SECONDS = 3600;

/**
 * A new code in place of any live one of the same purpose (one live code at a time): one statement,
 * so the old code ends and the new one starts together without a transaction around them (test/bench
 * (e): a mailed-code login sends this once).
 */
export async function replaceLiveCode(sql: Sql, memberId: string, purpose: string, codeHash: string, seconds: number): Promise<void> {
  await sql.run(
    `with ended as (
       update one_time_code set expires_at = now()
       where member_id = $1 and purpose = $2 and used_at is null and expires_at > now()
     )
     insert into one_time_code (id, member_id, purpose, code_hash, attempts, expires_at)
     values (gen_random_uuid(), $1, $2, $3, 0, now() + make_interval(secs => $4))`,
    [memberId, purpose, codeHash, seconds],
  );
}

/** Whether the member has a code that can still be entered (then a reload does not mail another). */
export async function hasLiveCode(sql: Sql, memberId: string, purpose: string, maxAttempts: number): Promise<boolean> {
  const live = await sql.one<{ attempts: number }>(
    `select attempts from one_time_code
     where member_id = $1 and purpose = $2 and used_at is null and expires_at > now()
     order by created_at desc limit 1`,
    [memberId, purpose],
  );
  return live !== undefined && live.attempts < maxAttempts;
}

/**
 * `used`: the code was right once and has been spent (by an earlier login): said as such, not as
 * "expired", and counted as nothing (the member typed a code we mailed them).
 */
export type CodeCheck = 'accepted' | 'wrong' | 'used_up' | 'expired' | 'used';

/**
 * Checks a typed code (`matches` compares it with a stored hash) against the member's live code under
 * a row lock, in the caller's transaction (`em`: the one holding the member's row lock,
 * lockout-store.ts withMemberAttempt): a code is accepted once, and each wrong try is counted on the
 * code (it stops working after `maxAttempts`).
 */
export async function checkLiveCode(
  em: EntityManager,
  memberId: string,
  purpose: string,
  rule: { matches(codeHash: string): boolean; maxAttempts: number },
): Promise<CodeCheck> {
  const max = rule.maxAttempts;
  const live = await em.findOne(
    OneTimeCode,
    { member: memberId, purpose, usedAt: null },
    { orderBy: { createdAt: 'desc' }, lockMode: LockMode.PESSIMISTIC_WRITE },
  );
  const usable = live !== null && live.expiresAt > new Date() && live.attempts < max;
  if (usable && rule.matches(live.codeHash)) {
    live.usedAt = new Date();
    await em.flush();
    return 'accepted';
  }
  if (await matchesSpentCode(em, memberId, purpose, rule.matches)) return 'used';
  if (!live || live.expiresAt <= new Date()) return 'expired';
  if (live.attempts >= max) return 'used_up';
  live.attempts += 1;
  await em.flush();
  return live.attempts >= max ? 'used_up' : 'wrong';
}

async function matchesSpentCode(em: EntityManager, memberId: string, purpose: string, matches: (codeHash: string) => boolean): Promise<boolean> {
  const spent = await em.find(
    OneTimeCode,
    { member: memberId, purpose, usedAt: { $ne: null, $gt: new Date(Date.now() - USED_CODES_REMEMBERED_SECONDS * 1000) } },
    { orderBy: { usedAt: 'desc' }, limit: 5 },
  );
  return spent.some((c) => matches(c.codeHash));
}
