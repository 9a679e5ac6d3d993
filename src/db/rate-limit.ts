import type { Sql } from './sql.js';

/**
 * A fixed-window counter in PostgreSQL, shared by every process. Returns whether this hit is
 * within `limit` for the window, and how many seconds remain in it.
 */
export async function hitRateLimit(sql: Sql, bucket: string, limit: number, windowSeconds: number): Promise<{ allowed: boolean; retryAfterSeconds: number }> {
  const row = await sql.one<{ count: number; retry_after: number }>(
    `insert into rate_limit (bucket, count, window_ends_at) values ($1, 1, now() + make_interval(secs => $2))
     on conflict (bucket) do update set
       count = case when rate_limit.window_ends_at <= now() then 1 else rate_limit.count + 1 end,
       window_ends_at = case when rate_limit.window_ends_at <= now() then excluded.window_ends_at else rate_limit.window_ends_at end
     returning count, ceil(extract(epoch from (window_ends_at - now())))::int as retry_after`,
    [bucket, windowSeconds],
  );
  const retryAfterSeconds = Math.max(1, Number(row!.retry_after));
  return { allowed: row!.count <= limit, retryAfterSeconds };
}

export async function deleteExpiredRateLimits(sql: Sql): Promise<number> {
  return sql.run('delete from rate_limit where window_ends_at < now()');
}
