import type { Context } from 'koa';
import { render } from '../render.js';
import { csrfValid } from '../middleware/csrf.js';
import { hitRateLimit } from '../../db/rate-limit.js';
import { EMAIL_MAX_LENGTH, isValidEmailAddress, normalizeEmail } from '../../members/email.js';
import { recordMemberEvent } from '../../members/events.js';
import type { RecoveryDeps, RecoveryPlace, T } from './types.js';

function show(ctx: Context, place: RecoveryPlace, vars: { birthdate?: string; email?: string; errors?: string[] } = {}, status = 200): void {
  const t = ctx.state.t as T;
  render(ctx, 'recovery-forgot-user-id', {
    actionUrl: place.actionUrl, backUrl: place.backUrl, birthdate: vars.birthdate ?? '', email: vars.email ?? '',
    errors: (vars.errors ?? []).map((k) => t(k)),
  }, status);
}

export function showForgotUserId(ctx: Context, place: RecoveryPlace): void {
  show(ctx, place);
}

function birthdateFrom(typed: string): string | undefined {
  const digits = typed.normalize('NFKC').replace(/[\s/-]/g, '');
  if (!/^\d{8}$/.test(digits)) return undefined;
  const iso = `${digits.slice(0, 4)}-${digits.slice(4, 6)}-${digits.slice(6, 8)}`;
  const d = new Date(`${iso}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(iso) ? iso : undefined;
}

/**
 * ユーザIDを忘れた方はこちら: the answer always shows the address that was entered, whether or not
 * it matched; a member whose confirmed address and birth date match receives the user ID by mail.
 */
export async function submitForgotUserId(ctx: Context, deps: RecoveryDeps, place: RecoveryPlace): Promise<void> {
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  const typedBirthdate = typeof body.birthdate === 'string' ? body.birthdate.slice(0, 20) : '';
  const typedEmail = typeof body.email === 'string' ? body.email.slice(0, 1000) : '';
  const kept = { birthdate: typedBirthdate, email: typedEmail.slice(0, 320) };
  if (!csrfValid(ctx, body)) return show(ctx, place, { ...kept, errors: ['login.error_session'] }, 400);

  const errors: string[] = [];
  const birthdate = birthdateFrom(typedBirthdate);
  if (!typedBirthdate.trim()) errors.push('recovery.error_birthdate_required');
  else if (!birthdate) errors.push('recovery.error_birthdate_format');
  const email = normalizeEmail(typedEmail);
  if (!email) errors.push('step_email.error_required');
  else if (email.length > EMAIL_MAX_LENGTH) errors.push('step_email.error_invalid', 'step_email.error_too_long');
  else if (!isValidEmailAddress(email)) errors.push('step_email.error_invalid');
  if (errors.length) return show(ctx, place, { ...kept, errors }, 400);

  const perIp = await hitRateLimit(deps.sql, `recovery-ip:${ctx.ip}`, 30, 900);
  if (!perIp.allowed) return show(ctx, place, { ...kept, errors: ['recovery.error_rate_limited'] }, 429);
  const perAddress = await hitRateLimit(deps.sql, `recovery-user-id:${email}`, 5, 900);

  const member = await deps.sql.one<{ id: string; display_name: string; user_id: string }>(
    'select id, display_name, user_id from member where email = $1 and email_verified and birthdate = $2::date', [email, birthdate],
  );
  if (member && perAddress.allowed) {
    await recordMemberEvent(deps.sql, member.id, 'recovery.user_id_sent', {}, ctx.ip);
    void deps.mail.send({
      to: email, template: 'user_id_reminder', locale: ctx.state.locale,
      vars: { name: member.display_name, userId: member.user_id, unionName: ctx.state.unionName },
    });
  }
  place.answer(ctx, (ctx.state.t as T)('recovery.user_id_sent', { email: typedEmail.trim().slice(0, 320) }));
}
