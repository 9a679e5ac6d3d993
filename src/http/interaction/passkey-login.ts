import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import type { Config } from '../../config/index.js';
import { passkeyContext } from '../../factors/passkey/relying-party.js';
import { discoverableLoginOptions } from '../../factors/passkey/ceremony.js';
import { passkeyIdentifier } from '../../factors/index.js';
import { identify } from '../../flow/identify.js';
import { flowDeps } from '../../members/ports.js';
import { field, type FormSpec } from '../form.js';
import { renderLogin } from './login.js';
import { reauthenticationOf } from './reauth.js';
import { lockedError, type LoginError } from './lock-message.js';
import { proceed } from './pipeline.js';
import type { Interaction, InteractionDeps, LoginRequest } from './request.js';

/** The passkey's assertion (JSON, checked by the ceremony) and ログイン状態の保存, on the login page's form. */
const passkeyLoginFields = z.object({ remember: field(8), response: field(32 * 1024) });
export type PasskeyLoginForm = z.infer<typeof passkeyLoginFields>;

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
 * 「生体認証でログイン」), handed to the login's identify stage (flow/identify.ts). A user-verified
 * passkey is already two factors (NIST SP 800-63B-4 §2.2.1), so the login continues with the owed
 * steps and skips the second-factor stage.
 */
export async function submitPasskeyLogin(ctx: Context, deps: InteractionDeps, interaction: Interaction, body: PasskeyLoginForm): Promise<void> {
  // 「続行するには再度認証してください」: only a passkey of the session's member (another's is refused unverified).
  const reauth = reauthenticationOf(ctx);
  const request = { deps: flowDeps(deps), ip: ctx.ip, remember: reauth ? reauth.remember : body.remember === 'on', only: reauth?.memberId };
  const result = await identify(request, passkeyIdentifier, { response: body.response, flowId: passkeyLoginPath(interaction.uid) });
  if (result.kind === 'rate_limited') return renderLogin(ctx, interaction, { errors: ['login.error_rate_limited'] }, 429);
  if (result.kind !== 'identified') {
    const error: LoginError =
      result.kind === 'locked' ? lockedError(result.lock) : result.kind === 'counter' ? 'login.error_passkey_counter' : 'login.error_passkey';
    return renderLogin(ctx, interaction, { userId: 'member' in result ? result.member?.userId : undefined, errors: [error] }, 401);
  }
  await proceed(ctx, deps, interaction, result.state, result.member);
}

/** POST /interaction/:uid/passkey's form; refused, the login page again. */
export const passkeyLoginForm = (login: (request: LoginRequest, form: PasskeyLoginForm) => Promise<void>): FormSpec<LoginRequest, PasskeyLoginForm> => ({
  schema: passkeyLoginFields,
  submit: login,
  refused: ({ ctx, interaction }) => renderLogin(ctx, interaction, { errors: ['login.error_session'] }, 400),
});
