import { sendSecurityNotice } from '../../mail/security-notice.js';
import { confirmEmailVerification, type VerificationResult } from '../email-verification.js';
import type { ChangeDeps } from './deps.js';

/**
 * The 「メールアドレスの確認」 button: the link used and the address the member's, in one transaction
 * (members/email-verification.ts). After an address change from the console, the address it replaced
 * is told once that has committed (a hijacked account shows).
 */
export async function confirmEmail(deps: ChangeDeps, token: string): Promise<VerificationResult> {
  const confirmed = await confirmEmailVerification(deps.sql, token);
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
