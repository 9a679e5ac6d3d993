import { inTransaction } from '../../db/unit-of-work.js';
import { addCredential, listCredentials } from '../../members/credentials.js';
import { registerMemberFailure } from '../../members/lockout-store.js';
import { recordMemberEvent } from '../../members/events.js';
import type { FactorOutcome, Host, View } from '../types.js';
import { showView } from '../types.js';
import { maskAddress, normaliseEmailCodeInput } from './codes.js';
import { checkEmailCode, hasLiveEmailCode, issueEmailCode, type IssueResult } from './store.js';

/** RFC 8176 has no value for a code sent by email; this private one is documented in the README. */
export const EMAIL_OTP_AMR = ['email-otp'];

function codePage(host: Host, vars: { errors?: string[]; notice?: string; codeInvalid?: boolean } = {}, status = 200): View {
  return {
    view: 'factor-email',
    status,
    vars: {
      actionUrl: host.actionUrl,
      address: host.member.email ? maskAddress(host.member.email) : '',
      minutes: Math.round(host.deps.config.union.emailOtp.codeSeconds / 60),
      errors: vars.errors ?? [],
      notice: vars.notice,
      codeInvalid: vars.codeInvalid,
    },
  };
}

/**
 * The page when no code could be mailed now. The cooldown is information (a code went out moments
 * ago; 「再送信」 works in N seconds), shown as a notice, and so is the hourly ceiling (in minutes);
 * an undeliverable mail or a missing address is an error.
 */
function notSentPage(host: Host, result: Exclude<IssueResult, { ok: true }>, cooldownStatus: number): View {
  if (result.reason === 'cooldown') return codePage(host, { notice: host.t('factor_email.cooldown', { seconds: result.seconds }) }, cooldownStatus);
  if (result.reason === 'hourly_limit') return codePage(host, { notice: host.t('factor_email.hourly_limit', { minutes: Math.ceil(result.seconds / 60) }) }, cooldownStatus);
  const error = result.reason === 'no_address' ? 'factor_email.error_no_address' : 'factor_email.error_send_failed';
  return codePage(host, { errors: [host.t(error)] }, 503);
}

/** The code page; a code is mailed when the member has none that still works (a reload sends nothing). */
export async function emailChallenge(host: Host): Promise<View> {
  if (await hasLiveEmailCode(host)) return codePage(host);
  const sent = await issueEmailCode(host);
  return sent.ok ? codePage(host) : notSentPage(host, sent, 200);
}

/**
 * 「実行」 checks the code; 「再送信」 mails a new one after the cooldown. Wrong codes count toward
 * the account's lockout, and neither a new code nor a resend resets that count.
 * `onAccepted` runs in the transaction of a first use (the setup stores the method then).
 */
export async function emailVerify(host: Host, input: Record<string, unknown>, firstUse = false): Promise<FactorOutcome> {
  const { t } = host;
  if (input.action === 'resend') {
    const sent = await issueEmailCode(host);
    if (!sent.ok) return showView(notSentPage(host, sent, 429));
    await recordMemberEvent(host.deps.sql, host.member.id, 'login.email_otp_resent', {}, host.ip);
    return showView(codePage(host, { notice: t('factor_email.resent') }));
  }
  const typed = normaliseEmailCodeInput(input.code);
  if (!typed) return showView(codePage(host, { errors: [t('factor_email.error_code_required')], codeInvalid: true }, 400));
  const result = await checkEmailCode(host, typed);
  if (result === 'accepted') {
    await inTransaction(host.deps.orm, async ({ em, sql }) => {
      if (firstUse && (await listCredentials(em, host.member.id, 'email')).length === 0) {
        addCredential(em, host.member.id, { kind: 'email', label: '', lastUsedAt: new Date() });
        await em.flush();
        await recordMemberEvent(sql, host.member.id, 'factor.email_added', { flow: host.flow }, host.ip);
      }
      await recordMemberEvent(sql, host.member.id, 'login.email_otp_ok', {}, host.ip);
    });
    return { kind: 'verified', amr: EMAIL_OTP_AMR };
  }
  if (result === 'expired') return showView(codePage(host, { errors: [t('factor_email.error_expired')], codeInvalid: true }, 400));
  const after = await registerMemberFailure(host.deps.sql, host.member.id, host.deps.config.union.lockout, { wrong: 'login.email_otp_wrong', ip: host.ip });
  if (after.lockedNow) return { kind: 'locked' };
  const message = result === 'used_up' ? t('factor_email.error_used_up') : t('factor_email.error_code');
  return showView(codePage(host, { errors: [message], codeInvalid: true }, 401));
}
