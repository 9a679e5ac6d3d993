import type { Context, Middleware } from 'koa';
import type { Config } from '../../config/index.js';
import { passkeyContext } from '../../factors/passkey/context.js';
import { discoverableLoginOptions } from '../../factors/passkey/ceremony.js';
import { authenticateWithPasskey } from '../../factors/passkey/alone.js';
import { flowDeps } from '../../members/ports.js';
import { identifiedByPasskey } from '../../flow/login.js';
import { csrfValid } from '../middleware/csrf.js';
import { renderLogin } from './login.js';
import { reauthenticationOf } from './reauth.js';
import { lockedError, type LoginError } from './lock-message.js';
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
    if (config.union.passkeys.passkeyOnlyLogin)
      ctx.state.passkeyLoginOptions = (uid: string) => JSON.stringify(discoverableLoginOptions(passkeyContext(config, passkeyLoginPath(uid))));
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
  // 「続行するには再度認証してください」: only a passkey of the session's member (another's is refused unverified).
  const reauth = reauthenticationOf(ctx);
  const result = await authenticateWithPasskey(flowDeps(deps), {
    flowId: passkeyLoginPath(interaction.uid),
    response: body.response,
    memberId: reauth?.memberId,
    ip: ctx.ip,
  });
  if (!result.ok) {
    if (result.reason === 'rate_limited') return renderLogin(ctx, interaction, { errors: ['login.error_rate_limited'] }, 429);
    const error: LoginError =
      result.reason === 'locked' ? lockedError(result.member) : result.reason === 'counter' ? 'login.error_passkey_counter' : 'login.error_passkey';
    return renderLogin(ctx, interaction, { userId: 'member' in result ? result.member.userId : undefined, errors: [error] }, 401);
  }
  const state = identifiedByPasskey(result.member, {
    amr: result.amr,
    credentialId: result.credentialId,
    remember: reauth ? reauth.remember : body.remember === 'on',
  });
  await proceed(ctx, deps, interaction, state, result.member);
}
