import type { Context } from 'koa';
import { render } from '../render.js';
import type { FormSpec } from '../form.js';
import { normalizeUserId } from '../../members/user-id.js';
import { countPasswordResetRequest, countRecoveryFromIp, mailPasswordResetLink } from '../../members/changes/recovery.js';
import { forgotPasswordFields, type ForgotPasswordForm } from './schemas.js';
import { answerNotice, type RecoveryPlace, type RecoveryRequest } from './types.js';

function show(ctx: Context, place: RecoveryPlace, vars: { userId?: string; errors?: string[] } = {}, status = 200): void {
  const t = ctx.state.t;
  render(
    ctx,
    'recovery-forgot-password',
    { actionUrl: place.actionUrl, backUrl: place.backUrl, userId: vars.userId ?? '', errors: (vars.errors ?? []).map((k) => t(k)) },
    status,
  );
}

export function showForgotPassword(ctx: Context, place: RecoveryPlace): void {
  show(ctx, place);
}

/**
 * パスワードを忘れた方はこちら: the answer is the same, in content and in timing, whether or not
 * the user ID exists or has a confirmed address; only a confirmed address ever receives the link.
 */
async function mailResetLink({ ctx, deps, place }: RecoveryRequest, form: ForgotPasswordForm): Promise<void> {
  const userId = normalizeUserId(form.user_id);
  if (!userId) return show(ctx, place, { errors: ['recovery.error_user_id_required'] }, 400);

  if (!(await countRecoveryFromIp(deps, ctx.ip))) return show(ctx, place, { userId: form.user_id, errors: ['recovery.error_rate_limited'] }, 429);
  const mayMail = await countPasswordResetRequest(deps, userId);

  // After the answer has gone out, so neither the lookup nor the delivery shows in the response time.
  const request = { locale: String(ctx.state.locale), unionName: ctx.state.unionName, ip: ctx.ip };
  mailPasswordResetLink(deps, userId, mayMail, request).catch((err: unknown) => deps.log.error({ err }, 'password reset mail not sent'));
  place.answer(ctx, answerNotice(ctx, { kind: 'password_reset_sent' }));
}

/** POST — パスワードを忘れた方はこちら's ユーザID. */
export const forgotPasswordForm: FormSpec<RecoveryRequest, ForgotPasswordForm> = {
  schema: forgotPasswordFields,
  submit: mailResetLink,
  refused: ({ ctx, place }, form) => show(ctx, place, { userId: form.user_id, errors: ['login.error_session'] }, 400),
};
