import type { Sql } from '../db/sql.js';
import { queueLogoutsOfMember, queueLogoutsOfOtherSessions, queueLogoutsOfSession } from './backchannel-outbox.js';

/*
 * Each of these ends sessions as the provider's own logout does, from its Session records, in the
 * caller's transaction: for every portal a session was used with (`authorizations[clientId]`), a
 * back-channel logout token is queued with that portal's `sid`, and the portal's grant is revoked
 * with every token issued under it (the provider's revoke by grant id); then the session itself goes.
 * The caller announces the queued tokens after its commit (announceQueuedLogouts).
 *
 * Not through `provider.Session` / `session.destroy()`: the adapter runs on the pool, outside the
 * change's transaction, and the admin CLI has no provider; the rows are the same.
 */

/** Revokes the grants (and every token under them) of the member's sessions that `which` selects (SQL on `s`, parameters from $2). */
async function revokeGrantsOfSessions(sql: Sql, memberId: string, which: string, params: unknown[]): Promise<number> {
  return sql.run(
    `with granted as (
       select a.value->>'grantId' as grant_id
       from oidc_payload s cross join lateral jsonb_each(coalesce(s.payload->'authorizations', '{}'::jsonb)) a
       where s.model = 'Session' and s.account_id = $1 and jsonb_typeof(a.value) = 'object' and a.value ? 'grantId' and (${which}))
     delete from oidc_payload where grant_id in (select grant_id from granted) or (model = 'Grant' and id in (select grant_id from granted))`,
    [memberId, ...params],
  );
}

/**
 * Everything the provider keeps that lets a member's browser or a portal act as the member. Found by
 * `account_id` (the payload's accountId, a column of its own so that it is indexed under row-level
 * security; migrations/…_society_isolation.ts).
 */
const ACCOUNT_MODELS = ['Session', 'Grant', 'AccessToken', 'RefreshToken', 'AuthorizationCode', 'DeviceCode', 'BackchannelAuthenticationRequest'];

/** Ends every session and revokes every grant and token of a member (after a password reset). */
export async function revokeEverythingOfMember(sql: Sql, memberId: string): Promise<number> {
  await queueLogoutsOfMember(sql, memberId);
  return sql.run(`delete from oidc_payload where account_id = $1 and model = any($2::text[])`, [memberId, ACCOUNT_MODELS]);
}

const SESSION_BOUND_TOKENS = ['AccessToken', 'RefreshToken', 'AuthorizationCode'];

/**
 * 「全てのデバイスからサインアウトする」: ends every other session of the member and the tokens
 * issued under them; the session the member is using, and its portals' tokens, stay.
 */
export async function revokeOtherSessionsOfMember(sql: Sql, memberId: string, keepSessionUid: string): Promise<number> {
  await queueLogoutsOfOtherSessions(sql, memberId, keepSessionUid);
  await revokeGrantsOfSessions(sql, memberId, 's.uid is distinct from $2', [keepSessionUid]);
  return sql.run(
    `delete from oidc_payload where account_id = $1
       and ((model = 'Session' and payload->>'uid' is distinct from $2)
         or (model = any($3::text[]) and payload->>'sessionUid' is distinct from $2))`,
    [memberId, keepSessionUid, SESSION_BOUND_TOKENS],
  );
}

/** Ends one session of the member (「ログアウト」 on the console's list of devices). */
export async function revokeSessionOfMember(sql: Sql, memberId: string, sessionUid: string): Promise<number> {
  await queueLogoutsOfSession(sql, memberId, sessionUid);
  await revokeGrantsOfSessions(sql, memberId, 's.uid = $2', [sessionUid]);
  return sql.run(
    `delete from oidc_payload where account_id = $1
       and ((model = 'Session' and payload->>'uid' = $2) or (model = any($3::text[]) and payload->>'sessionUid' = $2))`,
    [memberId, sessionUid, SESSION_BOUND_TOKENS],
  );
}
