import type { Sql } from '../db/sql.js';
import { LockMode, type EntityManager } from '@mikro-orm/core';
import { Credential, Member, type CredentialKind } from '../db/entities/index.js';
import type { Work } from '../db/unit-of-work.js';
import { recordMemberEvent } from './events.js';

/**
 * The member's credentials: the only writer of the `credential` table. Every function takes the
 * EntityManager of the change it belongs to (src/db/unit-of-work.ts), so a credential lands with
 * the owed step cleared and its audit event, or not at all.
 */

export type SecondFactorKind = Exclude<CredentialKind, 'password'>;

export function listCredentials(em: EntityManager, memberId: string, kind?: CredentialKind): Promise<Credential[]> {
  return em.find(Credential, { member: memberId, ...(kind ? { kind } : {}) }, { orderBy: { createdAt: 'asc', id: 'asc' } });
}

export async function countCredentials(em: EntityManager, memberId: string, kind: CredentialKind): Promise<number> {
  return em.count(Credential, { member: memberId, kind });
}

/**
 * Whether the member has a credential of this kind: the login pipeline's question on every page of
 * a login (set up first, or ask?), so it is one prepared statement on the pool.
 */
export async function hasCredential(sql: Sql, memberId: string, kind: CredentialKind): Promise<boolean> {
  return (await sql.one('select 1 from credential where member_id = $1 and kind = $2 limit 1', [memberId, kind])) !== undefined;
}

/** The kinds of credential the member holds (the login asks whether to set a factor up or ask for it). */
export async function credentialKindsOf(sql: Sql, memberId: string): Promise<string[]> {
  return (await sql.rows<{ kind: string }>('select distinct kind from credential where member_id = $1', [memberId])).map((r) => r.kind);
}

/**
 * The member's devices of a kind, oldest first, with their stored secret (the login's device choice,
 * which tells a device it can no longer read: one prepared statement).
 */
export function credentialsWithSecrets(sql: Sql, memberId: string, kind: CredentialKind): Promise<{ id: string; label: string; secret: string | null }[]> {
  return sql.rows('select id, label, secret from credential where member_id = $1 and kind = $2 order by created_at, id', [memberId, kind]);
}

/**
 * Whether the member holds an authenticator app or a passkey that counts as one (not one added from
 * a session proved only by a mailed code, whose trust_acr says so): then only such a proof may make
 * changes that could take the account over.
 */
export async function holdsStrongDevice(sql: Sql, memberId: string, strongLevels: readonly string[]): Promise<boolean> {
  return (
    (await sql.one(`select 1 from credential where member_id = $1 and kind in ('totp', 'passkey') and (trust_acr is null or trust_acr = any($2)) limit 1`, [
      memberId,
      strongLevels,
    ])) !== undefined
  );
}

/**
 * The authenticator apps and passkeys added in the last `days` days, newest first: every console
 * session shows them, so a device a stranger added is seen on the member's other devices too.
 */
export function recentlyAddedDevices(sql: Sql, memberId: string, days = 14): Promise<{ kind: string; label: string; createdAt: Date }[]> {
  return sql.rows(
    `select kind, label, created_at as "createdAt" from credential
     where member_id = $1 and kind in ('totp', 'passkey') and created_at > now() - make_interval(days => $2)
     order by created_at desc limit 5`,
    [memberId, days],
  );
}

/** The passkey stored under a WebAuthn credential ID, and whose it is. */
export async function findPasskeyByWebauthnId(em: EntityManager, webauthnId: string): Promise<{ id: string; memberId: string } | undefined> {
  const found = await em.findOne(Credential, { webauthnId, kind: 'passkey' });
  const memberId = found ? (found.member as unknown as { id: string }).id : undefined;
  return found && memberId ? { id: found.id, memberId } : undefined;
}

/** One of the member's TOTP devices as a code is checked against it, in the caller's transaction. */
export async function totpDeviceOf(
  sql: Sql,
  memberId: string,
  deviceId: string,
): Promise<{ secret: string | null; lastTimeStep: number | null; label: string } | undefined> {
  const device = await sql.one<{ secret: string | null; lastTimeStep: string | null; label: string }>(
    `select secret, last_time_step as "lastTimeStep", label from credential where id = $1 and member_id = $2 and kind = 'totp'`,
    [deviceId, memberId],
  );
  return device && { ...device, lastTimeStep: device.lastTimeStep === null ? null : Number(device.lastTimeStep) };
}

/** A passkey locked until the caller's transaction ends (its sign counter moves forward under that lock). */
export function lockPasskey(em: EntityManager, credentialId: string): Promise<Credential | null> {
  return em.findOne(Credential, { id: credentialId, kind: 'passkey' }, { lockMode: LockMode.PESSIMISTIC_WRITE });
}

/**
 * The email method's credential, the first time a mailed code proves it (there is no device to
 * register), with its event, in the caller's change; nothing when the member has it already.
 */
export async function addEmailMethod(work: Work, memberId: string, flow: string, ip: string): Promise<void> {
  if ((await listCredentials(work.em, memberId, 'email')).length > 0) return;
  addCredential(work.em, memberId, { kind: 'email', label: '', lastUsedAt: new Date() });
  await work.em.flush();
  await recordMemberEvent(work.sql, memberId, 'factor.email_added', { flow }, ip);
}

export function findCredential(em: EntityManager, memberId: string, id: string): Promise<Credential | null> {
  return em.findOne(Credential, { id, member: memberId });
}

export type NewCredential = Pick<Credential, 'kind'> &
  Partial<
    Pick<
      Credential,
      | 'label'
      | 'secret'
      | 'webauthnId'
      | 'publicKey'
      | 'signCount'
      | 'transports'
      | 'backedUp'
      | 'deviceType'
      | 'aaguid'
      | 'lastTimeStep'
      | 'lastUsedAt'
      | 'trustAcr'
    >
  >;

/** Adds a credential; its label must be unique among the member's credentials of that kind. */
export function addCredential(em: EntityManager, memberId: string, data: NewCredential): Credential {
  return em.create(Credential, { label: '', signCount: 0, transports: [], ...data, member: em.getReference(Member, memberId) } as never);
}

export async function labelIsTaken(em: EntityManager, memberId: string, kind: CredentialKind, label: string, exceptId?: string): Promise<boolean> {
  const other = await em.findOne(Credential, { member: memberId, kind, label, ...(exceptId ? { id: { $ne: exceptId } } : {}) });
  return other !== null;
}

export async function renameCredential(_em: EntityManager, credential: Credential, label: string): Promise<void> {
  credential.label = label;
}

/** What changed on use: last use, and a passkey's sign counter or a TOTP device's last time step. */
export function touchCredential(credential: Credential, patch: Partial<Pick<Credential, 'signCount' | 'lastTimeStep' | 'backedUp'>> = {}): void {
  Object.assign(credential, patch, { lastUsedAt: new Date() });
}

/**
 * A TOTP device accepted the code of `timeStep`: records it, with the last use and the audit event
 * (`login.totp_ok`), only if no code of that step or a later one was accepted meanwhile. One
 * statement, so the same code sent twice at the same moment is accepted once, and the step and its
 * event land together. False when another request got there first.
 */
export async function acceptTotpTimeStep(
  sql: Sql,
  credentialId: string,
  timeStep: number,
  event: { detail: Record<string, unknown>; ip?: string },
): Promise<boolean> {
  const recorded = await sql.run(
    `with accepted as (
       update credential set last_time_step = $2, last_used_at = now()
       where id = $1 and kind = 'totp' and (last_time_step is null or last_time_step < $2)
       returning member_id
     )
     insert into member_event (member_id, type, detail, ip) select member_id, 'login.totp_ok', $3, $4 from accepted`,
    [credentialId, timeStep, JSON.stringify(event.detail), event.ip ?? null],
  );
  return recorded === 1;
}

export type RemoveRefusal = 'last_of_chosen_method';

/**
 * Removes a credential, but never the last one of the method the member chose: they could no
 * longer finish a login. The member chooses another method first.
 */
export async function removeCredential(em: EntityManager, memberId: string, credential: Credential): Promise<RemoveRefusal | undefined> {
  // Under the member's row lock: two removals at once cannot both see "one more left".
  const member = await em.findOneOrFail(Member, { id: memberId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  if (credential.kind === member.chosenFactor && (await countCredentials(em, member.id, credential.kind)) <= 1) return 'last_of_chosen_method';
  em.remove(credential);
  return undefined;
}

/** An authenticator-app device as `secrets rotate` sees it: whose it is, and its sealed secret. */
export interface SealedTotpDevice {
  id: string;
  memberId: string;
  userId: string;
  label: string;
  secret: string;
}

/**
 * The next `limit` authenticator-app devices after `afterId` (in id order) whose secret does not
 * begin with `currentPrefix` (is not sealed under SECRETS_KEY yet), locked until the caller's
 * transaction ends, so a device removed or replaced meanwhile is not written back.
 */
export function lockTotpDevicesToReseal(sql: Sql, currentPrefix: string, afterId: string, limit: number): Promise<SealedTotpDevice[]> {
  return sql.rows<SealedTotpDevice>(
    `select c.id, c.member_id as "memberId", m.user_id as "userId", c.label, c.secret
     from credential c join member m on m.id = c.member_id
     where c.kind = 'totp' and c.secret is not null and not starts_with(c.secret, $1) and c.id > $2
     order by c.id limit $3 for update of c`,
    [currentPrefix, afterId, limit],
  );
}

/** Authenticator-app devices whose secret is sealed under SECRETS_KEY (begins with `currentPrefix`). */
export async function countTotpDevicesSealedWith(sql: Sql, currentPrefix: string): Promise<number> {
  const row = await sql.one<{ count: string }>(`select count(*) as count from credential where kind = 'totp' and starts_with(secret, $1)`, [currentPrefix]);
  return Number(row?.count ?? 0);
}

/** The same device secret, sealed again (a key rotation); its time step and last use stay. */
export async function replaceTotpSecret(sql: Sql, credentialId: string, sealed: string): Promise<void> {
  await sql.run(`update credential set secret = $2 where id = $1 and kind = 'totp'`, [credentialId, sealed]);
}

/** An administrator's 初期化: passkeys and TOTP devices go; the next login sets a factor up again. */
export async function removeDevicesOfMember(em: EntityManager, memberId: string): Promise<number> {
  return em.nativeDelete(Credential, { member: memberId, kind: { $in: ['totp', 'passkey'] } });
}

/** The member's own password (a bcrypt hash): replaced, never a second one. */
export async function setPasswordCredential(em: EntityManager, memberId: string, hash: string): Promise<void> {
  const existing = await em.findOne(Credential, { member: memberId, kind: 'password' });
  if (existing) {
    existing.secret = hash;
    existing.createdAt = new Date();
    return;
  }
  addCredential(em, memberId, { kind: 'password', secret: hash });
}
