import type { Sql } from '../db/sql.js';
import { normalizeUserId } from '../members/user-id.js';

/** The member's internal id for a user ID as an administrator typed it (any case, full-width). */
export async function findMemberId(sql: Sql, typedUserId: string): Promise<{ id: string; userId: string } | undefined> {
  const userId = normalizeUserId(typedUserId);
  if (userId.length === 0 || userId.length > 64) return undefined;
  return sql.one<{ id: string; userId: string }>('select id, user_id as "userId" from member where user_id = $1', [userId]);
}

export function memberNotFound(typedUserId: string): string {
  return `no member with user ID "${normalizeUserId(typedUserId)}"`;
}
