import { toDate, type Sql } from '../db/sql.js';

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
 * a row lock, in the caller's transaction (`tx`: the one holding the member's row lock,
 * lockout-store.ts withMemberAttempt): a code is accepted once, and each wrong try is counted on the
 * code (it stops working after `maxAttempts`). Plain statements, no entities: a mailed-code login
 * checks one on its hot path (test/bench (e)).
 */
export async function checkLiveCode(
  tx: Sql,
  memberId: string,
  purpose: string,
  rule: { matches(codeHash: string): boolean; maxAttempts: number },
): Promise<CodeCheck> {
  const max = rule.maxAttempts;
  const live = await tx.one<{ id: string; code_hash: string; attempts: number; expires_at: Date | string }>(
    `select id, code_hash, attempts, expires_at from one_time_code
     where member_id = $1 and purpose = $2 and used_at is null
     order by created_at desc limit 1 for update`,
    [memberId, purpose],
  );
  const expired = live === undefined || toDate(live.expires_at)! <= new Date();
  if (live && !expired && live.attempts < max && rule.matches(live.code_hash)) {
    await tx.run('update one_time_code set used_at = now() where id = $1', [live.id]);
    return 'accepted';
  }
  if (await matchesSpentCode(tx, memberId, purpose, rule.matches)) return 'used';
  if (!live || expired) return 'expired';
  if (live.attempts >= max) return 'used_up';
  const attempts = live.attempts + 1;
  await tx.run('update one_time_code set attempts = $2 where id = $1', [live.id, attempts]);
  return attempts >= max ? 'used_up' : 'wrong';
}

async function matchesSpentCode(tx: Sql, memberId: string, purpose: string, matches: (codeHash: string) => boolean): Promise<boolean> {
  const spent = await tx.rows<{ code_hash: string }>(
    `select code_hash from one_time_code
     where member_id = $1 and purpose = $2 and used_at is not null and used_at > now() - make_interval(secs => $3)
     order by used_at desc limit 5`,
    [memberId, purpose, USED_CODES_REMEMBERED_SECONDS],
  );
  return spent.some((c) => matches(c.code_hash));
}
