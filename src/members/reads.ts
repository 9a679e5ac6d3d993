import type { Orm } from '../db/orm.js';
import { Member, type Credential, type CredentialKind } from '../db/entities/index.js';
import { countCredentials, findCredential, listCredentials } from './credentials.js';

export type { Member, Credential, CredentialKind };
export { CREDENTIAL_KINDS } from '../db/entities/index.js';

/** What the pages read about a member through the ORM, each in its own fork (nothing is written). */

export function findMemberById(orm: Orm, memberId: string): Promise<Member | null> {
  return orm.em.fork().findOne(Member, { id: memberId });
}

export function listMemberCredentials(orm: Orm, memberId: string, kind?: CredentialKind): Promise<Credential[]> {
  return listCredentials(orm.em.fork(), memberId, kind);
}

export function findMemberCredential(orm: Orm, memberId: string, credentialId: string): Promise<Credential | null> {
  return findCredential(orm.em.fork(), memberId, credentialId);
}

export function countMemberCredentials(orm: Orm, memberId: string, kind: CredentialKind): Promise<number> {
  return countCredentials(orm.em.fork(), memberId, kind);
}
