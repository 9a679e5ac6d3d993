import { Credential } from '../../db/entities/index.js';
import { inTransaction } from '../../db/unit-of-work.js';
import { sendSecurityNotice } from '../../mail/security-notice.js';
import { chooseSecondFactor } from '../account.js';
import { labelIsTaken, removeCredential, renameCredential, type RemoveRefusal, type SecondFactorKind } from '../credentials.js';
import { recordMemberEvent } from '../events.js';
import type { ChangeDeps, NoticeMember } from './deps.js';

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
 * After a factor stored a new device with its own event: with `choose` (from the profile) it becomes
 * the login method, a second change with its own event; then the notices, device first.
 */
export async function finishDeviceSetup(
  deps: ChangeDeps,
  change: { member: NoticeMember; kind: SecondFactorKind; choose: boolean; ip: string },
): Promise<void> {
  const { member, kind, choose, ip } = change;
  if (choose) await inTransaction(deps.orm, (work) => chooseSecondFactor(work, member.id, kind, ip));
  await sendSecurityNotice(deps, member, 'factor_added');
  if (choose) await sendSecurityNotice(deps, member, 'method_changed');
}
