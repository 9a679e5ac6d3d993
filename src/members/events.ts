import type { Sql } from '../db/sql.js';

/**
 * The audit trail for administrators (`member events`). Recorded through the Sql of the change it
 * describes, so that the event lands with the change. Never put passwords, codes or secrets in `detail`.
 */
export async function recordMemberEvent(sql: Sql, memberId: string | null, type: string, detail: Record<string, unknown> = {}, ip?: string): Promise<void> {
  await sql.run('insert into member_event (member_id, type, detail, ip) values ($1, $2, $3, $4)', [memberId, type, JSON.stringify(detail), ip ?? null]);
}
