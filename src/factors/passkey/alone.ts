import type { Member } from '../../db/entities/index.js';
import { proofAttempts } from '../../flow/attempt.js';
import type { FlowDeps } from '../../flow/ports.js';
import { parseAuthenticationResponse } from './ceremony.js';
import { checkAssertion, passkeyOwner } from './login.js';

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
  deps: FlowDeps,
  input: { flowId: string; response: unknown; memberId?: string; ip: string },
): Promise<PasskeyLoginResult> {
  const policy = deps.config.union.loginRateLimit;
  const ipBucket = `login-ip:${input.ip}`;
  if (!(await deps.rateLimits.under(ipBucket, policy.perIp))) return { ok: false, reason: 'rate_limited' };
  const result = await identify(deps, input);
  if (!result.ok) await deps.rateLimits.hit(ipBucket, policy.perIp, policy.windowSeconds);
  return result;
}

async function identify(deps: FlowDeps, input: { flowId: string; response: unknown; memberId?: string; ip: string }): Promise<PasskeyLoginResult> {
  const response = parseAuthenticationResponse(input.response);
  const owner = response ? await passkeyOwner(deps, response, input.memberId) : undefined;
  if (!response || !owner?.ok) return { ok: false, reason: 'invalid' };
  const checked = await proofAttempts(deps, input.ip)(owner.memberId, 'login.passkey_wrong', async (tx) => ({
    failed: false,
    value: await checkAssertion(tx, deps.config, input.flowId, response, owner, input.ip),
  }));
  const locked = checked.outcome === 'locked' || Boolean(checked.failure?.lockedNow);
  const check = checked.outcome === 'checked' ? checked.value : undefined;
  if (!locked && !check?.ok && check?.reason !== 'counter') return { ok: false, reason: 'invalid' };
  const member = await deps.logins.currentMember(owner.memberId);
  if (!member) return { ok: false, reason: 'invalid' };
  if (locked) return { ok: false, reason: 'locked', member };
  if (!check?.ok) return { ok: false, reason: 'counter', member };
  return { ok: true, member, credentialId: check.credentialId, amr: check.amr };
}
