import type { Context } from 'koa';
import { z } from 'zod';
import { render } from '../render.js';
import { field, type FormSpec } from '../form.js';
import { passwordIdentifier } from '../../factors/index.js';
import { identify } from '../../flow/identify.js';
import { flowDeps } from '../../members/ports.js';
import type { Interaction, InteractionDeps, LoginRequest } from './request.js';
import { resultForProvider, type LoginState } from './state.js';
import { lockedError, type LoginError } from './lock-message.js';
import { reauthenticationOf } from './reauth.js';

export const loginFields = z.object({ user_id: field(256), password: field(1024), remember: field(8) });
export type LoginForm = z.infer<typeof loginFields>;

export function renderLogin(
  ctx: Context,
  interaction: Interaction,
  vars: { userId?: string; remember?: boolean; errors?: LoginError[]; notice?: string } = {},
  status = 200,
): void {
  const t = ctx.state.t;
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
      passkeyOptions: ctx.state.passkeyLoginOptions?.(interaction.uid),
    },
    status,
  );
}

/**
 * POST /interaction/:uid/login — the ユーザID and パスワード form, handed to the login's identify stage
 * (flow/identify.ts). The login's state when the password was right (the caller then proceeds);
 * otherwise the login page says what the flow answered.
 */
export async function submitLogin(ctx: Context, deps: InteractionDeps, interaction: Interaction, body: LoginForm): Promise<LoginState | undefined> {
  const kept = keptLogin(ctx, body);
  const reauth = reauthenticationOf(ctx);
  const userId = reauth ? reauth.userId : body.user_id;
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

/** What the login page keeps of a refused form: a re-authentication is the session's member's, whatever user ID the form carries. */
function keptLogin(ctx: Context, body: LoginForm): { userId: string; remember: boolean } {
  const reauth = reauthenticationOf(ctx);
  return { userId: (reauth ? reauth.userId : body.user_id).slice(0, 64), remember: reauth ? reauth.remember : body.remember === 'on' };
}

/** The login page again, what the member typed kept (never the password), for a form without this browser's CSRF token. */
export const refusedLogin = ({ ctx, interaction }: LoginRequest, body: LoginForm) =>
  renderLogin(ctx, interaction, { ...keptLogin(ctx, body), errors: ['login.error_session'] }, 400);

/** POST /interaction/:uid/abort — ポータルに戻る: the portal gets access_denied and shows its top page. */
async function abortLogin({ ctx, interaction }: LoginRequest): Promise<void> {
  const redirectTo = await resultForProvider(interaction, {
    error: 'access_denied',
    error_description: 'the member returned to the portal without logging in',
  });
  ctx.status = 303;
  ctx.redirect(redirectTo);
}

export const abortLoginForm: FormSpec<LoginRequest, LoginForm> = { schema: loginFields, submit: abortLogin, refused: refusedLogin };
