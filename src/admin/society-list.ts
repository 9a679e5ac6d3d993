import type { AdminDeps } from './deps.js';
import { parseCommandArgs } from './args.js';
import { succeeded, type CommandResult } from './result.js';

export const societyListUsage = ['usage: society list', '  Every configured society: its id, name, issuer and how many members it has.'];

export function parseSocietyListArgs(argv: string[]): Record<string, never> {
  parseCommandArgs(argv, {}, { names: [] });
  return {};
}

/** `society list`, run once per society (the CLI sets each in turn): one line for this one. */
export async function listSociety(deps: AdminDeps): Promise<CommandResult<{ id: string; members: number }>> {
  const { society } = deps.config;
  const members = Number((await deps.sql.one<{ n: string }>('select count(*) as n from member'))?.n ?? 0);
  return succeeded([`${society.id}\t${society.policy.name.ja}\t${deps.config.issuer}\t${members} member${members === 1 ? '' : 's'}`], {
    id: society.id,
    members,
  });
}
