import type { Sql } from '../db/sql.js';

/** Audit trail for administrators. Never put passwords, codes or typed secrets in `detail`. */
export async function recordMemberEvent(sql: Sql, memberId: string | null, type: string, detail: Record<string, unknown> = {}, ip?: string): Promise<void> {
  await sql.run('insert into member_event (member_id, type, detail, ip) values ($1, $2, $3, $4)', [memberId, type, JSON.stringify(detail), ip ?? null]);
}
