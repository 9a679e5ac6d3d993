import { removeDevicesOfMember } from '../credentials.js';
import { recordMemberEvent } from '../events.js';
import { unlockMemberCompletely } from '../lockout-store.js';
import type { LockoutState } from '../lockout.js';
import { insertMembers, type ValidMemberInput } from '../provision.js';
import { cancelOutstandingLinks, endPendingLogins } from '../sessions.js';
import { isEmailTaken, isUserIdTaken } from '../taken.js';
import { revokeEverythingOfMember } from '../../oidc/revoke.js';
import { announceQueuedLogouts } from '../../oidc/backchannel-outbox.js';
import type { ChangeDeps } from './deps.js';

/**
 * What an administrator changes (the admin CLI, src/admin/): each change one transaction with its
 * audit event (`via`: where it was made). The CLI reaches the database with pool statements only, so
 * these take its `sql` (a transaction of it is the unit of work, src/db/sql.ts).
 */
type AdminChangeDeps = Pick<ChangeDeps, 'sql'>;

/**
 * 初期化対応 (`member reset-mfa`): the member's passkeys and authenticator apps go, and so does every
 * session, token and login in progress and every mailed link or code those asked for, in the same
 * transaction as the event. How many devices were removed.
 */
export async function resetMfa(deps: AdminChangeDeps, change: { memberId: string; via: string }): Promise<number> {
  const { memberId, via } = change;
  const removed = await deps.sql.transaction(async (tx, em) => {
    const removed = await removeDevicesOfMember(em, memberId);
    await endPendingLogins(tx, memberId);
    const revoked = await revokeEverythingOfMember(tx, memberId);
    const cancelledLinks = await cancelOutstandingLinks(tx, memberId);
    await recordMemberEvent(tx, memberId, 'admin.mfa_reset', { via, removed, revoked, cancelledLinks });
    return removed;
  });
  // Delivered by this process when it delivers (a server), else by the servers' next poll (the CLI).
  announceQueuedLogouts();
  return removed;
}

/** `member unlock`: every failure and lock cleared, a permanent one too, with its event. The state before. */
export async function unlockMember(deps: AdminChangeDeps, change: { memberId: string; via: string }): Promise<LockoutState & { locked: boolean }> {
  const { memberId, via } = change;
  return deps.sql.transaction(async (tx) => {
    const previous = await unlockMemberCompletely(tx, memberId);
    await recordMemberEvent(tx, memberId, 'admin.unlocked', {
      via,
      wasLocked: previous.locked,
      permanent: previous.lockedPermanently,
      failedLogins: previous.failedLogins,
      lockCount: previous.lockCount,
    });
    return previous;
  });
}

/** `member rename`: the display name (ユーザー名), with its event; the name itself stays out of the audit trail (personal data). */
export async function renameMember(deps: AdminChangeDeps, change: { memberId: string; name: string; via: string }): Promise<void> {
  await deps.sql.transaction(async (tx) => {
    await tx.run('update member set display_name = $2, updated_at = now() where id = $1', [change.memberId, change.name]);
    await recordMemberEvent(tx, change.memberId, 'admin.renamed', { via: change.via });
  });
}

/**
 * `member add`: one member, owing the first-login steps, with its event. 'user_id_taken' or
 * 'email_taken' when the database holds them already; a registration at the same moment is refused
 * by the unique indexes (the caller says which).
 */
export async function addMember(deps: AdminChangeDeps, change: { member: ValidMemberInput; via: string }): Promise<'added' | 'user_id_taken' | 'email_taken'> {
  const { member, via } = change;
  return deps.sql.transaction(async (tx) => {
    if (await isUserIdTaken(tx, member.userId)) return 'user_id_taken' as const;
    if (member.email && (await isEmailTaken(tx, member.email))) return 'email_taken' as const;
    await insertMembers(tx, [member]);
    const inserted = await tx.one<{ id: string }>('select id from member where user_id = $1', [member.userId]);
    await recordMemberEvent(tx, inserted!.id, 'admin.member_added', { via });
    return 'added' as const;
  });
}

/** `member import`: every member of a checked file, with one event each, in one transaction, or none. */
export async function importMembers(deps: AdminChangeDeps, change: { members: ValidMemberInput[]; file: string; via: string }): Promise<void> {
  const { members, file, via } = change;
  await deps.sql.transaction(async (tx) => {
    await insertMembers(tx, members);
    await tx.run(
      `insert into member_event (member_id, type, detail)
       select id, 'admin.member_imported', jsonb_build_object('via', $3::text, 'file', $2::text) from member where user_id = any($1::text[])`,
      [members.map((m) => m.userId), file, via],
    );
  });
}
