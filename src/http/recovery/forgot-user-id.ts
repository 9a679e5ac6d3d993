import type { Context } from 'koa';
import { render } from '../render.js';
import type { FormSpec } from '../form.js';
import { emailAddressProblem, normalizeEmail } from '../../members/email.js';
import { parseTypedBirthdate } from '../../members/birthdate.js';
import { countRecoveryFromIp, countUserIdReminderRequest, mailUserIdReminder } from '../../members/changes/recovery.js';
import { forgotUserIdFields, type ForgotUserIdForm } from './schemas.js';
import { answerNotice, type RecoveryPlace, type RecoveryRequest } from './types.js';

function show(ctx: Context, place: RecoveryPlace, vars: { birthdate?: string; email?: string; errors?: string[] } = {}, status = 200): void {
  const t = ctx.state.t;
  render(
    ctx,
    'recovery-forgot-user-id',
    {
      actionUrl: place.actionUrl,
      backUrl: place.backUrl,
      birthdate: vars.birthdate ?? '',
      email: vars.email ?? '',
      errors: (vars.errors ?? []).map((k) => t(k)),
    },
    status,
  );
}

const BIRTHDATE_ERRORS = { required: 'recovery.error_birthdate_required', format: 'recovery.error_birthdate_format' } as const;
const EMAIL_ERRORS = { required: 'recovery.error_email_required', too_long: 'recovery.error_email_too_long', invalid: 'recovery.error_email_format' } as const;

export function showForgotUserId(ctx: Context, place: RecoveryPlace): void {
  show(ctx, place);
}

/**
 * ユーザIDを忘れた方はこちら: the answer always shows the address that was entered, whether or not
 * it matched; a member whose confirmed address and birth date match receives the user ID by mail.
 */
async function mailUserId({ ctx, deps, place }: RecoveryRequest, form: ForgotUserIdForm): Promise<void> {
  const kept = { birthdate: form.birthdate, email: form.email };

  const errors: string[] = [];
  const typed = parseTypedBirthdate(form.birthdate);
  if (!typed.ok) errors.push(BIRTHDATE_ERRORS[typed.problem]);
  const email = normalizeEmail(form.email);
  const emailProblem = emailAddressProblem(email);
  if (emailProblem) errors.push(EMAIL_ERRORS[emailProblem]);
  if (errors.length || !typed.ok) return show(ctx, place, { ...kept, errors }, 400);
  const birthdate = typed.iso;

  if (!(await countRecoveryFromIp(deps, ctx.ip))) return show(ctx, place, { ...kept, errors: ['recovery.error_rate_limited'] }, 429);

  // After the answer has gone out, so neither the lookup nor the delivery shows in the response time.
  if (await countUserIdReminderRequest(deps, email)) {
    const request = { locale: String(ctx.state.locale), unionName: ctx.state.unionName, ip: ctx.ip };
    mailUserIdReminder(deps, email, birthdate, request).catch((err: unknown) => deps.log.error({ err }, 'user ID reminder not sent'));
  }
  place.answer(ctx, answerNotice(ctx, { kind: 'user_id_sent', email: form.email.trim() }));
}

/** POST — ユーザIDを忘れた方はこちら's 生年月日 and メールアドレス. */
export const forgotUserIdForm: FormSpec<RecoveryRequest, ForgotUserIdForm> = {
  schema: forgotUserIdFields,
  submit: mailUserId,
  refused: ({ ctx, place }, form) => show(ctx, place, { birthdate: form.birthdate, email: form.email, errors: ['login.error_session'] }, 400),
};
