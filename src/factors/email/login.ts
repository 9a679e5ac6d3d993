import type { FactorOutcome, Host, View } from '../types.js';
import { showView } from '../types.js';
import { maskAddress, normaliseEmailCodeInput } from './codes.js';
import { checkEmailCode, hasLiveEmailCode, issueEmailCode, type IssueResult } from './store.js';
import { z } from 'zod';
import { field, type PostedForm } from '../../flow/form.js';

/** RFC 8176 has no value for a code sent by email; this private one, the factor's name, is documented in the README. */
export const EMAIL_AMR = ['email'];

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
  if (result.reason === 'hourly_limit')
    return codePage(host, { notice: host.t('factor_email.hourly_limit', { minutes: Math.ceil(result.seconds / 60) }) }, cooldownStatus);
  const error = result.reason === 'no_address' ? 'factor_email.error_no_address' : 'factor_email.error_send_failed';
  return codePage(host, { errors: [host.t(error)] }, 503);
}

/** Set in the flow's scratch once this login (or console flow) has had its first code mailed. */
const FIRST_CODE_SENT = 'email.firstCodeSent';

/**
 * The code page; a code is mailed when the member has none that still works (a reload sends
 * nothing). The first code of a login is mailed whatever the resend cooldown: a member who logs in
 * again right after a login (at a second portal) gets a new code, not a notice about 「再送信」.
 */
export async function emailChallenge(host: Host): Promise<View> {
  if (await hasLiveEmailCode(host)) return codePage(host);
  const firstOfLogin = !host.scratch.get<boolean>(FIRST_CODE_SENT);
  const sent = await issueEmailCode(host, { firstOfLogin });
  if (!sent.ok) return notSentPage(host, sent, 200);
  if (firstOfLogin) await host.scratch.set(FIRST_CODE_SENT, true);
  return codePage(host);
}

/**
 * 「実行」 checks the code; 「再送信」 mails a new one after the cooldown. Wrong codes count toward
 * the account's lockout, and neither a new code nor a resend resets that count. The code is checked
 * under the member's row lock (the flow's attempt, host.attempt): none while the member is locked, at most
 * `maxFailures` per lock. A first use (the setup) stores the method in the same transaction.
 */
/** 認証コードの入力's form: the code, or 再送信 (`action=resend`). */
const verifyForm = z.object({ action: field(16), code: field(64) });

export async function emailVerify(host: Host, posted: PostedForm, firstUse = false): Promise<FactorOutcome> {
  const { t } = host;
  const input = verifyForm.parse(posted);
  if (input.action === 'resend') {
    const sent = await issueEmailCode(host);
    if (!sent.ok) return showView(notSentPage(host, sent, 429));
    await host.deps.audit.record(host.member.id, 'login.email_resent', {}, host.ip);
    return showView(codePage(host, { notice: t('factor_email.resent') }));
  }
  const typed = normaliseEmailCodeInput(input.code);
  if (!typed) return showView(codePage(host, { errors: [t('factor_email.error_code_required')], codeInvalid: true }, 400));
  const attempt = await host.attempt(host.member.id, 'login.email_wrong', async (tx) => {
    const result = await checkEmailCode(host, tx, typed);
    if (result === 'accepted') {
      if (firstUse) await tx.changes.addEmailMethod(host.member.id, host.flow, host.ip);
      await tx.audit.record(host.member.id, 'login.email_ok', {}, host.ip);
    }
    return { failed: result === 'wrong' || result === 'used_up', value: result };
  });
  if (attempt.outcome === 'locked' || attempt.failure?.lockedNow) return { kind: 'locked' };
  const result = attempt.value;
  if (result === 'accepted') return { kind: 'verified', amr: EMAIL_AMR };
  if (result === 'expired') return showView(codePage(host, { errors: [t('factor_email.error_expired')], codeInvalid: true }, 400));
  if (result === 'used') return showView(codePage(host, { errors: [t('factor_email.error_used')], codeInvalid: true }, 400));
  const message = result === 'used_up' ? t('factor_email.error_used_up') : t('factor_email.error_code');
  return showView(codePage(host, { errors: [message], codeInvalid: true }, 401));
}
