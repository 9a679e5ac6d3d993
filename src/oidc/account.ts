import type { Account, ClaimsParameterMember, FindAccount } from 'oidc-provider';
import type { Orm } from '../db/orm.js';
import { Member } from '../db/entities/index.js';

/** Claims per scope. `sub` is the member's stable id, never the user ID (which the member can change). */
export const CLAIMS_BY_SCOPE = {
  openid: ['sub'],
  profile: ['name', 'preferred_username', 'birthdate', 'locale', 'updated_at'],
  email: ['email', 'email_verified'],
};

export function memberClaims(member: Member): Record<string, unknown> {
  return {
    sub: member.id,
    name: member.displayName,
    preferred_username: member.userId,
    birthdate: member.birthdate,
    locale: member.locale,
    updated_at: Math.floor(member.updatedAt.getTime() / 1000),
    // An address the member has not confirmed is not shared as theirs.
    email: member.email ?? undefined,
    email_verified: member.email ? member.emailVerified : undefined,
  };
}

export function findAccountFactory(orm: Orm): FindAccount {
  return async (_ctx, sub): Promise<Account | undefined> => {
    const member = await orm.em.fork().findOne(Member, { id: sub });
    if (!member) return undefined;
    return {
      accountId: member.id,
      async claims(_use: string, _scope: string, _claims: { [key: string]: null | ClaimsParameterMember }, _rejected: string[]) {
        return memberClaims(member) as { sub: string };
      },
    };
  };
}
