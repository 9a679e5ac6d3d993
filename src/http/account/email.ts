import { z } from 'zod';
import { emailAddressProblem, EMAIL_MAX_LENGTH, normalizeEmail } from '../../members/email.js';
import { pendingVerification } from '../../members/email-verification.js';
import { field, type FormSpec } from '../form.js';
import { EMAIL_ERRORS, mailVerificationLink, verificationRequestAllowed } from '../../steps/email.js';
import { renderAccount, requireRecentLogin, requireStrongFactorIfHeld, type AccountRequest } from './request.js';

const emailForm = z.object({ email: field(1000) });
type EmailForm = z.infer<typeof emailForm>;

function showForm(request: AccountRequest, email: string, errors: string[] = [], status = 200): Promise<void> {
  const t = request.ctx.state.t;
  return renderAccount(
    request,
    'account-email',
    { section: 'profile', actionUrl: '/account/email', email, current: request.session.member.email, errors: errors.map((k) => t(k)) },
    status,
  );
}

/** GET /account/email — メールアドレス更新, after a recent login. */
export async function showEmailChange(request: AccountRequest): Promise<void> {
  if (!requireRecentLogin(request, '/account/email')) return;
  if (
    !(await requireStrongFactorIfHeld(request, '/account/email', () =>
      showForm(request, request.session.member.email ?? '', ['account.email.error_strong_factor'], 403),
    ))
  )
    return;
  const pending = await pendingVerification(request.deps.sql, request.session.member.id);
  return showForm(request, pending?.email ?? request.session.member.email ?? '');
}

/**
 * POST /account/email: the new address gets a verification link; it replaces the old one only when
 * the link is followed, and the old address is told then (src/http/verify-email.ts). An address
 * another member holds gets no mail, and the page says the same as for any other (steps/email.ts).
 */
async function mailAddressConfirmation(request: AccountRequest, { email: typed }: EmailForm): Promise<void> {
  const { deps, session } = request;
  if (!requireRecentLogin(request, '/account/email')) return;
  if (!(await requireStrongFactorIfHeld(request, '/account/email', () => showForm(request, typed, ['account.email.error_strong_factor'], 403)))) return;
  const email = normalizeEmail(typed);
  const problem = emailAddressProblem(email);
  if (problem) return showForm(request, typed.slice(0, EMAIL_MAX_LENGTH + 65), [...EMAIL_ERRORS[problem]], 400);
  if (email === session.member.email && session.member.emailVerified) return showForm(request, typed, ['account.email.error_same'], 400);
  // Counted before anything is looked up, and the answer is the same whoever holds the address: the
  // form must not tell which addresses are registered. The link's follow-up decides (409 if taken).
  const host = request.host('/account/email');
  if (!(await verificationRequestAllowed(host))) return showForm(request, typed, ['step_email.error_too_many'], 429);
  if (!(await mailVerificationLink(host, email, 'email.change_requested'))) return showForm(request, typed, ['step_email.error_send_failed'], 503);
  const minutes = Math.round(deps.config.union.mail.emailVerificationSeconds / 60);
  return renderAccount(request, 'account-email-sent', { section: 'profile', email, minutes });
}

/** POST /account/email — the new address. */
export const emailChangeForm: FormSpec<AccountRequest, EmailForm> = {
  schema: emailForm,
  submit: mailAddressConfirmation,
  refused: (request, form) => showForm(request, form.email.slice(0, EMAIL_MAX_LENGTH), ['login.error_session'], 400),
};
