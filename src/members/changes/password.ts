import { inTransaction } from '../../db/unit-of-work.js';
import { sendSecurityNotice } from '../../mail/security-notice.js';
import { announceQueuedLogouts } from '../../oidc/backchannel-outbox.js';
import { revokeEverythingOfMember, revokeOtherSessionsOfMember } from '../../oidc/revoke.js';
import { recordMemberEvent } from '../events.js';
import { endLocksAfterReset } from '../lockout-store.js';
import { storeNewPassword } from '../new-password.js';
import { consumePasswordReset } from '../password-reset.js';
import { cancelOutstandingLinks, endPendingLogins } from '../sessions.js';
import type { ChangeDeps, NoticeMember } from './deps.js';

/**
 * パスワードの更新 from the console (the password already checked against the policy). With
 * `signOutOthers` every other session and its tokens end, and every mailed link still outstanding is
 * cancelled, in the same transaction as the new password and its event; the notice follows the commit.
 */
export async function changePassword(
  deps: ChangeDeps,
  change: { member: NoticeMember; sessionUid: string; password: string; signOutOthers: boolean; ip: string },
): Promise<void> {
  const { member, sessionUid, signOutOthers, ip } = change;
  const hash = await deps.hasher.hash(change.password);
  await inTransaction(deps.orm, async (work) => {
    await storeNewPassword(work, member.id, hash);
    await work.em.flush();
    await endPendingLogins(work.sql, member.id);
    const ended = signOutOthers ? await revokeOtherSessionsOfMember(work.sql, member.id, sessionUid) : 0;
    // The sessions just ended take what they asked for with them (an address change, a reset link).
    const cancelledLinks = signOutOthers ? await cancelOutstandingLinks(work.sql, member.id) : 0;
    await recordMemberEvent(work.sql, member.id, 'password.changed', { via: 'console', signedOutOthers: signOutOthers, ended, cancelledLinks }, ip);
  });
  if (signOutOthers) announceQueuedLogouts();
  await sendSecurityNotice(deps, member, 'password_changed');
}

/**
 * The password factor's setup (the first login's パスワードの変更): the member's own password (checked
 * against the policy already) in place of the initial one, the owed step done, with its event.
 */
export async function setOwnPassword(
  deps: Pick<ChangeDeps, 'orm' | 'hasher'>,
  change: { memberId: string; password: string; via: string; ip: string },
): Promise<void> {
  const { memberId, via, ip } = change;
  const hash = await deps.hasher.hash(change.password);
  await inTransaction(deps.orm, async (work) => {
    await storeNewPassword(work, memberId, hash);
    await work.em.flush();
    await recordMemberEvent(work.sql, memberId, 'password.changed', { via }, ip);
  });
}

/**
 * A new password through a 「パスワードをリセット」 link: the used link, the new password, the end of any
 * lock (a permanent one too: the member proved control of the confirmed address), of every session and
 * token and of any login in progress land together in one transaction, or not at all. False when the
 * link was no longer this member's to use.
 */
export async function resetPasswordWithLink(deps: ChangeDeps, change: { token: string; memberId: string; password: string; ip: string }): Promise<boolean> {
  const { token, memberId, ip } = change;
  const hash = await deps.hasher.hash(change.password);
  const done = await inTransaction(deps.orm, async (work) => {
    if ((await consumePasswordReset(work.sql, token)) !== memberId) return false;
    await storeNewPassword(work, memberId, hash);
    await work.em.flush();
    await endLocksAfterReset(work.sql, memberId);
    const revoked = await revokeEverythingOfMember(work.sql, memberId);
    // This link is spent; every other one (a pending address change, other codes) ends with the sessions.
    const cancelledLinks = await cancelOutstandingLinks(work.sql, memberId);
    await recordMemberEvent(work.sql, memberId, 'password.changed', { via: 'recovery', revoked, cancelledLinks }, ip);
    return true;
  });
  if (done) announceQueuedLogouts();
  return done;
}
