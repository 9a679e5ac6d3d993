import { EventEmitter } from 'node:events';
import type { Sql } from '../db/sql.js';
import { currentSociety } from '../db/society.js';

/**
 * The back-channel logout outbox (table `backchannel_logout`, one row per logout token a portal is
 * owed): written in the transaction of the change that ends the member's session, so a committed
 * change always has its tokens queued and a rolled-back one has none; delivered by any process
 * (src/oidc/backchannel-delivery.ts). A row names the portal, the member (the token's `sub` is
 * computed from it as the provider computes it for the ID token) and the session's `sid` for that
 * portal, as the provider's Session stores it (`authorizations[clientId].sid`).
 */
export interface QueuedLogout {
  id: string;
  clientId: string;
  accountId: string;
  sid: string | null;
  /** Tries so far, this one included. */
  attempts: number;
}

/** The account console signs in through the provider too, but has no back channel. */
const NO_BACK_CHANNEL = "'kosmo-account'";

/**
 * Queues a logout token for every portal each matching session of the member was used with, read
 * from the provider's own Session records; `which` narrows the sessions (SQL on `p`, parameters from $2).
 */
async function queueForSessions(sql: Sql, memberId: string, which: string, params: unknown[]): Promise<number> {
  return sql.run(
    `insert into backchannel_logout (client_id, account_id, sid)
     select distinct a.key, p.account_id, a.value->>'sid'
     from oidc_payload p cross join lateral jsonb_each(coalesce(p.payload->'authorizations', '{}'::jsonb)) a
     where p.model = 'Session' and p.account_id = $1 and (p.expires_at is null or p.expires_at > now())
       and jsonb_typeof(a.value) = 'object' and a.key <> ${NO_BACK_CHANNEL} and (${which})`,
    [memberId, ...params],
  );
}

/** Every session of the member is ending. */
export const queueLogoutsOfMember = (sql: Sql, memberId: string) => queueForSessions(sql, memberId, 'true', []);

/** Every session of the member but `keepSessionUid` is ending. */
export const queueLogoutsOfOtherSessions = (sql: Sql, memberId: string, keepSessionUid: string) =>
  queueForSessions(sql, memberId, 'p.uid is distinct from $2', [keepSessionUid]);

/** The session `sessionUid` of the member is ending. */
export const queueLogoutsOfSession = (sql: Sql, memberId: string, sessionUid: string) => queueForSessions(sql, memberId, 'p.uid = $2', [sessionUid]);

/** One portal's logout token (RP-initiated logout: the provider names the portal, member and sid). */
export async function queueLogout(sql: Sql, logout: { clientId: string; accountId: string; sid?: string | null }): Promise<void> {
  await sql.run('insert into backchannel_logout (client_id, account_id, sid) values ($1, $2, $3)', [logout.clientId, logout.accountId, logout.sid ?? null]);
}

/**
 * Takes up to `limit` due tokens for delivery: each is leased for `leaseSeconds` (another process
 * skips it meanwhile; a process killed while delivering leaves it due again when the lease ends)
 * and its try counted.
 */
export async function claimDueLogouts(sql: Sql, limit: number, leaseSeconds: number): Promise<QueuedLogout[]> {
  const rows = await sql.rows<{ id: string; client_id: string; account_id: string; sid: string | null; attempts: number }>(
    `update backchannel_logout set attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
     where id in (
       select id from backchannel_logout where gave_up_at is null and next_attempt_at <= now()
       order by next_attempt_at limit $1 for update skip locked)
     returning id, client_id, account_id, sid, attempts`,
    [limit, leaseSeconds],
  );
  return rows.map((r) => ({ id: r.id, clientId: r.client_id, accountId: r.account_id, sid: r.sid, attempts: r.attempts }));
}

/** Delivered (or owed to a portal that no longer has a back channel): the row goes. */
export async function forgetLogout(sql: Sql, id: string): Promise<void> {
  await sql.run('delete from backchannel_logout where id = $1', [id]);
}

/** A failed try: due again after `delaySeconds`, or kept as given up (`giveUp`) for the operator to see. */
export async function recordFailedLogout(sql: Sql, id: string, failure: { error: string; delaySeconds: number; giveUp: boolean }): Promise<void> {
  await sql.run(
    `update backchannel_logout set last_error = $2, next_attempt_at = now() + make_interval(secs => $3),
       gave_up_at = case when $4::boolean then now() end where id = $1`,
    [id, failure.error.slice(0, 500), failure.delaySeconds, failure.giveUp],
  );
}

/** Given-up rows older than `days` go (the cleanup timer). */
export async function deleteOldGivenUpLogouts(sql: Sql, days = 30): Promise<number> {
  return sql.run('delete from backchannel_logout where gave_up_at < now() - make_interval(days => $1)', [days]);
}

const queued = new EventEmitter();
queued.setMaxListeners(0);

/**
 * Tells this process's delivery that tokens were queued for the current society: call it after the
 * transaction that queued them committed. Without it (another process, the admin CLI) they are
 * still delivered, at the next poll.
 */
export function announceQueuedLogouts(society = currentSociety()): void {
  if (society) queued.emit('queued', society);
}

export function onQueuedLogouts(listener: (society: string) => void): () => void {
  queued.on('queued', listener);
  return () => queued.off('queued', listener);
}
