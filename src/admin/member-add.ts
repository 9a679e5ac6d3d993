import * as adminChanges from '../members/changes/admin.js';
import { memberInputSchema, type ValidMemberInput } from '../members/provision.js';
import { parseCommandArgs, requiredOption } from './args.js';
import type { AdminDeps } from './deps.js';
import { ExitCode, failed, succeeded, uniqueViolation, type CommandResult } from './result.js';

export interface MemberAddArgs {
  userId: string;
  symbol: string;
  number: string;
  birthdate: string;
  name: string;
  email?: string;
}

export const memberAddUsage = [
  'usage: member add --user-id U --symbol S --number N --birthdate YYYY-MM-DD --name NAME [--email E]',
  '  Registers one member. The initial password is 記号+番号+生年月日 (symbol, number, birth date as YYYYMMDD).',
];

export function parseMemberAddArgs(argv: string[]): MemberAddArgs {
  const { values } = parseCommandArgs(
    argv,
    {
      'user-id': { type: 'string' },
      symbol: { type: 'string' },
      number: { type: 'string' },
      birthdate: { type: 'string' },
      name: { type: 'string' },
      email: { type: 'string' },
    },
    { names: [] },
  );
  return {
    userId: requiredOption(values, 'user-id'),
    symbol: requiredOption(values, 'symbol'),
    number: requiredOption(values, 'number'),
    birthdate: requiredOption(values, 'birthdate'),
    name: requiredOption(values, 'name'),
    email: typeof values.email === 'string' ? values.email : undefined,
  };
}

const OPTION_OF_FIELD: Record<string, string> = {
  userId: '--user-id',
  symbol: '--symbol',
  number: '--number',
  birthdate: '--birthdate',
  name: '--name',
  email: '--email',
};

const duplicateUserId = (userId: string) => `user ID "${userId}" is already taken`;
const duplicateEmail = 'the email address is already used by another member';

/** `member add`: one member, owing the first-login steps, with an audit event, in one transaction. */
export async function addMember(deps: AdminDeps, args: MemberAddArgs): Promise<CommandResult<{ userId: string }>> {
  const parsed = memberInputSchema.safeParse(args);
  if (!parsed.success) {
    return failed(ExitCode.inputData, ...parsed.error.issues.map((i) => `${OPTION_OF_FIELD[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`));
  }
  const member: ValidMemberInput = parsed.data;
  try {
    const added = await adminChanges.addMember(deps, { member, via: 'cli' });
    if (added === 'user_id_taken') return failed(ExitCode.refused, duplicateUserId(member.userId));
    if (added === 'email_taken') return failed(ExitCode.refused, duplicateEmail);
  } catch (err) {
    // Someone else registered the same ID or address between our check and the insert.
    const constraint = uniqueViolation(err);
    if (constraint === 'member_user_id_unique') return failed(ExitCode.refused, duplicateUserId(member.userId));
    if (constraint) return failed(ExitCode.refused, duplicateEmail);
    throw err;
  }
  return succeeded(
    [
      `added member ${member.userId}`,
      'initial password: 記号+番号+生年月日 (symbol, number and birth date as YYYYMMDD); the member must change it at first login',
    ],
    { userId: member.userId },
  );
}
