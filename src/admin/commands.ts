import type { AdminDeps } from './deps.js';
import type { CommandResult } from './result.js';
import { addMember, memberAddUsage, parseMemberAddArgs } from './member-add.js';
import { importMembers, memberImportUsage, parseMemberImportArgs } from './member-import.js';
import { showMember, memberShowUsage, parseMemberShowArgs } from './member-show.js';
import { unlockMember, memberUnlockUsage, parseMemberUnlockArgs } from './member-unlock.js';
import { resetMemberMfa, memberResetMfaUsage, parseMemberResetMfaArgs } from './member-reset-mfa.js';
import { renameMember, memberRenameUsage, parseMemberRenameArgs } from './member-rename.js';
import { listMemberEvents, memberEventsUsage, parseMemberEventsArgs } from './member-events.js';
import { generateKeys, keysGenerateUsage, parseKeysGenerateArgs } from './keys-generate.js';
import { keysRotateUsage, parseKeysRotateArgs, rotateKeys } from './keys-rotate.js';
import { rotateSecrets, secretsRotateUsage, parseSecretsRotateArgs } from './secrets-rotate.js';
import { listSociety, parseSocietyListArgs, societyListUsage } from './society-list.js';

/** One admin command: how to read its arguments and how to run it. */
export interface AdminCommand {
  usage: string[];
  parse(argv: string[]): unknown;
  /** Commands without a database (keys) run before any configuration or connection exists. */
  run:
    | { database: true; fn(deps: AdminDeps, args: unknown): Promise<CommandResult<unknown>> }
    | { database: false; fn(args: unknown): Promise<CommandResult<unknown>> };
  /**
   * A database command runs for one society (`--society <id>`, required when more than one is
   * configured), or with `each`, for every society in turn (or the one `--society` names).
   */
  societies?: 'one' | 'each';
}

function withDatabase<A>(usage: string[], parse: (argv: string[]) => A, fn: (deps: AdminDeps, args: A) => Promise<CommandResult<unknown>>): AdminCommand {
  return { usage, parse, run: { database: true, fn: fn as (deps: AdminDeps, args: unknown) => Promise<CommandResult<unknown>> } };
}

/** Keyed by "group command", in the order the usage text lists them. */
export const ADMIN_COMMANDS: Record<string, AdminCommand> = {
  'member add': withDatabase(memberAddUsage, parseMemberAddArgs, addMember),
  'member import': withDatabase(memberImportUsage, parseMemberImportArgs, importMembers),
  'member show': withDatabase(memberShowUsage, parseMemberShowArgs, showMember),
  'member unlock': withDatabase(memberUnlockUsage, parseMemberUnlockArgs, unlockMember),
  'member reset-mfa': withDatabase(memberResetMfaUsage, parseMemberResetMfaArgs, resetMemberMfa),
  'member rename': withDatabase(memberRenameUsage, parseMemberRenameArgs, renameMember),
  'member events': withDatabase(memberEventsUsage, parseMemberEventsArgs, listMemberEvents),
  // SECRETS_KEY is the deployment's: every society's stored secrets are sealed again.
  'secrets rotate': { ...withDatabase(secretsRotateUsage, parseSecretsRotateArgs, rotateSecrets), societies: 'each' },
  'society list': { ...withDatabase(societyListUsage, parseSocietyListArgs, listSociety), societies: 'each' },
  'keys rotate': withDatabase(keysRotateUsage, parseKeysRotateArgs, rotateKeys),
  'keys generate': {
    usage: keysGenerateUsage,
    parse: parseKeysGenerateArgs,
    run: { database: false, fn: generateKeys as (args: unknown) => Promise<CommandResult<unknown>> },
  },
};

export const GENERAL_USAGE = [
  'usage: npm run admin -- <command> [options]',
  '',
  'commands:',
  ...Object.values(ADMIN_COMMANDS).map((c) => `  ${c.usage[0]!.replace(/^usage: /, '')}`),
  '',
  'Every database command takes --society <id>: the society it is for, required for member commands when more than one is',
  'configured (`society list` names them); secrets rotate and society list go through every society unless one is named.',
  '',
  'Run a command with --help for details. The database is DATABASE_URL (migrated as MIGRATION_DATABASE_URL); without it (development) the',
  "embedded database: the running dev server's, or one started for the command (EMBEDDED_PG_PORT, default 54329).",
  '',
  'exit codes: 0 done, 1 not found or refused, 2 usage error, 3 input data error',
];
