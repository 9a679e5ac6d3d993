import { createHmac, randomBytes } from 'node:crypto';
import type { Work } from '../db/unit-of-work.js';
import type { Sql } from '../db/sql.js';
import { Member, RecoveryCode } from '../db/entities/index.js';
import { recordMemberEvent } from './events.js';

export const RECOVERY_CODE_COUNT = 10;
/** Crockford's base32: no I, L, O or U to misread. 16 characters are 80 bits. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function newCode(): string {
  const bytes = randomBytes(16);
  const chars = [...bytes].map((b) => ALPHABET[b & 31]).join('');
  return chars.match(/.{4}/g)!.join('-');
}

/** Typed as shown, in lowercase, with spaces, or with O for 0 and I/L for 1: the same code. */
export function normalizeRecoveryCode(typed: string): string {
  return typed.normalize('NFKC').toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}

export function hashRecoveryCode(secretsKey: Buffer, memberId: string, code: string): string {
  return createHmac('sha256', secretsKey).update(`recovery-code:${memberId}:${normalizeRecoveryCode(code)}`).digest('hex');
}

/** 「再発行」: a new set of ten replaces every earlier code, in the caller's unit of work. Returns them, once. */
export async function issueRecoveryCodes(work: Work, secretsKey: Buffer, memberId: string, ip: string): Promise<string[]> {
  await work.em.findOneOrFail(Member, { id: memberId });
  await work.em.nativeDelete(RecoveryCode, { member: memberId });
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
  for (const code of codes) work.em.create(RecoveryCode, { member: memberId, codeHash: hashRecoveryCode(secretsKey, memberId, code) } as never);
  await work.em.flush();
  await recordMemberEvent(work.sql, memberId, 'recovery_codes.issued', { count: codes.length }, ip);
  return codes;
}

export async function recoveryCodesLeft(sql: Sql, memberId: string): Promise<{ left: number; issued: boolean }> {
  const row = await sql.one<{ left: string; total: string }>(
    'select count(*) filter (where used_at is null) as left, count(*) as total from recovery_code where member_id = $1', [memberId]);
  return { left: Number(row?.left ?? 0), issued: Number(row?.total ?? 0) > 0 };
}

/** Uses a code once: one statement, so the same code sent twice at the same moment works once. */
export async function useRecoveryCode(sql: Sql, secretsKey: Buffer, memberId: string, typed: string): Promise<boolean> {
  if (normalizeRecoveryCode(typed).length !== 16) return false;
  const used = await sql.run(
    'update recovery_code set used_at = now() where member_id = $1 and code_hash = $2 and used_at is null',
    [memberId, hashRecoveryCode(secretsKey, memberId, typed)],
  );
  return used === 1;
}
