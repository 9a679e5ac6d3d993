import * as adminChanges from '../members/changes/admin.js';
import { parseCommandArgs } from './args.js';
import type { AdminDeps } from './deps.js';
import { findMemberId, memberNotFound } from './find-member.js';
import { ExitCode, failed, succeeded, type CommandResult } from './result.js';

export interface MemberUnlockArgs {
  userId: string;
}

export const memberUnlockUsage = ['usage: member unlock USER_ID', '  Clears the failed-login count and any lock, including a permanent one.'];

export function parseMemberUnlockArgs(argv: string[]): MemberUnlockArgs {
  const { positionals } = parseCommandArgs(argv, {}, { names: ['USER_ID'] });
  return { userId: positionals[0]! };
}

/** `member unlock`: the administrator's answer to a permanent lock (and to a temporary one, on request). */
export async function unlockMember(deps: AdminDeps, args: MemberUnlockArgs): Promise<CommandResult<{ wasLocked: boolean }>> {
  const member = await findMemberId(deps.sql, args.userId);
  if (!member) return failed(ExitCode.refused, memberNotFound(args.userId));
  const before = await adminChanges.unlockMember(deps, { memberId: member.id, via: 'cli' });
  return succeeded(
    [
      before.locked
        ? `unlocked ${member.userId}${before.lockedPermanently ? ' (was locked permanently)' : ''}`
        : `${member.userId} was not locked; failed-login count cleared`,
    ],
    { wasLocked: before.locked },
  );
}
