import { hitRateLimit } from '../db/rate-limit.js';
import { emailAddressProblem, EMAIL_MAX_LENGTH, normalizeEmail } from '../members/email.js';
import { issueEmailVerification, pendingVerification } from '../members/email-verification.js';
import { recordMemberEvent } from '../members/events.js';
import { keepConfirmedAddress } from '../members/onboarding.js';
import { inTransaction } from '../db/unit-of-work.js';
import { show, type Host, type Step, type StepOutcome, type View } from './types.js';

/** The manual's four errors, exactly; over 255 characters also shows the invalid-address error. */
export const EMAIL_ERRORS = {
  required: ['step_email.error_required'],
  too_long: ['step_email.error_invalid', 'step_email.error_too_long'],
  invalid: ['step_email.error_invalid'],
} as const;

export async function emailProblems(host: Host, email: string): Promise<string[]> {
  const problem = emailAddressProblem(email);
  if (problem) return [...EMAIL_ERRORS[problem]];
  const other = await host.deps.sql.one('select 1 from member where email = $1 and id <> $2', [email, host.member.id]);
  return other ? ['step_email.error_taken'] : [];
}

function formPage(host: Host, email: string, errors: string[] = [], status = 200): View {
  return { view: 'step-email', vars: { actionUrl: host.actionUrl, email, errors: errors.map((k) => host.t(k)) }, status };
}

function sentPage(host: Host, email: string, vars: { error?: string; notice?: string } = {}, status = 200): View {
  return {
    view: 'step-email-sent',
    vars: {
      actionUrl: host.actionUrl, email,
      errors: vars.error ? [host.t(vars.error)] : [],
      notice: vars.notice ? host.t(vars.notice) : undefined,
      minutes: Math.round(host.deps.config.union.mail.emailVerificationSeconds / 60),
    },
    status,
  };
}

async function sendVerification(host: Host, email: string): Promise<StepOutcome> {
  const { config, sql, mail } = host.deps;
  const limit = await hitRateLimit(sql, `verify-mail:${host.member.id}`, 5, 3600);
  if (!limit.allowed) return show(sentPage(host, email, { error: 'step_email.error_too_many' }, 429));
  const seconds = config.union.mail.emailVerificationSeconds;
  const token = await issueEmailVerification(sql, host.member.id, email, seconds);
  const sent = await mail.send({
    to: email, template: 'verify_email', locale: host.locale,
    vars: { name: host.member.displayName, link: `${config.issuer}/verify-email/${token}`, minutes: Math.round(seconds / 60), unionName: host.unionName },
  });
  await recordMemberEvent(sql, host.member.id, sent.ok ? 'email.verification_sent' : 'email.verification_failed', {}, host.ip);
  return show(sentPage(host, email, sent.ok ? { notice: 'step_email.sent_notice' } : { error: 'step_email.error_send_failed' }, sent.ok ? 200 : 503));
}

/** メールアドレスの更新 and メール認証: confirm or change the address, then click the mailed link. */
export const emailStep: Step = {
  name: 'email',
  async show(host) {
    const pending = host.query.change ? undefined : await pendingVerification(host.deps.sql, host.member.id);
    // 「更新」 (?refresh=1) before the link was used: say so, and keep saying the mail went out.
    if (pending) return sentPage(host, pending.email, host.query.refresh ? { error: 'step_email.not_yet_verified', notice: 'step_email.sent_notice' } : { notice: 'step_email.sent_notice' });
    return formPage(host, host.member.email ?? '');
  },
  async submit(host, body) {
    if (body.action === 'resend') {
      const pending = await pendingVerification(host.deps.sql, host.member.id);
      const email = pending?.email ?? host.member.email;
      if (!email) return show(formPage(host, ''));
      return sendVerification(host, email);
    }
    const raw = typeof body.email === 'string' ? body.email : '';
    const email = normalizeEmail(raw.slice(0, 1000));
    const problems = await emailProblems(host, email);
    if (problems.length) return show(formPage(host, raw.slice(0, EMAIL_MAX_LENGTH + 65), problems, 400));
    if (email === host.member.email && host.member.emailVerified) {
      await inTransaction(host.deps.orm, (work) => keepConfirmedAddress(work, host.member.id));
      return { kind: 'done' };
    }
    return sendVerification(host, email);
  },
};
