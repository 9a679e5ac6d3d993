import type { Context } from 'koa';
import { z } from 'zod';
import { render } from '../render.js';
import { csrfValid } from '../middleware/csrf.js';
import { passwordIdentifier } from '../../factors/index.js';
import { identify } from '../../flow/identify.js';
import { flowDeps } from '../../members/ports.js';
import type { Interaction, InteractionDeps } from './context.js';
import { resultForProvider, type LoginState } from './state.js';
import { lockedError, type LoginError } from './lock-message.js';
import { reauthenticationOf } from './reauth.js';

export const loginFormSchema = z.object({
  user_id: z.string().max(256).default(''),
  password: z.string().max(1024).default(''),
  remember: z.string().optional(),
  _csrf: z.string().optional(),
});

export function renderLogin(
  ctx: Context,
  interaction: Interaction,
  vars: { userId?: string; remember?: boolean; errors?: LoginError[]; notice?: string } = {},
  status = 200,
): void {
  const t = ctx.state.t as (k: string, v?: Record<string, string | number>) => string;
  const union = String(ctx.state.unionName ?? '');
  const reauth = reauthenticationOf(ctx);
  // With the user ID fixed, a wrong password is only that (the member is the session's, nothing to hide).
  const key = (e: string) => (reauth && e === 'login.error_invalid' ? 'login.reauth_error_password' : e);
  const messages = (vars.errors ?? []).map((e) => (typeof e === 'string' ? t(key(e), { union }) : t(e.key, { union, ...e.vars })));
  if (reauth) {
    // 「続行するには再度認証してください」: the session's member only, their user ID fixed.
    render(
      ctx,
      'reauth',
      {
        uid: interaction.uid,
        userId: reauth.userId,
        errors: messages,
        notice: vars.notice,
        passkeyOptions: reauth.passkeyOptions,
        fromConsole: reauth.fromConsole,
        logoutUrl: `/session/end?${new URLSearchParams({ client_id: String(interaction.params.client_id) }).toString()}`,
      },
      status,
    );
    return;
  }
  render(
    ctx,
    'login',
    {
      uid: interaction.uid,
      userId: vars.userId ?? (typeof interaction.params.login_hint === 'string' ? interaction.params.login_hint : ''),
      remember: vars.remember ?? false,
      errors: messages,
      notice: vars.notice,
      recoveryLinks: true,
      passkeyOptions: (ctx.state.passkeyLoginOptions as ((uid: string) => string) | undefined)?.(interaction.uid),
    },
    status,
  );
}

/**
 * POST /interaction/:uid/login — the ユーザID and パスワード form, handed to the login's identify stage
 * (flow/identify.ts). The login's state when the password was right (the caller then proceeds);
 * otherwise the login page says what the flow answered.
 */
export async function submitLogin(ctx: Context, deps: InteractionDeps, interaction: Interaction): Promise<LoginState | undefined> {
  const form = loginFormSchema.safeParse(ctx.request.body ?? {});
  const body = form.success ? form.data : { user_id: '', password: '', remember: undefined };
  // A re-authentication is the session's member's, whatever user ID the form carries.
  const reauth = reauthenticationOf(ctx);
  const userId = reauth ? reauth.userId : body.user_id;
  const kept = { userId: userId.slice(0, 64), remember: reauth ? reauth.remember : body.remember === 'on' };
  if (!form.success || !csrfValid(ctx, ctx.request.body as Record<string, unknown>)) {
    renderLogin(ctx, interaction, { ...kept, errors: ['login.error_session'] }, 400);
    return undefined;
  }
  if (!userId.trim() || !body.password) {
    renderLogin(ctx, interaction, { ...kept, errors: ['login.error_invalid'] }, 400);
    return undefined;
  }
  const request = { deps: flowDeps(deps), ip: ctx.ip, remember: kept.remember, only: reauth?.memberId };
  const result = await identify(request, passwordIdentifier, { userId, password: body.password });
  if (result.kind !== 'identified') {
    const message = result.kind === 'locked' ? lockedError(result.lock) : result.kind === 'rate_limited' ? 'login.error_rate_limited' : 'login.error_invalid';
    renderLogin(ctx, interaction, { ...kept, errors: [message] }, result.kind === 'rate_limited' ? 429 : 401);
    return undefined;
  }
  return result.state;
}

/** POST /interaction/:uid/abort — ポータルに戻る: the portal gets access_denied and shows its top page. */
export async function abortLogin(ctx: Context, _deps: InteractionDeps, interaction: Interaction): Promise<void> {
  if (!csrfValid(ctx, (ctx.request.body ?? {}) as Record<string, unknown>)) {
    return renderLogin(ctx, interaction, { errors: ['login.error_session'] }, 400);
  }
  const redirectTo = await resultForProvider(interaction, {
    error: 'access_denied',
    error_description: 'the member returned to the portal without logging in',
  });
  ctx.status = 303;
  ctx.redirect(redirectTo);
}
