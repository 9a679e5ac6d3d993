import { createHmac, randomBytes } from 'node:crypto';
import { acceptedKeys, secretsKeyId, type SecretsKeys } from '../secrets.js';
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
  return createHmac('sha256', secretsKey)
    .update(`recovery-code:${memberId}:${normalizeRecoveryCode(code)}`)
    .digest('hex');
}

/**
 * 「再発行」: a new set of ten replaces every earlier code, in the caller's unit of work. Returns them,
 * once. Hashed under SECRETS_KEY, whose id is kept with each code.
 */
export async function issueRecoveryCodes(work: Work, keys: SecretsKeys, memberId: string, ip: string, trustAcr: string | null = null): Promise<string[]> {
  await work.em.findOneOrFail(Member, { id: memberId });
  await work.em.nativeDelete(RecoveryCode, { member: memberId });
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
  const keyId = secretsKeyId(keys.secretsKey);
  for (const code of codes)
    work.em.create(RecoveryCode, { member: memberId, codeHash: hashRecoveryCode(keys.secretsKey, memberId, code), keyId, trustAcr } as never);
  await work.em.flush();
  await recordMemberEvent(work.sql, memberId, 'recovery_codes.issued', { count: codes.length }, ip);
  return codes;
}

export async function recoveryCodesLeft(sql: Sql, memberId: string): Promise<{ left: number; issued: boolean }> {
  const row = await sql.one<{ left: string; total: string }>(
    'select count(*) filter (where used_at is null) as left, count(*) as total from recovery_code where member_id = $1',
    [memberId],
  );
  return { left: Number(row?.left ?? 0), issued: Number(row?.total ?? 0) > 0 };
}

/**
 * Uses a code once: one statement, so the same code sent twice at the same moment works once. A code
 * issued under a key now in SECRETS_KEY_PREVIOUS still works (a hash cannot be re-keyed). The id of
 * the code used (the login looks up what it is trusted for), or undefined.
 */
export async function useRecoveryCode(sql: Sql, keys: SecretsKeys, memberId: string, typed: string): Promise<string | undefined> {
  if (normalizeRecoveryCode(typed).length !== 16) return undefined;
  const used = await sql.one<{ id: string }>(
    'update recovery_code set used_at = now() where member_id = $1 and code_hash = any($2::varchar[]) and used_at is null returning id',
    [memberId, acceptedKeys(keys).map((key) => hashRecoveryCode(key, memberId, typed))],
  );
  return used?.id;
}

/** Unused recovery codes not made with `currentKeyId`: with an earlier key (by id), or before key ids were kept. */
export interface RecoveryCodesUnderOtherKeys {
  earlier: { codes: number; members: number; keyIds: string[] };
  unknown: { codes: number; members: number };
}

/**
 * For `secrets rotate`: a recovery code is kept only as an HMAC, which cannot be made again under a
 * new key, so it works only while the key that made it is SECRETS_KEY or in SECRETS_KEY_PREVIOUS.
 */
export async function recoveryCodesUnderOtherKeys(sql: Sql, currentKeyId: string): Promise<RecoveryCodesUnderOtherKeys> {
  const row = await sql.one<{ earlierCodes: string; earlierMembers: string; keyIds: string[]; unknownCodes: string; unknownMembers: string }>(
    `select count(*) filter (where key_id is not null) as "earlierCodes",
       count(distinct member_id) filter (where key_id is not null) as "earlierMembers",
       coalesce(array_agg(distinct key_id) filter (where key_id is not null), '{}') as "keyIds",
       count(*) filter (where key_id is null) as "unknownCodes",
       count(distinct member_id) filter (where key_id is null) as "unknownMembers"
     from recovery_code where used_at is null and (key_id is null or key_id <> $1)`,
    [currentKeyId],
  );
  return {
    earlier: { codes: Number(row?.earlierCodes ?? 0), members: Number(row?.earlierMembers ?? 0), keyIds: row?.keyIds ?? [] },
    unknown: { codes: Number(row?.unknownCodes ?? 0), members: Number(row?.unknownMembers ?? 0) },
  };
}
