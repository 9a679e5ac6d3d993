import type { Sql } from '../db/sql.js';
import { queueLogoutsOfMember, queueLogoutsOfOtherSessions, queueLogoutsOfSession } from './backchannel-outbox.js';

/*
 * Each of these first queues a back-channel logout token for every portal the ending sessions were
 * used with (read from the provider's Session records: the portal and its `sid`), in the caller's
 * transaction, then deletes: the tokens are queued exactly when the sessions end. The caller
 * announces them after its commit (announceQueuedLogouts).
 */

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
  return sql.run(
    `delete from oidc_payload where account_id = $1
       and ((model = 'Session' and payload->>'uid' = $2) or (model = any($3::text[]) and payload->>'sessionUid' = $2))`,
    [memberId, sessionUid, SESSION_BOUND_TOKENS],
  );
}
