import type { Sql } from '../db/sql.js';

/** Everything the provider keeps that lets a member's browser or a portal act as the member. */
const ACCOUNT_MODELS = ['Session', 'Grant', 'AccessToken', 'RefreshToken', 'AuthorizationCode', 'DeviceCode', 'BackchannelAuthenticationRequest'];

/** Ends every session and revokes every grant and token of a member (after a password reset). */
export async function revokeEverythingOfMember(sql: Sql, memberId: string): Promise<number> {
  return sql.run(`delete from oidc_payload where payload ? 'accountId' and payload->>'accountId' = $1 and model = any($2::text[])`, [memberId, ACCOUNT_MODELS]);
}
