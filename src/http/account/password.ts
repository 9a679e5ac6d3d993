import { z } from 'zod';
import { field, type FormSpec } from '../form.js';
import { newPasswordProblems, passwordPolicyVars } from '../../members/new-password.js';
import { changePassword } from '../../members/changes/password.js';
import { loadPasswordHolder, PASSWORD_ERRORS } from '../../factors/password/setup.js';
import { renderAccount, requireRecentLogin, type AccountRequest } from './request.js';

const passwordForm = z.object({ password: field(1024), password_confirmation: field(1024), sign_out_others: field(8) });
type PasswordForm = z.infer<typeof passwordForm>;

function showForm(request: AccountRequest, errors: string[] = [], signOutOthers = true, status = 200): Promise<void> {
  const t = request.ctx.state.t;
  const policy = passwordPolicyVars(request.deps.config);
  return renderAccount(
    request,
    'account-password',
    {
      section: 'login_methods',
      actionUrl: '/account/password',
      policy,
      userId: request.session.member.userId,
      signOutOthers,
      errors: errors.map((k) => t(k, policy)),
    },
    status,
  );
}

/** GET /account/password — パスワードの更新, after a recent login. */
export async function showPasswordChange(request: AccountRequest): Promise<void> {
  if (!requireRecentLogin(request, '/account/password')) return;
  return showForm(request);
}

/**
 * POST: the onboarding policy; 「全てのデバイスからサインアウトする」 ends every other session and
 * their tokens and cancels every mailed link still outstanding (members/changes/password.ts).
 */
async function changePasswordAsked(request: AccountRequest, form: PasswordForm): Promise<void> {
  const { ctx, deps, session } = request;
  const signOutOthers = form.sign_out_others === 'on';
  if (!requireRecentLogin(request, '/account/password')) return;
  const holder = (await loadPasswordHolder(deps.sql, session.member.id))!;
  const problems = await newPasswordProblems(deps, holder, form.password, form.password_confirmation);
  if (problems.length)
    return showForm(
      request,
      problems.map((p) => PASSWORD_ERRORS[p]),
      signOutOthers,
      400,
    );
  await changePassword(deps, { member: session.member, sessionUid: session.sessionUid, password: form.password, signOutOthers, ip: ctx.ip });
  ctx.status = 303;
  ctx.redirect('/account/login-methods?done=password');
}

/** POST /account/password — パスワードの更新. */
export const passwordChangeForm: FormSpec<AccountRequest, PasswordForm> = {
  schema: passwordForm,
  submit: changePasswordAsked,
  refused: (request, form) => showForm(request, ['login.error_session'], form.sign_out_others === 'on', 400),
};
