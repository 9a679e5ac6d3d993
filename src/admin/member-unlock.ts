import { recordMemberEvent } from '../members/events.js';
import { parseCommandArgs } from './args.js';
import type { AdminDeps } from './deps.js';
import { findMemberId, memberNotFound } from './find-member.js';
import { ExitCode, failed, succeeded, type CommandResult } from './result.js';

export interface MemberUnlockArgs {
  userId: string;
}

export const memberUnlockUsage = [
  'usage: member unlock USER_ID',
  '  Clears the failed-login count and any lock, including a permanent one.',
];

export function parseMemberUnlockArgs(argv: string[]): MemberUnlockArgs {
  const { positionals } = parseCommandArgs(argv, {}, { names: ['USER_ID'] });
  return { userId: positionals[0]! };
}

interface LockColumns { failedLogins: number; lockCount: number; lockedUntil: string | null; lockedPermanently: boolean }

/** `member unlock`: the administrator's answer to a permanent lock (and to a temporary one, on request). */
export async function unlockMember(deps: AdminDeps, args: MemberUnlockArgs): Promise<CommandResult<{ wasLocked: boolean }>> {
  const member = await findMemberId(deps.sql, args.userId);
  if (!member) return failed(ExitCode.refused, memberNotFound(args.userId));
  const before = await deps.sql.transaction(async (tx) => {
    const previous = (await tx.one<LockColumns & { locked: boolean }>(
      `select failed_logins as "failedLogins", lock_count as "lockCount", locked_until as "lockedUntil", locked_permanently as "lockedPermanently",
         locked_permanently or coalesce(locked_until > now(), false) as locked
       from member where id = $1 for update`, [member.id],
    ))!;
    await tx.run(
      `update member set failed_logins = 0, lock_count = 0, locked_until = null, locked_permanently = false, updated_at = now() where id = $1`, [member.id],
    );
    await recordMemberEvent(tx, member.id, 'admin.unlocked', {
      via: 'cli', wasLocked: previous.locked, permanent: previous.lockedPermanently, failedLogins: previous.failedLogins, lockCount: previous.lockCount,
    });
    return previous;
  });
  return succeeded(
    [before.locked ? `unlocked ${member.userId}${before.lockedPermanently ? ' (was locked permanently)' : ''}` : `${member.userId} was not locked; failed-login count cleared`],
    { wasLocked: before.locked },
  );
}
