import type { Sql } from '../db/sql.js';
import { parseCommandArgs } from './args.js';
import type { AdminDeps } from './deps.js';
import { findMemberId, memberNotFound } from './find-member.js';
import { formatTimestamp } from './format.js';
import { ExitCode, failed, succeeded, UsageError, type CommandResult } from './result.js';

export interface MemberEvent {
  type: string;
  detail: Record<string, unknown>;
  ip: string | null;
  createdAt: Date;
}

export interface MemberEventsArgs {
  userId: string;
  limit: number;
}

export const DEFAULT_EVENT_LIMIT = 50;
const MAX_EVENT_LIMIT = 10_000;

export const memberEventsUsage = [
  'usage: member events USER_ID [--limit N]',
  `  The member's audit trail, newest first (default ${DEFAULT_EVENT_LIMIT} events, at most ${MAX_EVENT_LIMIT}).`,
];

export function parseMemberEventsArgs(argv: string[]): MemberEventsArgs {
  const { values, positionals } = parseCommandArgs(argv, { limit: { type: 'string' } }, { names: ['USER_ID'] });
  let limit = DEFAULT_EVENT_LIMIT;
  if (typeof values.limit === 'string') {
    if (!/^\d+$/.test(values.limit) || Number(values.limit) < 1 || Number(values.limit) > MAX_EVENT_LIMIT) {
      throw new UsageError(`--limit must be a whole number from 1 to ${MAX_EVENT_LIMIT}`);
    }
    limit = Number(values.limit);
  }
  return { userId: positionals[0]!, limit };
}

export async function latestMemberEvents(sql: Sql, memberId: string, limit: number): Promise<MemberEvent[]> {
  const rows = await sql.rows<MemberEvent & { createdAt: Date | string }>(
    `select type, detail, ip, created_at as "createdAt" from member_event where member_id = $1 order by created_at desc, id desc limit $2`,
    [memberId, limit],
  );
  return rows.map((r) => ({ ...r, createdAt: new Date(r.createdAt) }));
}

export function formatEvent(event: MemberEvent): string {
  const detail = Object.keys(event.detail ?? {}).length > 0 ? `  ${JSON.stringify(event.detail)}` : '';
  return `${formatTimestamp(event.createdAt)}  ${event.type}${event.ip ? `  ip ${event.ip}` : ''}${detail}`;
}

/** `member events`: what happened to a member, for an administrator answering a support call. */
export async function listMemberEvents(deps: AdminDeps, args: MemberEventsArgs): Promise<CommandResult<{ events: MemberEvent[] }>> {
  const member = await findMemberId(deps.sql, args.userId);
  if (!member) return failed(ExitCode.refused, memberNotFound(args.userId));
  const events = await latestMemberEvents(deps.sql, member.id, args.limit);
  const output = events.length === 0 ? [`no events for ${member.userId}`] : events.map(formatEvent);
  return succeeded(output, { events });
}
