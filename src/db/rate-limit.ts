import { createHash } from 'node:crypto';
import type { Sql } from './sql.js';

/**
 * The stored key: the bucket's kind as written (`login-ip`, `recovery-mail` …) and a SHA-256 of the
 * rest, so that a key has a fixed length whatever was typed (the column is varchar(255)) and no
 * address or user ID sits in the table in clear.
 */
export function bucketKey(bucket: string): string {
  const colon = bucket.indexOf(':');
  const kind = colon > 0 && colon <= 32 ? bucket.slice(0, colon) : 'key';
  return `${kind}:${createHash('sha256').update(bucket).digest('base64url')}`;
}

/**
 * A fixed-window counter in PostgreSQL, shared by every process. Returns whether this hit is
 * within `limit` for the window, and how many seconds remain in it.
 */
export async function hitRateLimit(sql: Sql, bucket: string, limit: number, windowSeconds: number): Promise<{ allowed: boolean; retryAfterSeconds: number }> {
  const row = await sql.one<{ count: number; retry_after: number }>(
    `insert into rate_limit (bucket, count, window_ends_at) values ($1, 1, now() + make_interval(secs => $2))
     on conflict (bucket, society_id) do update set
       count = case when rate_limit.window_ends_at <= now() then 1 else rate_limit.count + 1 end,
       window_ends_at = case when rate_limit.window_ends_at <= now() then excluded.window_ends_at else rate_limit.window_ends_at end
     returning count, ceil(extract(epoch from (window_ends_at - now())))::int as retry_after`,
    [bucketKey(bucket), windowSeconds],
  );
  const retryAfterSeconds = Math.max(1, Number(row!.retry_after));
  return { allowed: row!.count <= limit, retryAfterSeconds };
}

/** Starts a new window for `bucket` with this hit as its first (a cooldown that begins now). */
export async function restartRateLimit(sql: Sql, bucket: string, windowSeconds: number): Promise<void> {
  await sql.run(
    `insert into rate_limit (bucket, count, window_ends_at) values ($1, 1, now() + make_interval(secs => $2))
     on conflict (bucket, society_id) do update set count = 1, window_ends_at = excluded.window_ends_at`,
    [bucketKey(bucket), windowSeconds],
  );
}

/** Whether `bucket` is still under `limit` in its current window, without counting this request. */
export async function underRateLimit(sql: Sql, bucket: string, limit: number): Promise<boolean> {
  const row = await sql.one<{ count: number }>('select count from rate_limit where bucket = $1 and window_ends_at > now()', [bucketKey(bucket)]);
  return (row?.count ?? 0) < limit;
}

export async function deleteExpiredRateLimits(sql: Sql): Promise<number> {
  return sql.run('delete from rate_limit where window_ends_at < now()');
}
