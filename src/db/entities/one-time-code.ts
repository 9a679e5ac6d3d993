import { defineEntity, p } from '@mikro-orm/core';
import { SOCIETY_POLICY } from '../society.js';
import { randomUUID } from 'node:crypto';
import { MemberSchema } from './member.js';

/** A short code sent to the member (an email one-time password): only its hash is kept. */
export const OneTimeCodeSchema = defineEntity({
  name: 'OneTimeCode',
  tableName: 'one_time_code',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    /** The member's society (src/db/society.ts): set by PostgreSQL from the connection on insert. */
    societyId: p.string().columnType('text').defaultRaw("current_setting('app.society'::text)"),
    member: p.manyToOne(MemberSchema).deleteRule('cascade').foreignKeyName('one_time_code_member_id_fkey'),
    purpose: p.string().length(32),
    codeHash: p.string().length(64),
    attempts: p.integer().default(0),
    expiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
    createdAt: p
      .datetime()
      .defaultRaw('now()')
      .onCreate(() => new Date()),
  },
  indexes: [{ name: 'one_time_code_member', properties: ['member', 'purpose', 'createdAt'] }],
  /** Rows of the connection's society only (src/db/society.ts). */
  rowLevelSecurity: 'force',
  policies: [SOCIETY_POLICY],
});

export class OneTimeCode extends OneTimeCodeSchema.class {}
OneTimeCodeSchema.setClass(OneTimeCode);
