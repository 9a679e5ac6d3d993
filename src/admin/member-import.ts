import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Sql } from '../db/sql.js';
import * as adminChanges from '../members/changes/admin.js';
import { parseCommandArgs } from './args.js';
import type { AdminDeps } from './deps.js';
import { formatDuration } from './format.js';
import { readMemberCsv, MEMBER_CSV_HEADER, type CsvProblem, type MemberCsvContents } from './member-csv.js';
import { ExitCode, failed, succeeded, uniqueViolation, type CommandResult } from './result.js';

export interface MemberImportArgs {
  file: string;
}

/** More problems than this are counted, not listed: the first screenful is enough to see the pattern. */
export const MAX_LISTED_PROBLEMS = 100;

export const memberImportUsage = [
  'usage: member import FILE.csv',
  `  Registers every member in a UTF-8 CSV file whose first line is exactly: ${MEMBER_CSV_HEADER.join(',')}`,
  '  (email may be empty). Every row is checked first; if any row has a problem, nothing is imported.',
];

export function parseMemberImportArgs(argv: string[]): MemberImportArgs {
  const { positionals } = parseCommandArgs(argv, {}, { names: ['FILE.csv'] });
  return { file: positionals[0]! };
}

/** One query for the whole file: which of its user IDs and addresses the database already holds. */
async function findTakenInDatabase(sql: Sql, rows: MemberCsvContents['rows']): Promise<CsvProblem[]> {
  const userIds = rows.map((r) => r.member.userId);
  const emails = rows.flatMap((r) => (r.member.email ? [r.member.email] : []));
  const taken = await sql.rows<{ kind: 'user_id' | 'email'; value: string }>(
    `select 'user_id' as kind, user_id as value from member where user_id = any($1::text[])
     union all
     select 'email' as kind, email as value from member where email = any($2::text[])`,
    [userIds, emails],
  );
  const takenUserIds = new Set(taken.filter((t) => t.kind === 'user_id').map((t) => t.value));
  const takenEmails = new Set(taken.filter((t) => t.kind === 'email').map((t) => t.value));
  const problems: CsvProblem[] = [];
  for (const { line, member } of rows) {
    if (takenUserIds.has(member.userId)) problems.push({ line, message: `user ID "${member.userId}" is already registered` });
    if (member.email && takenEmails.has(member.email)) problems.push({ line, message: 'email address is already used by a registered member' });
  }
  return problems;
}

export function listProblems(problems: CsvProblem[], file: string): string[] {
  const sorted = [...problems].sort((a, b) => a.line - b.line);
  const lines = sorted.slice(0, MAX_LISTED_PROBLEMS).map((p) => `${file}:${p.line}: ${p.message}`);
  if (sorted.length > MAX_LISTED_PROBLEMS) lines.push(`... and ${sorted.length - MAX_LISTED_PROBLEMS} more`);
  lines.push(`${problems.length} problem${problems.length === 1 ? '' : 's'} found; nothing was imported`);
  return lines;
}

/**
 * `member import`: validates the whole file, then inserts every member in one transaction, or
 * nothing at all. Nothing is hashed: initial passwords are derived at login.
 */
export async function importMembers(
  deps: AdminDeps,
  args: MemberImportArgs,
): Promise<CommandResult<{ imported: number; elapsedMs: number; problems: CsvProblem[] }>> {
  const started = performance.now();
  const info = await stat(args.file).catch(() => undefined);
  if (!info) return failed(ExitCode.refused, `${args.file}: file not found`);
  if (!info.isFile()) return failed(ExitCode.refused, `${args.file}: not a file`);

  const contents = await readMemberCsv(createReadStream(args.file));
  const problems = contents.rows.length > 0 ? contents.problems.concat(await findTakenInDatabase(deps.sql, contents.rows)) : contents.problems;
  if (problems.length > 0) {
    return {
      exitCode: ExitCode.inputData,
      output: [],
      errors: listProblems(problems, args.file),
      data: { imported: 0, elapsedMs: performance.now() - started, problems },
    };
  }

  const members = contents.rows.map((r) => r.member);
  try {
    await adminChanges.importMembers(deps, { members, file: path.basename(args.file), via: 'cli' });
  } catch (err) {
    if (!uniqueViolation(err)) throw err;
    return failed(
      ExitCode.inputData,
      `${args.file}: a user ID or email address in the file was registered by someone else during the import; nothing was imported (run the import again to see which)`,
    );
  }
  const elapsedMs = performance.now() - started;
  return succeeded(
    [
      `imported ${members.length} member${members.length === 1 ? '' : 's'} from ${args.file} in ${formatDuration(elapsedMs)}`,
      'initial passwords: 記号+番号+生年月日 (symbol, number and birth date as YYYYMMDD)',
    ],
    { imported: members.length, elapsedMs, problems: [] },
  );
}
