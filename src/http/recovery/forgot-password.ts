import type { Context } from 'koa';
import { render } from '../render.js';
import { csrfValid } from '../middleware/csrf.js';
import { hitRateLimit } from '../../db/rate-limit.js';
import { normalizeUserId } from '../../members/user-id.js';
import { issuePasswordReset } from '../../members/password-reset.js';
import { recordMemberEvent } from '../../members/events.js';
import type { RecoveryDeps, RecoveryPlace, T } from './types.js';

function show(ctx: Context, place: RecoveryPlace, vars: { userId?: string; errors?: string[] } = {}, status = 200): void {
  const t = ctx.state.t as T;
  render(ctx, 'recovery-forgot-password', { actionUrl: place.actionUrl, backUrl: place.backUrl, userId: vars.userId ?? '', errors: (vars.errors ?? []).map((k) => t(k)) }, status);
}

export function showForgotPassword(ctx: Context, place: RecoveryPlace): void {
  show(ctx, place);
}

/**
 * パスワードを忘れた方はこちら: the answer is the same whether or not the user ID exists or has a
 * confirmed address; only a confirmed address ever receives the 「パスワードをリセット」 link.
 */
export async function submitForgotPassword(ctx: Context, deps: RecoveryDeps, place: RecoveryPlace): Promise<void> {
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  const typed = typeof body.user_id === 'string' ? body.user_id.slice(0, 200) : '';
  if (!csrfValid(ctx, body)) return show(ctx, place, { userId: typed, errors: ['login.error_session'] }, 400);
  const userId = normalizeUserId(typed);
  if (!userId) return show(ctx, place, { errors: ['recovery.error_user_id_required'] }, 400);

  const perIp = await hitRateLimit(deps.sql, `recovery-ip:${ctx.ip}`, 30, 900);
  if (!perIp.allowed) return show(ctx, place, { userId: typed, errors: ['recovery.error_rate_limited'] }, 429);
  const perUser = await hitRateLimit(deps.sql, `recovery-password:${userId}`, 5, 900);

  const member = await deps.sql.one<{ id: string; email: string; display_name: string; user_id: string }>(
    'select id, email, display_name, user_id from member where user_id = $1 and email is not null and email_verified', [userId],
  );
  const perAddress = member ? await hitRateLimit(deps.sql, `recovery-mail:${member.email}`, 5, 900) : { allowed: false };
  if (member && perUser.allowed && perAddress.allowed) {
    const minutes = Math.round(deps.config.union.mail.passwordResetSeconds / 60);
    const token = await issuePasswordReset(deps.sql, member.id, deps.config.union.mail.passwordResetSeconds);
    await recordMemberEvent(deps.sql, member.id, 'recovery.password_link_sent', {}, ctx.ip);
    // Not awaited: how long delivery takes must not tell who has an account. The mailer retries and logs.
    void deps.mail.send({
      to: member.email, template: 'password_reset', locale: ctx.state.locale,
      vars: { name: member.display_name, userId: member.user_id, link: `${deps.config.issuer}/recovery/password/reset/${token}`, minutes, unionName: ctx.state.unionName },
    });
  }
  place.answer(ctx, (ctx.state.t as T)('recovery.password_sent'));
}
