import { emailAddressProblem, EMAIL_MAX_LENGTH, normalizeEmail } from '../members/email.js';
import { show, type Host, type Step, type StepOutcome, type View } from './types.js';
import { z } from 'zod';
import { field } from '../flow/form.js';

/**
 * The manual's errors, exactly; over 255 characters also shows the invalid-address error. Its No. 2
 * (an address another account holds) is said when the link is followed, not here: this form must not
 * tell which addresses are registered.
 */
export const EMAIL_ERRORS = {
  required: ['step_email.error_required'],
  too_long: ['step_email.error_invalid', 'step_email.error_too_long'],
  invalid: ['step_email.error_invalid'],
} as const;

/** The address's own problems; whether another member holds it is decided when its link is followed. */
export function emailProblems(email: string): string[] {
  const problem = emailAddressProblem(email);
  return problem ? [...EMAIL_ERRORS[problem]] : [];
}

/** Requests for a verification link, per member and per client IP (an office shares one address). */
const LINKS_PER_MEMBER = 5;
const LINKS_PER_IP = 50;
const LINK_WINDOW_SECONDS = 3600;

/**
 * Counts a request for a verification link against the member's and the client IP's limits. It runs
 * before anything is looked up, so no answer, not even a refusal, depends on who holds an address.
 */
export async function verificationRequestAllowed(host: Host): Promise<boolean> {
  const { rateLimits } = host.deps;
  const member = await rateLimits.hit(`verify-mail:${host.member.id}`, LINKS_PER_MEMBER, LINK_WINDOW_SECONDS);
  const ip = await rateLimits.hit(`verify-mail-ip:${host.ip}`, LINKS_PER_IP, LINK_WINDOW_SECONDS);
  return member.allowed && ip.allowed;
}

/**
 * Mails a verification link for `email` (the named change `mailVerificationLink`), and answers the
 * same whoever holds the address: one held by another member gets no mail, but the request is
 * stored and recorded as if it had been sent. False only when the mail could not be delivered.
 */
export function mailVerificationLink(host: Host, email: string, sentEvent: string): Promise<boolean> {
  return host.deps.changes.mailVerificationLink({ member: host.member, email, sentEvent, locale: host.locale, unionName: host.unionName, ip: host.ip });
}

function formPage(host: Host, email: string, errors: string[] = [], status = 200): View {
  return { view: 'step-email', vars: { actionUrl: host.actionUrl, email, errors: errors.map((k) => host.t(k)) }, status };
}

function sentPage(host: Host, email: string, vars: { error?: string; notice?: string } = {}, status = 200): View {
  return {
    view: 'step-email-sent',
    vars: {
      actionUrl: host.actionUrl,
      email,
      errors: vars.error ? [host.t(vars.error)] : [],
      notice: vars.notice ? host.t(vars.notice) : undefined,
      minutes: Math.round(host.deps.config.union.mail.emailVerificationSeconds / 60),
    },
    status,
  };
}

async function sendVerification(host: Host, email: string): Promise<StepOutcome> {
  if (!(await verificationRequestAllowed(host))) return show(sentPage(host, email, { error: 'step_email.error_too_many' }, 429));
  const sent = await mailVerificationLink(host, email, 'email.verification_sent');
  return show(sentPage(host, email, sent ? { notice: 'step_email.sent_notice' } : { error: 'step_email.error_send_failed' }, sent ? 200 : 503));
}

/** メールアドレスの更新 and メール認証: confirm or change the address, then click the mailed link. */
/** メールアドレスの登録's form: the address, or 再送信 (`action=resend`). */
const emailForm = z.object({ action: field(16), email: field(1000) });

export const emailStep: Step = {
  name: 'email',
  async show(host) {
    const pending = host.query.change ? undefined : await host.deps.members.pendingVerification(host.member.id);
    // 「更新」 (?refresh=1) before the link was used: say so, and keep saying the mail went out.
    if (pending)
      return sentPage(
        host,
        pending.email,
        host.query.refresh ? { error: 'step_email.not_yet_verified', notice: 'step_email.sent_notice' } : { notice: 'step_email.sent_notice' },
      );
    return formPage(host, host.member.email ?? '');
  },
  async submit(host, posted) {
    const body = emailForm.parse(posted);
    if (body.action === 'resend') {
      const pending = await host.deps.members.pendingVerification(host.member.id);
      const email = pending?.email ?? host.member.email;
      if (!email) return show(formPage(host, ''));
      return sendVerification(host, email);
    }
    const raw = body.email;
    const email = normalizeEmail(raw);
    const problems = emailProblems(email);
    if (problems.length) return show(formPage(host, raw.slice(0, EMAIL_MAX_LENGTH + 65), problems, 400));
    if (email === host.member.email && host.member.emailVerified) {
      await host.deps.changes.keepConfirmedAddress({ memberId: host.member.id });
      return { kind: 'done' };
    }
    return sendVerification(host, email);
  },
};
