import { sendSecurityNotice } from '../../mail/security-notice.js';
import { showView, type FactorOutcome, type Host, type View } from '../types.js';
import { z } from 'zod';
import { field, type PostedForm } from '../../flow/form.js';

/** RFC 8176 has no value for a recovery code; this private one tells portals what was used. */
export const RECOVERY_CODE_AMR = 'rc';

export function recoveryCodePage(host: Host, errors: string[] = [], status = 200): View {
  return { view: 'factor-recovery-code', vars: { actionUrl: host.actionUrl, errors: errors.map((k) => host.t(k)) }, status };
}

/**
 * A recovery code in place of the second factor (a lost phone). Single use; a wrong one counts
 * toward the account's lockout; using one mails a notice asking the member to set up a device again.
 */
/** リカバリーコードの入力's form. */
const verifyForm = z.object({ code: field(64) });

export async function verifyRecoveryCode(host: Host, posted: PostedForm): Promise<FactorOutcome> {
  const input = verifyForm.parse(posted);
  const { member, deps } = host;
  const typed = input.code;
  if (!typed.trim()) return showView(recoveryCodePage(host, ['factor_recovery_code.error_required'], 400));
  // Checked and spent under the member's row lock; nothing is checked while the member is locked.
  const attempt = await host.attempt(member.id, 'login.recovery_code_wrong', async (tx) => {
    const used = await tx.recoveryCodes.use(member.id, typed);
    if (used) await tx.audit.record(member.id, 'login.recovery_code_used', {}, host.ip);
    return { failed: !used, value: used };
  });
  if (attempt.outcome === 'locked' || attempt.failure?.lockedNow) return { kind: 'locked' };
  if (attempt.value) {
    await sendSecurityNotice(deps, member, 'recovery_code_used');
    return { kind: 'verified', amr: [RECOVERY_CODE_AMR], credentialId: attempt.value };
  }
  return showView(recoveryCodePage(host, ['factor_recovery_code.error_invalid'], 401));
}

/** After a recovery code: how many are left, and that a new device should be set up. */
export async function recoveryCodeUsedPage(host: Host, continueUrl: string): Promise<View> {
  const { left } = await host.deps.recoveryCodes.left(host.member.id);
  return { view: 'factor-recovery-code-used', vars: { continueUrl, left } };
}
