import type { Sql } from '../db/sql.js';
import { hashToken, newSingleUseToken } from './single-use-token.js';

/**
 * Issues a 「パスワードをリセット」 token; earlier unused ones for the member stop working. Two
 * statements: run it inside the caller's change (changes/recovery.ts mailPasswordResetLink).
 */
export async function issuePasswordReset(sql: Sql, memberId: string, ttlSeconds: number): Promise<string> {
  const { token, hash } = newSingleUseToken();
  await sql.run('update password_reset set expires_at = now() where member_id = $1 and used_at is null and expires_at > now()', [memberId]);
  await sql.run('insert into password_reset (token_hash, member_id, expires_at) values ($1, $2, now() + make_interval(secs => $3))', [
    hash,
    memberId,
    ttlSeconds,
  ]);
  return token;
}

/** The member a reset link belongs to, if it is still usable (without using it). */
export async function passwordResetMember(sql: Sql, token: string): Promise<string | undefined> {
  const row = await sql.one<{ member_id: string }>('select member_id from password_reset where token_hash = $1 and used_at is null and expires_at > now()', [
    hashToken(token),
  ]);
  return row?.member_id;
}

/** Uses a reset link, once: inside the caller's transaction, so it lands with the new password or not at all. */
export async function consumePasswordReset(tx: Sql, token: string): Promise<string | undefined> {
  const row = await tx.one<{ member_id: string }>(
    'update password_reset set used_at = now() where token_hash = $1 and used_at is null and expires_at > now() returning member_id',
    [hashToken(token)],
  );
  return row?.member_id;
}
