import { isUniqueViolation } from '../../db/sql.js';
import { inTransaction } from '../../db/unit-of-work.js';
import type { Locale } from '../../i18n/index.js';
import { sendSecurityNotice } from '../../mail/security-notice.js';
import { confirmEmailVerification, issueEmailVerification, type VerificationResult } from '../email-verification.js';
import { recordMemberEvent } from '../events.js';
import { isEmailTaken } from '../taken.js';
import type { ChangeDeps, NoticeMember } from './deps.js';

/**
 * The 「メールアドレスの確認」 button: the link used and the address the member's, in one transaction
 * (members/email-verification.ts). After an address change from the console, the address it replaced
 * is told once that has committed (a hijacked account shows).
 */
export async function confirmEmail(deps: ChangeDeps, token: string): Promise<VerificationResult> {
  const confirmed = await inTransaction(deps.orm, ({ sql }) => confirmEmailVerification(sql, token)).catch((err: unknown) => {
    if (isUniqueViolation(err, 'member_email_unique')) return { ok: false, reason: 'taken' } as const;
    throw err;
  });
  if (!confirmed.ok || !confirmed.previousEmail) return confirmed;
  const member = await deps.sql.one<{ display_name: string; locale: string }>('select display_name, locale from member where id = $1', [confirmed.memberId]);
  if (member) {
    await sendSecurityNotice(
      deps,
      { email: confirmed.previousEmail, emailVerified: true, displayName: member.display_name, locale: member.locale },
      'email_changed',
    );
  }
  return confirmed;
}

/**
 * A verification link for `email` (メールアドレスの更新 / メール認証, and the console's address change),
 * mailed; earlier links stop working. The answer is the same whoever holds the address: one held by
 * another member gets no mail (nothing reaches a stranger's mailbox, and the link could only answer
 * 「他のアカウントで設定されているメールアドレスです」 when followed), but the request is stored and
 * recorded as if it had been sent, so no later page tells the two apart either. False only when the
 * mail could not be delivered.
 */
export async function mailVerificationLink(
  deps: ChangeDeps,
  change: { member: NoticeMember; email: string; sentEvent: string; locale: Locale; unionName: string; ip: string },
): Promise<boolean> {
  const { member, email, ip } = change;
  const seconds = deps.config.union.mail.emailVerificationSeconds;
  const token = await inTransaction(deps.orm, async ({ sql }) => {
    const issued = await issueEmailVerification(sql, member.id, email, seconds);
    if (!(await isEmailTaken(sql, email, member.id))) return issued;
    await recordMemberEvent(sql, member.id, 'email.verification_withheld', { reason: 'address_in_use' }, ip);
    return undefined;
  });
  if (!token) return true;
  const sent = await deps.mail.send({
    to: email,
    template: 'verify_email',
    locale: change.locale,
    vars: { name: member.displayName, link: `${deps.config.issuer}/verify-email/${token}`, minutes: Math.round(seconds / 60), unionName: change.unionName },
  });
  await recordMemberEvent(deps.sql, member.id, sent.ok ? change.sentEvent : 'email.verification_failed', {}, ip);
  return sent.ok;
}
