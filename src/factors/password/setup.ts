import type { PasswordProblem } from '../../members/password-policy.js';
import { newPasswordProblems, passwordPolicyVars, storeNewPassword } from '../../members/new-password.js';
import { recordMemberEvent } from '../../members/events.js';
import { PASSWORD_CREDENTIAL_JOIN, PASSWORD_HOLDER_COLUMNS, type PasswordHolder } from '../../members/password.js';
import { inTransaction } from '../../db/unit-of-work.js';
import type { Sql } from '../../db/sql.js';
import { showView, type FactorOutcome, type Host, type View } from '../types.js';

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

/** The member's current password as the hasher checks it (their own hash, or the initial one). */
export async function loadPasswordHolder(sql: Sql, memberId: string): Promise<(PasswordHolder & { userId: string }) | undefined> {
  return sql.one<PasswordHolder & { userId: string }>(
    `select m.user_id as "userId", ${PASSWORD_HOLDER_COLUMNS} from member m ${PASSWORD_CREDENTIAL_JOIN} where m.id = $1`,
    [memberId],
  );
}

export function newPasswordPage(host: Host, errors: string[] = [], status = 200): View {
  const policy = passwordPolicyVars(host.deps.config);
  return {
    view: 'step-password',
    vars: { actionUrl: host.actionUrl, policy, userId: host.member.userId, errors: errors.map((k) => host.t(k, policy)) },
    status,
  };
}

/** パスワード and パスワード確認用: checked against the policy, then stored with its event in one change. */
export async function setNewPassword(host: Host, input: Record<string, unknown>): Promise<FactorOutcome> {
  const password = typeof input.password === 'string' ? input.password.slice(0, 1024) : '';
  const confirmation = typeof input.password_confirmation === 'string' ? input.password_confirmation.slice(0, 1024) : '';
  const holder = (await loadPasswordHolder(host.deps.sql, host.member.id))!;
  const problems = await newPasswordProblems(host.deps, holder, password, confirmation);
  if (problems.length)
    return showView(
      newPasswordPage(
        host,
        problems.map((p) => PASSWORD_ERRORS[p]),
        400,
      ),
    );
  const hash = await host.deps.hasher.hash(password);
  await inTransaction(host.deps.orm, async (work) => {
    await storeNewPassword(work, host.member.id, hash);
    await work.em.flush();
    await recordMemberEvent(work.sql, host.member.id, 'password.changed', { via: host.flow }, host.ip);
  });
  return { kind: 'verified', amr: ['pwd'] };
}
