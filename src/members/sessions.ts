import type { Sql } from '../db/sql.js';

export interface MemberSession {
  uid: string;
  userAgent: string;
  ip: string | null;
  firstSeen: Date;
  lastSeen: Date;
}

/** A portal was given this member's login from this session: where and when, for the list of devices. */
export async function recordSessionSeen(sql: Sql, seen: { sessionUid: string; memberId: string; userAgent: string; ip: string }): Promise<void> {
  await sql.run(
    `insert into session_device (session_uid, member_id, user_agent, ip) values ($1, $2, $3, $4)
     on conflict (session_uid, society_id) do update set member_id = excluded.member_id, user_agent = excluded.user_agent, ip = excluded.ip, last_seen = now()`,
    [seen.sessionUid.slice(0, 64), seen.memberId, seen.userAgent.slice(0, 512), seen.ip.slice(0, 64)],
  );
}

/** The member's live sessions (the provider's own records), newest use first. */
export async function listMemberSessions(sql: Sql, memberId: string): Promise<MemberSession[]> {
  const rows = await sql.rows<{
    uid: string;
    user_agent: string | null;
    ip: string | null;
    first_seen: string | Date | null;
    last_seen: string | Date | null;
    login_ts: string | null;
  }>(
    `select p.uid, d.user_agent, d.ip, d.first_seen, d.last_seen, p.payload->>'loginTs' as login_ts
     from oidc_payload p left join session_device d on d.session_uid = p.uid
     where p.model = 'Session' and p.account_id = $1 and (p.expires_at is null or p.expires_at > now())`,
    [memberId],
  );
  const loginTime = (r: { login_ts: string | null }) => new Date(Number(r.login_ts ?? 0) * 1000);
  return rows
    .map((r) => ({
      uid: r.uid,
      userAgent: r.user_agent ?? '',
      ip: r.ip,
      firstSeen: r.first_seen ? new Date(r.first_seen) : loginTime(r),
      lastSeen: r.last_seen ? new Date(r.last_seen) : loginTime(r),
    }))
    .sort((a, b) => b.lastSeen.getTime() - a.lastSeen.getTime());
}

/** Rows whose session has ended. */
export async function deleteEndedSessionDevices(sql: Sql): Promise<number> {
  return sql.run(`delete from session_device d where not exists (select 1 from oidc_payload p where p.model = 'Session' and p.uid = d.session_uid)`);
}

/**
 * Every login of the member still in progress (the password checked, the steps or the second factor
 * not yet done) ends at its next step: after a password change or a reset of their devices.
 */
export async function endPendingLogins(sql: Sql, memberId: string): Promise<void> {
  await sql.run('update member set auth_epoch = auth_epoch + 1 where id = $1', [memberId]);
}

/**
 * Every mailed link and code the member's sessions asked for and that is still outstanding (address
 * verifications and pending address changes, password-reset links, email one-time codes) stops
 * working. Called, in the same transaction, by every action that ends all of a member's sessions
 * (password change with sign-out-all, password reset, `member reset-mfa`): a session that was ended
 * must not keep what it started, such as an address change to an attacker's mailbox.
 */
export async function cancelOutstandingLinks(sql: Sql, memberId: string): Promise<number> {
  let cancelled = 0;
  for (const table of ['email_verification', 'password_reset', 'one_time_code']) {
    cancelled += await sql.run(`update ${table} set expires_at = now() where member_id = $1 and used_at is null and expires_at > now()`, [memberId]);
  }
  return cancelled;
}
