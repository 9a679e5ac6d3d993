import type { Sql } from '../db/sql.js';
import { hashToken, newSingleUseToken } from './single-use-token.js';
import { isEmailTaken } from './taken.js';

/**
 * Issues a single-use verification token for `email`; earlier unused ones for the member stop
 * working. Two statements: run it inside the caller's change (changes/email.ts mailVerificationLink).
 */
export async function issueEmailVerification(sql: Sql, memberId: string, email: string, ttlSeconds: number): Promise<string> {
  const { token, hash } = newSingleUseToken();
  await sql.run('update email_verification set expires_at = now() where member_id = $1 and used_at is null and expires_at > now()', [memberId]);
  await sql.run(`insert into email_verification (token_hash, member_id, email, expires_at) values ($1, $2, $3, now() + make_interval(secs => $4))`, [
    hash,
    memberId,
    email,
    ttlSeconds,
  ]);
  return token;
}

/** The address the member asked to confirm and has not yet confirmed, if the link is still valid. */
export async function pendingVerification(sql: Sql, memberId: string): Promise<{ email: string } | undefined> {
  return sql.one<{ email: string }>(
    `select email from email_verification where member_id = $1 and used_at is null and expires_at > now() order by created_at desc limit 1`,
    [memberId],
  );
}

/** `previousEmail`: the confirmed address this one replaced (it gets a notice of the change). */
export type VerificationResult = { ok: true; memberId: string; email: string; previousEmail?: string } | { ok: false; reason: 'invalid' | 'taken' };

/**
 * Uses a verification link, in the caller's transaction (changes/email.ts confirmEmail): marks it
 * used and makes the address the member's verified address (finishing the 'email' step). An address
 * verified by another member meanwhile wins, even at the same moment: the unique index decides
 * (`member_email_unique`), and the loser is told the address is in use.
 */
export async function confirmEmailVerification(tx: Sql, token: string): Promise<VerificationResult> {
  const row = await tx.one<{ member_id: string; email: string }>(
    `update email_verification set used_at = now() where token_hash = $1 and used_at is null and expires_at > now() returning member_id, email`,
    [hashToken(token)],
  );
  if (!row) return { ok: false, reason: 'invalid' };
  if (await isEmailTaken(tx, row.email, row.member_id)) return { ok: false, reason: 'taken' };
  const before = await tx.one<{ email: string | null; email_verified: boolean }>('select email, email_verified from member where id = $1 for update', [
    row.member_id,
  ]);
  const previousEmail = before?.email_verified && before.email && before.email !== row.email ? before.email : undefined;
  await tx.run(`update member set email = $2, email_verified = true, pending_steps = array_remove(pending_steps, 'email'), updated_at = now() where id = $1`, [
    row.member_id,
    row.email,
  ]);
  await tx.run(`insert into member_event (member_id, type) values ($1, 'email.verified')`, [row.member_id]);
  return { ok: true, memberId: row.member_id, email: row.email, previousEmail };
}

/**
 * A link that no longer works but whose address is now the member's confirmed address: opened
 * again after it was used, it says so instead of asking for a new mail.
 */
export async function verificationAlreadyConfirmed(sql: Sql, token: string): Promise<boolean> {
  return Boolean(
    await sql.one(
      `select 1 from email_verification v join member m on m.id = v.member_id
      where v.token_hash = $1 and v.used_at is not null and m.email = v.email and m.email_verified`,
      [hashToken(token)],
    ),
  );
}

/** Whether a verification link is still usable, without using it (the confirm page shows first). */
export async function verificationIsUsable(sql: Sql, token: string): Promise<boolean> {
  return Boolean(await sql.one('select 1 from email_verification where token_hash = $1 and used_at is null and expires_at > now()', [hashToken(token)]));
}

/** The saved language of the member a verification link belongs to (used or not), so its pages speak it. */
export async function verificationLocale(sql: Sql, token: string): Promise<string | undefined> {
  const row = await sql.one<{ locale: string | null }>(
    'select m.locale from email_verification v join member m on m.id = v.member_id where v.token_hash = $1',
    [hashToken(token)],
  );
  return row?.locale ?? undefined;
}
