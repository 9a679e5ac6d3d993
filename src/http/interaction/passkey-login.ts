import type { Context, Middleware } from 'koa';
import type { Config } from '../../config/index.js';
import { passkeyContext } from '../../factors/passkey/context.js';
import { hitRateLimit, underRateLimit } from '../../db/rate-limit.js';
import { Member } from '../../db/entities/index.js';
import { discoverableLoginOptions, parseAuthenticationResponse } from '../../factors/passkey/ceremony.js';
import { checkAssertion } from '../../factors/passkey/login.js';
import { proofAttempts } from '../../flow/attempt.js';
import { csrfValid } from '../middleware/csrf.js';
import { renderLogin } from './login.js';
import { reauthenticationOf } from './reauth.js';
import { lockedError, type LoginError } from './lock-message.js';
import type { LoginState } from './state.js';
import { proceed } from './pipeline.js';
import type { Interaction, InteractionDeps } from './context.js';

/** Where the login page's passkey ceremony posts; its challenges are bound to this place. */
export const passkeyLoginPath = (uid: string) => `/interaction/${uid}/passkey`;

/**
 * Lets every rendering of the login page offer passkeys (autofill and 「生体認証でログイン」), unless
 * the union turned passkey-only login off: `ctx.state.passkeyLoginOptions(uid)` gives the options.
 */
export function offerPasskeyLogin(config: Config): Middleware {
  return async (ctx, next) => {
    if (config.union.passkeys.passkeyOnlyLogin) ctx.state.passkeyLoginOptions = (uid: string) => JSON.stringify(discoverableLoginOptions(passkeyContext(config, passkeyLoginPath(uid))));
    await next();
  };
}

/**
 * POST /interaction/:uid/passkey — a passkey alone, from the login page (autofill or
 * 「生体認証でログイン」). A user-verified passkey is already two factors (NIST SP 800-63B-4
 * §2.2.1), so the login continues with the owed steps and skips the second-factor stage.
 */
export async function submitPasskeyLogin(ctx: Context, deps: InteractionDeps, interaction: Interaction): Promise<void> {
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  if (!csrfValid(ctx, body)) return renderLogin(ctx, interaction, { errors: ['login.error_session'] }, 400);
  // Only failures count against the address, as for the password (factors/password/login.ts): the
  // members behind one office address who log in with their passkeys never use up each other's attempts.
  const policy = deps.config.union.loginRateLimit;
  const ipBucket = `login-ip:${ctx.ip}`;
  if (!(await underRateLimit(deps.sql, ipBucket, policy.perIp))) return renderLogin(ctx, interaction, { errors: ['login.error_rate_limited'] }, 429);
  const refuse = async (error: LoginError, userId?: string) => {
    await hitRateLimit(deps.sql, ipBucket, policy.perIp, policy.windowSeconds);
    renderLogin(ctx, interaction, { userId, errors: [error] }, 401);
  };
  const response = parseAuthenticationResponse(body.response);
  // 「続行するには再度認証してください」: only a passkey of the session's member (another's is refused unverified).
  const reauth = reauthenticationOf(ctx);
  const check = response ? await checkAssertion(deps, proofAttempts(deps, ctx.ip), passkeyLoginPath(interaction.uid), response, reauth?.memberId, ctx.ip) : undefined;
  if (!check?.ok) {
    if (check?.reason === 'locked' || check?.reason === 'counter') {
      const member = await deps.orm.em.fork().findOne(Member, { id: check.memberId });
      if (member && check.reason === 'locked') return refuse(lockedError(member), member.userId);
      if (member) return refuse('login.error_passkey_counter', member.userId);
    }
    return refuse('login.error_passkey');
  }
  const member = await deps.orm.em.fork().findOne(Member, { id: check.memberId });
  if (!member) return refuse('login.error_passkey');
  const state: LoginState = {
    memberId: member.id, remember: reauth ? reauth.remember : body.remember === 'on', amr: check.amr, secondFactor: { kind: 'passkey', at: Math.floor(Date.now() / 1000), deviceId: check.credentialId },
    authEpoch: member.authEpoch,
  };
  await proceed(ctx, deps, interaction, state, member);
}
