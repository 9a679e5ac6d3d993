import { defineEntity, p } from '@mikro-orm/core';
import { SOCIETY_POLICY } from '../society.js';
import { randomUUID } from 'node:crypto';

/**
 * A member (被保険者・被扶養者). `id` is the stable, opaque OIDC subject; `userId` is the
 * login name the member may change, always stored lowercase.
 */
export const MemberSchema = defineEntity({
  name: 'Member',
  tableName: 'member',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    /** The society the member belongs to (src/db/society.ts): set by PostgreSQL from the connection on insert. */
    societyId: p.string().columnType('text').defaultRaw("current_setting('app.society'::text)"),
    userId: p.string().length(64),
    displayName: p.string().length(200),
    insuranceSymbol: p.string().length(32),
    insuranceNumber: p.string().length(32),
    /** YYYY-MM-DD */
    birthdate: p.string().columnType('date'),
    /** Stored lowercase; unique within the society when set. */
    email: p.string().length(320).nullable(),
    emailVerified: p.boolean().default(false),
    /** True while the initial password (記号 + 番号 + 生年月日) is in force: it is derived, never stored. */
    mustChangePassword: p.boolean().default(true),
    /** 仮IDフラグ: the user ID was issued by the union and the member has not chosen their own yet. */
    temporaryId: p.boolean().default(true),
    locale: p.string().length(8).default('ja'),
    /** Required actions still owed after authentication, in order (Keycloak's "required actions"). */
    pendingSteps: p.array().default([]),
    termsVersion: p.string().length(64).nullable(),
    termsAcceptedAt: p.datetime().nullable(),
    /** The second factor the member chose (a credential kind); null until the first login chooses one. */
    chosenFactor: p
      .enum(['totp', 'passkey', 'email'] as const)
      .columnType('varchar(16)')
      .nullable(),
    failedLogins: p.integer().default(0),
    lockCount: p.integer().default(0),
    lockedUntil: p.datetime().nullable(),
    lockedPermanently: p.boolean().default(false),
    /** Raised by every credential reset; a login in progress from before cannot finish (issue 11). */
    authEpoch: p.integer().default(0),
    lastLoginAt: p.datetime().nullable(),
    createdAt: p
      .datetime()
      .defaultRaw('now()')
      .onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .defaultRaw('now()')
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
  /** A user ID and an address are unique within a society: two societies may each have a kosmo002. */
  uniques: [
    { name: 'member_user_id_unique', properties: ['userId', 'societyId'] },
    { name: 'member_email_unique', expression: 'create unique index member_email_unique on member (email, society_id) where email is not null' },
  ],
  checks: [{ name: 'member_user_id_lowercase', expression: 'user_id = lower(user_id)' }],
  /** Rows of the connection's society only (src/db/society.ts). */
  rowLevelSecurity: 'force',
  policies: [SOCIETY_POLICY],
});

export class Member extends MemberSchema.class {}
MemberSchema.setClass(Member);
