import { defineEntity, p } from '@mikro-orm/core';
import { SOCIETY_POLICY } from '../society.js';
import { MemberSchema } from './member.js';

/** What happened to a member, for administrators (`member events`). Never passwords or codes. */
export const MemberEventSchema = defineEntity({
  name: 'MemberEvent',
  tableName: 'member_event',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    /** The society the event happened in (src/db/society.ts): set by PostgreSQL from the connection on insert. */
    societyId: p.string().columnType('text').defaultRaw("current_setting('app.society'::text)"),
    member: p.manyToOne(MemberSchema).nullable().deleteRule('set null').foreignKeyName('member_event_member_id_fkey'),
    type: p.string().length(64),
    detail: p.json<Record<string, unknown>>().default('{}'),
    ip: p.string().length(64).nullable(),
    createdAt: p
      .datetime()
      .defaultRaw('now()')
      .onCreate(() => new Date()),
  },
  indexes: [{ name: 'member_event_member_id', properties: ['member', 'createdAt'] }],
  /** Rows of the connection's society only (src/db/society.ts). */
  rowLevelSecurity: 'force',
  policies: [SOCIETY_POLICY],
});

export class MemberEvent extends MemberEventSchema.class {}
MemberEventSchema.setClass(MemberEvent);
