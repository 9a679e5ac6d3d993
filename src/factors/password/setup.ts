import type { PasswordProblem } from '../../members/password-policy.js';
import { newPasswordProblems, passwordPolicyVars } from '../../members/new-password.js';
import { showView, type FactorOutcome, type Host, type View } from '../types.js';
import { z } from 'zod';
import { field, type PostedForm } from '../../flow/form.js';

/** The console and the reset page read the current password the same way (src/members/password-holders.ts). */
export { loadPasswordHolder } from '../../members/password-holders.js';

/** The words for each broken rule, the same on every page that sets a password. */
export const PASSWORD_ERRORS: Record<PasswordProblem, string> = {
  required: 'step_password.error_required',
  too_short: 'step_password.error_too_short',
  too_long: 'step_password.error_too_long',
  invalid_chars: 'step_password.error_chars',
  mismatch: 'step_password.error_mismatch',
  same_as_user_id: 'step_password.error_same_as_user_id',
  same_as_current: 'step_password.error_same_as_current',
  common: 'step_password.error_common',
  personal: 'step_password.error_personal',
};

export function newPasswordPage(host: Host, errors: string[] = [], status = 200): View {
  const policy = passwordPolicyVars(host.deps.config);
  return {
    view: 'step-password',
    vars: { actionUrl: host.actionUrl, policy, userId: host.member.userId, errors: errors.map((k) => host.t(k, policy)) },
    status,
  };
}

/** パスワード and パスワード確認用: checked against the policy, then stored with its event in one named change. */
/** パスワード設定's form: the new password twice. */
const newPasswordForm = z.object({ password: field(1024), password_confirmation: field(1024) });

export async function setNewPassword(host: Host, posted: PostedForm): Promise<FactorOutcome> {
  const { password, password_confirmation: confirmation } = newPasswordForm.parse(posted);
  const holder = (await host.deps.credentials.passwordHolder(host.member.id))!;
  const problems = await newPasswordProblems(host.deps, holder, password, confirmation);
  if (problems.length)
    return showView(
      newPasswordPage(
        host,
        problems.map((p) => PASSWORD_ERRORS[p]),
        400,
      ),
    );
  await host.deps.changes.setOwnPassword({ memberId: host.member.id, password, via: host.flow, ip: host.ip });
  return { kind: 'verified', amr: ['pwd'] };
}
