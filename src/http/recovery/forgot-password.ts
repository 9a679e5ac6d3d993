import type { Context } from 'koa';
import { render } from '../render.js';
import { csrfValid } from '../middleware/csrf.js';
import { hitRateLimit } from '../../db/rate-limit.js';
import { normalizeUserId } from '../../members/user-id.js';
import { issuePasswordReset } from '../../members/password-reset.js';
import { recordMemberEvent } from '../../members/events.js';
import { forgotPasswordForm, formBody } from './schemas.js';
import { answerNotice, RECOVERY_LIMITS, type RecoveryDeps, type RecoveryPlace, type T } from './types.js';

function show(ctx: Context, place: RecoveryPlace, vars: { userId?: string; errors?: string[] } = {}, status = 200): void {
  const t = ctx.state.t as T;
  render(ctx, 'recovery-forgot-password', { actionUrl: place.actionUrl, backUrl: place.backUrl, userId: vars.userId ?? '', errors: (vars.errors ?? []).map((k) => t(k)) }, status);
}

export function showForgotPassword(ctx: Context, place: RecoveryPlace): void {
  show(ctx, place);
}

/**
 * Looks the user ID up and, for a member with a confirmed address within the limits, mails the
 * 「パスワードをリセット」 link. Runs after the answer has gone out, so neither the lookup nor the
 * delivery shows in the response time.
 */
async function mailResetLinkIfEligible(deps: RecoveryDeps, userId: string, mayMail: boolean, request: { locale: string; unionName?: string; ip: string }): Promise<void> {
  const member = await deps.sql.one<{ id: string; email: string; display_name: string; user_id: string }>(
    'select id, email, display_name, user_id from member where user_id = $1 and email is not null and email_verified', [userId],
  );
  if (!member || !mayMail) return;
  const perAddress = await hitRateLimit(deps.sql, `recovery-mail:${member.email}`, RECOVERY_LIMITS.perAddress, RECOVERY_LIMITS.windowSeconds);
  if (!perAddress.allowed) return;
  const seconds = deps.config.union.mail.passwordResetSeconds;
  const token = await issuePasswordReset(deps.sql, member.id, seconds);
  await recordMemberEvent(deps.sql, member.id, 'recovery.password_link_sent', {}, request.ip);
  await deps.mail.send({
    to: member.email, template: 'password_reset', locale: request.locale as never,
    vars: { name: member.display_name, userId: member.user_id, link: `${deps.config.issuer}/recovery/password/reset/${token}`, minutes: Math.max(1, Math.round(seconds / 60)), unionName: request.unionName },
  });
}

/**
 * パスワードを忘れた方はこちら: the answer is the same, in content and in timing, whether or not
 * the user ID exists or has a confirmed address; only a confirmed address ever receives the link.
 */
export async function submitForgotPassword(ctx: Context, deps: RecoveryDeps, place: RecoveryPlace): Promise<void> {
  const body = formBody(ctx);
  const form = forgotPasswordForm.parse(body);
  if (!csrfValid(ctx, body)) return show(ctx, place, { userId: form.user_id, errors: ['login.error_session'] }, 400);
  const userId = normalizeUserId(form.user_id);
  if (!userId) return show(ctx, place, { errors: ['recovery.error_user_id_required'] }, 400);

  const perIp = await hitRateLimit(deps.sql, `recovery-ip:${ctx.ip}`, RECOVERY_LIMITS.perIp, RECOVERY_LIMITS.windowSeconds);
  if (!perIp.allowed) return show(ctx, place, { userId: form.user_id, errors: ['recovery.error_rate_limited'] }, 429);
  const perUser = await hitRateLimit(deps.sql, `recovery-password:${userId}`, RECOVERY_LIMITS.perUserId, RECOVERY_LIMITS.windowSeconds);

  const request = { locale: String(ctx.state.locale), unionName: ctx.state.unionName as string | undefined, ip: ctx.ip };
  mailResetLinkIfEligible(deps, userId, perUser.allowed, request)
    .catch((err: unknown) => deps.log.error({ err }, 'password reset mail not sent'));
  place.answer(ctx, answerNotice(ctx, { kind: 'password_reset_sent' }));
}
