import * as adminChanges from '../members/changes/admin.js';
import { memberInputSchema } from '../members/provision.js';
import { parseCommandArgs } from './args.js';
import type { AdminDeps } from './deps.js';
import { findMemberId, memberNotFound } from './find-member.js';
import { ExitCode, failed, succeeded, type CommandResult } from './result.js';

export interface MemberRenameArgs {
  userId: string;
  name: string;
}

export const memberRenameUsage = [
  'usage: member rename USER_ID NAME',
  '  Changes the display name (ユーザー名). Members cannot change it themselves (FAQ Q13).',
];

export function parseMemberRenameArgs(argv: string[]): MemberRenameArgs {
  const { positionals } = parseCommandArgs(argv, {}, { names: ['USER_ID', 'NAME'] });
  return { userId: positionals[0]!, name: positionals[1]! };
}

/** `member rename`: the display name, validated by the same rule as at registration. */
export async function renameMember(deps: AdminDeps, args: MemberRenameArgs): Promise<CommandResult<{ name: string }>> {
  const name = memberInputSchema.shape.name.safeParse(args.name);
  if (!name.success) return failed(ExitCode.inputData, `NAME: ${name.error.issues[0]!.message}`);
  const member = await findMemberId(deps.sql, args.userId);
  if (!member) return failed(ExitCode.refused, memberNotFound(args.userId));
  // The names themselves stay out of the audit trail (personal data); `member show` has the current one.
  await adminChanges.renameMember(deps, { memberId: member.id, name: name.data, via: 'cli' });
  return succeeded([`display name of ${member.userId} changed to "${name.data}"`], { name: name.data });
}
