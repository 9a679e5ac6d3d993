import { defineEntity, p } from '@mikro-orm/core';
import { SOCIETY_POLICY } from '../society.js';
import { randomUUID } from 'node:crypto';
import { MemberSchema } from './member.js';

export const CREDENTIAL_KINDS = ['password', 'totp', 'passkey', 'email'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/**
 * One way a member proves who they are. Written only by src/members/credentials.ts.
 * `secret`: a bcrypt hash for the password, a sealed TOTP secret (src/secrets.ts) for a device.
 */
export const CredentialSchema = defineEntity({
  name: 'Credential',
  tableName: 'credential',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    /** The member's society (src/db/society.ts): set by PostgreSQL from the connection on insert. */
    societyId: p.string().columnType('text').defaultRaw("current_setting('app.society'::text)"),
    member: p.manyToOne(MemberSchema).deleteRule('cascade').foreignKeyName('credential_member_id_fkey'),
    kind: p.enum(CREDENTIAL_KINDS).columnType('varchar(16)'),
    /** The member's name for it (会社用, iPhone …); '' for the password and the email method. */
    label: p.string().length(64).default(''),
    secret: p.text().nullable(),
    /** WebAuthn credential ID, base64url. */
    webauthnId: p.string().length(1024).nullable(),
    /** COSE public key, base64url. */
    publicKey: p.text().nullable(),
    signCount: p.bigint('number').defaultRaw('0'),
    transports: p.array().default([]),
    backedUp: p.boolean().nullable(),
    deviceType: p.string().length(32).nullable(),
    aaguid: p.string().length(36).nullable(),
    /** TOTP: the last accepted time step; a code is accepted once per device. */
    lastTimeStep: p.bigint('number').nullable(),
    /**
     * The acr of the session that added it, when that was weaker than the device (factors/acr.ts
     * `trustOfNewDevice`); a login with it reaches no more. Null: it counts as what it is.
     */
    trustAcr: p.string().length(32).nullable(),
    createdAt: p
      .datetime()
      .defaultRaw('now()')
      .onCreate(() => new Date()),
    lastUsedAt: p.datetime().nullable(),
  },
  uniques: [
    { name: 'credential_label_unique', properties: ['member', 'kind', 'label'] },
    { name: 'credential_webauthn_id_unique', properties: ['webauthnId', 'societyId'] },
  ],
  /** Rows of the connection's society only (src/db/society.ts). */
  rowLevelSecurity: 'force',
  policies: [SOCIETY_POLICY],
});

export class Credential extends CredentialSchema.class {}
CredentialSchema.setClass(Credential);
