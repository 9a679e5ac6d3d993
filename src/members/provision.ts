import { z } from 'zod';
import type { Sql } from '../db/sql.js';
import { normalizeUserId, isValidProvisionedUserId } from './user-id.js';
import { isValidEmailAddress, normalizeEmail } from './email.js';
import { FIRST_LOGIN_STEPS } from './required-steps.js';

function isRealDate(value: string): boolean {
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(value) && d.getTime() <= Date.now();
}

/** What an administrator provides for a new member (CLI `member add`, CSV import, demo seed). */
export const memberInputSchema = z.object({
  userId: z.string().transform(normalizeUserId).refine(isValidProvisionedUserId, 'user ID must be 1-64 characters of a-z 0-9 - _ . @'),
  symbol: z
    .string()
    .trim()
    .regex(/^[0-9A-Za-z]{1,16}$/, 'symbol (記号) must be 1-16 letters or digits'),
  number: z
    .string()
    .trim()
    .regex(/^[0-9A-Za-z]{1,16}$/, 'number (番号) must be 1-16 letters or digits'),
  birthdate: z
    .string()
    .trim()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'birth date must be YYYY-MM-DD')
    .refine(isRealDate, 'birth date is not a real past date'),
  name: z.string().trim().min(1, 'name is required').max(200, 'name is longer than 200 characters'),
  email: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v ? normalizeEmail(v) : undefined))
    .refine((v) => v === undefined || isValidEmailAddress(v), 'email is not a valid address'),
});
export type MemberInput = z.input<typeof memberInputSchema>;
export type ValidMemberInput = z.output<typeof memberInputSchema>;

/**
 * Inserts members with their initial password in force (nothing hashed: it is derived), owing the
 * first-login steps. Runs inside the caller's transaction so that a batch lands whole or not at all.
 */
export async function insertMembers(sql: Sql, members: ValidMemberInput[]): Promise<void> {
  const chunk = 1000;
  for (let i = 0; i < members.length; i += chunk) {
    const part = members.slice(i, i + chunk);
    await sql.run(
      `insert into member (id, user_id, display_name, insurance_symbol, insurance_number, birthdate, email, email_verified,
         must_change_password, temporary_id, pending_steps)
       select gen_random_uuid(), u.user_id, u.name, u.symbol, u.number, u.birthdate::date, u.email, false, true, true, $7::text[]
       from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) as u(user_id, name, symbol, number, birthdate, email)`,
      [
        part.map((m) => m.userId),
        part.map((m) => m.name),
        part.map((m) => m.symbol),
        part.map((m) => m.number),
        part.map((m) => m.birthdate),
        part.map((m) => m.email ?? null),
        FIRST_LOGIN_STEPS,
      ],
    );
  }
}
