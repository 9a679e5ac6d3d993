import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { Credential } from '../../db/entities/index.js';
import { inTransaction } from '../../db/unit-of-work.js';
import { sendSecurityNotice } from '../../mail/security-notice.js';
import { chooseSecondFactor } from '../account.js';
import { addCredential, labelIsTaken, removeCredential, renameCredential, type RemoveRefusal, type SecondFactorKind } from '../credentials.js';
import { recordMemberEvent } from '../events.js';
import type { ChangeDeps, NoticeMember } from './deps.js';

type Added = { added: true; credentialId: string };

/**
 * ワンタイムパスワードの設定, 「実行」: the authenticator app with its name, its sealed secret and the
 * time step of the code that proved it (so that code cannot be replayed), and its event; then the
 * notice to the confirmed address (a stranger's device would be noticed). 'label_taken' when the
 * member has a device of that name (also one added at the same moment). `trustAcr`: what it is worth
 * at login when the session adding it was weaker (factors/acr.ts trustOfNewDevice).
 */
export async function addTotpDevice(
  deps: Pick<ChangeDeps, 'orm' | 'mail' | 'log'>,
  change: { member: NoticeMember; label: string; sealedSecret: string; timeStep: number; trustAcr: string | null; flow: string; ip: string },
): Promise<Added | { added: false; reason: 'label_taken' }> {
  const added = await storeTotpDevice(deps, { ...change, memberId: change.member.id });
  if (added.added) await sendSecurityNotice(deps, change.member, 'factor_added');
  return added;
}

async function storeTotpDevice(
  deps: Pick<ChangeDeps, 'orm'>,
  change: { memberId: string; label: string; sealedSecret: string; timeStep: number; trustAcr: string | null; flow: string; ip: string },
): Promise<Added | { added: false; reason: 'label_taken' }> {
  const { memberId, label } = change;
  try {
    return await inTransaction(deps.orm, async ({ em, sql }): Promise<Added | { added: false; reason: 'label_taken' }> => {
      if (await labelIsTaken(em, memberId, 'totp', label)) return { added: false, reason: 'label_taken' };
      const credential = addCredential(em, memberId, {
        kind: 'totp',
        label,
        secret: change.sealedSecret,
        lastTimeStep: change.timeStep,
        lastUsedAt: new Date(),
        trustAcr: change.trustAcr,
      });
      await em.flush();
      await recordMemberEvent(sql, memberId, 'factor.totp_added', { label, flow: change.flow }, change.ip);
      return { added: true, credentialId: credential.id };
    });
  } catch (err) {
    if (!(err instanceof UniqueConstraintViolationException)) throw err;
    return { added: false, reason: 'label_taken' };
  }
}

type PasskeyChange = {
  label: string;
  passkey: { webauthnId: string; publicKey: string; signCount: number; transports: string[]; backedUp: boolean; deviceType: string; aaguid: string };
  trustAcr: string | null;
  flow: string;
  ip: string;
};

/**
 * 認証ラベルの登録: the passkey the browser registered, with its name, and its event; then the
 * notice. 'label_taken' when the member has a passkey of that name; 'duplicate' when a unique index
 * refused it at the same moment (the same authenticator credential posted twice).
 */
export async function addPasskey(
  deps: Pick<ChangeDeps, 'orm' | 'mail' | 'log'>,
  change: PasskeyChange & { member: NoticeMember },
): Promise<Added | { added: false; reason: 'label_taken' | 'duplicate' }> {
  const added = await storePasskey(deps, { ...change, memberId: change.member.id });
  if (added.added) await sendSecurityNotice(deps, change.member, 'factor_added');
  return added;
}

async function storePasskey(
  deps: Pick<ChangeDeps, 'orm'>,
  change: {
    memberId: string;
    label: string;
    passkey: { webauthnId: string; publicKey: string; signCount: number; transports: string[]; backedUp: boolean; deviceType: string; aaguid: string };
    trustAcr: string | null;
    flow: string;
    ip: string;
  },
): Promise<Added | { added: false; reason: 'label_taken' | 'duplicate' }> {
  const { memberId, label, passkey } = change;
  try {
    return await inTransaction(deps.orm, async ({ em, sql }): Promise<Added | { added: false; reason: 'label_taken' }> => {
      if (await labelIsTaken(em, memberId, 'passkey', label)) return { added: false, reason: 'label_taken' };
      const credential = addCredential(em, memberId, {
        kind: 'passkey',
        label,
        webauthnId: passkey.webauthnId,
        publicKey: passkey.publicKey,
        signCount: passkey.signCount,
        transports: passkey.transports,
        backedUp: passkey.backedUp,
        deviceType: passkey.deviceType,
        aaguid: passkey.aaguid,
        lastUsedAt: new Date(),
        trustAcr: change.trustAcr,
      });
      await em.flush();
      await recordMemberEvent(sql, memberId, 'factor.passkey_added', { label, aaguid: passkey.aaguid, flow: change.flow }, change.ip);
      return { added: true, credentialId: credential.id };
    });
  } catch (err) {
    if (!(err instanceof UniqueConstraintViolationException)) throw err;
    return { added: false, reason: 'duplicate' };
  }
}

/** 削除: the device and its event, then the notice; refused for the last one of the chosen method. */
export async function removeDevice(deps: ChangeDeps, change: { member: NoticeMember; credentialId: string; ip: string }): Promise<RemoveRefusal | undefined> {
  const { member, credentialId, ip } = change;
  const refusal = await inTransaction(deps.orm, async (work) => {
    const row = await work.em.findOneOrFail(Credential, { id: credentialId, member: member.id });
    const refused = await removeCredential(work.em, member.id, row);
    if (refused) return refused;
    await work.em.flush();
    await recordMemberEvent(work.sql, member.id, 'account.factor_removed', { kind: row.kind }, ip);
    return undefined;
  });
  if (refusal) return refusal;
  await sendSecurityNotice(deps, member, 'factor_removed');
  return undefined;
}

/** 名前の変更: 'taken' when another device of the same kind already has that name (also at the same moment). */
export async function renameDevice(
  deps: ChangeDeps,
  change: { memberId: string; credentialId: string; label: string; ip: string },
): Promise<'renamed' | 'taken'> {
  const { memberId, credentialId, label, ip } = change;
  const taken = await inTransaction(deps.orm, async (work) => {
    const row = await work.em.findOneOrFail(Credential, { id: credentialId, member: memberId });
    if (await labelIsTaken(work.em, memberId, row.kind, label, row.id)) return true;
    await renameCredential(work.em, row, label);
    await work.em.flush();
    await recordMemberEvent(work.sql, memberId, 'account.factor_renamed', { kind: row.kind }, ip);
    return false;
  }).catch((err: unknown) => {
    if ((err as { name?: string }).name === 'UniqueConstraintViolationException') return true;
    throw err;
  });
  return taken ? 'taken' : 'renamed';
}

/**
 * After a factor stored a new device (with its own event and notice): with `choose` (from the
 * profile) it becomes the login method, a second change with its own event and notice.
 */
export async function chooseNewDeviceAsMethod(
  deps: ChangeDeps,
  change: { member: NoticeMember; kind: SecondFactorKind; choose: boolean; ip: string },
): Promise<void> {
  const { member, kind, choose, ip } = change;
  if (!choose) return;
  await inTransaction(deps.orm, (work) => chooseSecondFactor(work, member.id, kind, ip));
  await sendSecurityNotice(deps, member, 'method_changed');
}
