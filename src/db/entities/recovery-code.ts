import { defineEntity, p } from '@mikro-orm/core';
import { SOCIETY_POLICY } from '../society.js';
import { randomUUID } from 'node:crypto';
import { MemberSchema } from './member.js';

/** One of the member's ten single-use recovery codes; only an HMAC of it is kept. */
export const RecoveryCodeSchema = defineEntity({
  name: 'RecoveryCode',
  tableName: 'recovery_code',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    /** The member's society (src/db/society.ts): set by PostgreSQL from the connection on insert. */
    societyId: p.string().columnType('text').defaultRaw("current_setting('app.society'::text)"),
    member: p.manyToOne(MemberSchema).deleteRule('cascade').foreignKeyName('recovery_code_member_id_fkey'),
    codeHash: p.string().length(64),
    /** The id of the SECRETS_KEY the HMAC was made with; null for codes issued before ids were kept. */
    keyId: p.string().length(16).nullable(),
    /** The acr of the session that issued it, when weaker than a code is worth (factors/acr.ts); null: worth what it is. */
    trustAcr: p.string().length(32).nullable(),
    usedAt: p.datetime().nullable(),
    createdAt: p
      .datetime()
      .defaultRaw('now()')
      .onCreate(() => new Date()),
  },
  uniques: [{ name: 'recovery_code_hash_unique', properties: ['member', 'codeHash'] }],
  /** Rows of the connection's society only (src/db/society.ts). */
  rowLevelSecurity: 'force',
  policies: [SOCIETY_POLICY],
});

export class RecoveryCode extends RecoveryCodeSchema.class {}
RecoveryCodeSchema.setClass(RecoveryCode);
