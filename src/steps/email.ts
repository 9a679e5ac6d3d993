import { render } from '../http/render.js';
import { hitRateLimit } from '../db/rate-limit.js';
import { EMAIL_MAX_LENGTH, isValidEmailAddress, normalizeEmail } from '../members/email.js';
import { issueEmailVerification, pendingVerification } from '../members/email-verification.js';
import { recordMemberEvent } from '../members/events.js';
import { Member } from '../db/entities/index.js';
import { withoutStep } from './owed.js';
import type { Step, StepOutcome, StepRun } from './types.js';

type T = (k: string, v?: Record<string, string | number>) => string;

/** The manual's four errors, exactly; over 255 characters also shows the invalid-address error. */
export async function emailProblems(run: StepRun, email: string): Promise<string[]> {
  if (!email) return ['step_email.error_required'];
  if (email.length > EMAIL_MAX_LENGTH) return ['step_email.error_invalid', 'step_email.error_too_long'];
  if (!isValidEmailAddress(email)) return ['step_email.error_invalid'];
  const other = await run.deps.sql.one('select 1 from member where email = $1 and id <> $2', [email, run.member.id]);
  return other ? ['step_email.error_taken'] : [];
}

function showForm(run: StepRun, email: string, errors: string[] = [], status = 200): void {
  const t = run.ctx.state.t as T;
  render(run.ctx, 'step-email', { actionUrl: run.actionUrl, email, errors: errors.map((k) => t(k)) }, status);
}

function showSent(run: StepRun, email: string, vars: { error?: string; notice?: string } = {}, status = 200): void {
  const t = run.ctx.state.t as T;
  render(run.ctx, 'step-email-sent', {
    actionUrl: run.actionUrl, email,
    errors: vars.error ? [t(vars.error)] : [],
    notice: vars.notice ? t(vars.notice) : undefined,
    minutes: Math.round(run.deps.config.union.mail.emailVerificationSeconds / 60),
  }, status);
}

async function sendVerification(run: StepRun, email: string): Promise<StepOutcome> {
  const { config, sql, mail } = run.deps;
  const limit = await hitRateLimit(sql, `verify-mail:${run.member.id}`, 5, 3600);
  if (!limit.allowed) {
    showSent(run, email, { error: 'step_email.error_too_many' }, 429);
    return { kind: 'rendered' };
  }
  const token = await issueEmailVerification(sql, run.member.id, email, config.union.mail.emailVerificationSeconds);
  const sent = await mail.send({
    to: email, template: 'verify_email', locale: run.ctx.state.locale,
    vars: { name: run.member.displayName, link: `${config.issuer}/verify-email/${token}`, minutes: Math.round(config.union.mail.emailVerificationSeconds / 60), unionName: run.ctx.state.unionName },
  });
  await recordMemberEvent(sql, run.member.id, sent.ok ? 'email.verification_sent' : 'email.verification_failed', {}, run.ctx.ip);
  showSent(run, email, sent.ok ? { notice: 'step_email.sent_notice' } : { error: 'step_email.error_send_failed' }, sent.ok ? 200 : 503);
  return { kind: 'rendered' };
}

/** メールアドレスの更新 and メール認証: confirm or change the address, then click the mailed link. */
export const emailStep: Step = {
  name: 'email',
  async show(run) {
    const pending = run.ctx.query.change ? undefined : await pendingVerification(run.deps.sql, run.member.id);
    if (pending) return showSent(run, pending.email);
    showForm(run, run.member.email ?? '');
  },
  async submit(run, body) {
    if (body.action === 'resend') {
      const pending = await pendingVerification(run.deps.sql, run.member.id);
      const email = pending?.email ?? run.member.email;
      if (!email) { showForm(run, ''); return { kind: 'rendered' }; }
      return sendVerification(run, email);
    }
    const raw = typeof body.email === 'string' ? body.email : '';
    const email = normalizeEmail(raw.slice(0, 1000));
    const problems = await emailProblems(run, email);
    if (problems.length) { showForm(run, raw.slice(0, 320), problems, 400); return { kind: 'rendered' }; }
    if (email === run.member.email && run.member.emailVerified) {
      const em = run.deps.orm.em.fork();
      const member = await em.findOneOrFail(Member, { id: run.member.id });
      withoutStep(member, 'email');
      await em.flush();
      return { kind: 'done' };
    }
    return sendVerification(run, email);
  },
};
