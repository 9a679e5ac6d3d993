import type { Sql } from '../db/sql.js';

/**
 * The one rule for "is this user ID someone's": the onboarding step, the console and the admin CLI
 * ask here. `exceptMemberId` leaves the asking member out.
 */
export async function isUserIdTaken(sql: Sql, userId: string, exceptMemberId?: string): Promise<boolean> {
  return Boolean(await sql.one('select 1 from member where user_id = $1 and id is distinct from $2', [userId, exceptMemberId ?? null]));
}

/** The one rule for "is this address someone's" (stored normalized: members/email.ts). */
export async function isEmailTaken(sql: Sql, email: string, exceptMemberId?: string): Promise<boolean> {
  return Boolean(await sql.one('select 1 from member where email = $1 and id is distinct from $2', [email, exceptMemberId ?? null]));
}
