import type { Config } from '../../config/index.js';
import type { Sql } from '../../db/sql.js';
import type { Orm } from '../../db/orm.js';
import { Member } from '../../db/entities/index.js';
import { hitRateLimit, underRateLimit } from '../../db/rate-limit.js';
import { proofAttempts } from '../../flow/attempt.js';
import { parseAuthenticationResponse } from './ceremony.js';
import { checkAssertion } from './login.js';

export type PasskeyLoginResult =
  | { ok: true; member: Member; credentialId: string; amr: string[] }
  | { ok: false; reason: 'rate_limited' | 'invalid' }
  /** The passkey's owner is locked, or its sign counter did not grow (possibly a copy): said with their user ID. */
  | { ok: false; reason: 'locked' | 'counter'; member: Member };

/**
 * Identifies a member by a passkey alone (the login page's autofill or 「生体認証でログイン」).
 * `flowId`: where the ceremony's challenge was bound; `memberId`: only that member's passkey is
 * accepted (a re-authentication). Only failures count against the client IP, as for the password
 * (password/login.ts): the members behind one office address who log in with their passkeys never
 * use up each other's attempts.
 */
export async function authenticateWithPasskey(
  deps: { config: Config; sql: Sql; orm: Orm },
  input: { flowId: string; response: unknown; memberId?: string; ip: string },
): Promise<PasskeyLoginResult> {
  const policy = deps.config.union.loginRateLimit;
  const ipBucket = `login-ip:${input.ip}`;
  if (!(await underRateLimit(deps.sql, ipBucket, policy.perIp))) return { ok: false, reason: 'rate_limited' };
  const result = await identify(deps, input);
  if (!result.ok) await hitRateLimit(deps.sql, ipBucket, policy.perIp, policy.windowSeconds);
  return result;
}

async function identify(
  deps: { config: Config; sql: Sql; orm: Orm },
  input: { flowId: string; response: unknown; memberId?: string; ip: string },
): Promise<PasskeyLoginResult> {
  const response = parseAuthenticationResponse(input.response);
  const check = response ? await checkAssertion(deps, proofAttempts(deps, input.ip), input.flowId, response, input.memberId, input.ip) : undefined;
  if (!check) return { ok: false, reason: 'invalid' };
  if (!check.ok) {
    if (check.reason !== 'locked' && check.reason !== 'counter') return { ok: false, reason: 'invalid' };
    const member = await deps.orm.em.fork().findOne(Member, { id: check.memberId });
    return member ? { ok: false, reason: check.reason, member } : { ok: false, reason: 'invalid' };
  }
  const member = await deps.orm.em.fork().findOne(Member, { id: check.memberId });
  if (!member) return { ok: false, reason: 'invalid' };
  return { ok: true, member, credentialId: check.credentialId, amr: check.amr };
}
