import { resetMfa } from '../members/changes/admin.js';
import { parseCommandArgs } from './args.js';
import type { AdminDeps } from './deps.js';
import { findMemberId, memberNotFound } from './find-member.js';
import { succeeded, failed, ExitCode, type CommandResult } from './result.js';

export interface MemberResetMfaArgs {
  userId: string;
}

export const memberResetMfaUsage = [
  'usage: member reset-mfa USER_ID',
  "  初期化対応 (manual 3-8, FAQ Q14): removes the member's passkeys and authenticator-app devices;",
  '  the next login sets the chosen second factor up again, right after the password. Every session and',
  '  token of the member ends, and every mailed link they asked for (an address change …) stops working.',
];

export function parseMemberResetMfaArgs(argv: string[]): MemberResetMfaArgs {
  const { positionals } = parseCommandArgs(argv, {}, { names: ['USER_ID'] });
  return { userId: positionals[0]! };
}

/**
 * `member reset-mfa`: for a member who lost or changed the phone their second factor lives on. A lost
 * phone may still hold a session: every session, token and login in progress ends, and every link or
 * code those sessions asked for is cancelled, in the same transaction as the devices and the event.
 */
export async function resetMemberMfa(deps: AdminDeps, args: MemberResetMfaArgs): Promise<CommandResult<{ removed: number }>> {
  const member = await findMemberId(deps.sql, args.userId);
  if (!member) return failed(ExitCode.refused, memberNotFound(args.userId));
  const removed = await resetMfa(deps, { memberId: member.id, via: 'cli' });
  return succeeded(
    [
      removed > 0
        ? `removed ${removed} passkey${removed === 1 ? '' : 's'} and authenticator device${removed === 1 ? '' : 's'} of ${member.userId}; the next login sets a second factor up again; every session of the member ended`
        : `${member.userId} had no passkeys or authenticator devices; the next login sets up the chosen second factor if it needs one; every session of the member ended`,
    ],
    { removed },
  );
}
