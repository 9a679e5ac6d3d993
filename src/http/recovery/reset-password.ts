import type { Context } from 'koa';
import { render } from '../render.js';
import type { FormSpec } from '../form.js';
import { restartLoginUrl } from '../interaction/request.js';
import { passwordResetMember } from '../../members/password-reset.js';
import { newPasswordProblems, passwordPolicyVars } from '../../members/new-password.js';
import type { PasswordHolder } from '../../members/password.js';
import { resetPasswordWithLink } from '../../members/changes/password.js';
import { loadPasswordHolder, PASSWORD_ERRORS } from '../../factors/password/setup.js';
import { resetPasswordFields, resetToken, type ResetPasswordForm } from './schemas.js';
import type { RecoveryDeps } from './types.js';

/** The reset link's page: its token from the path. */
export interface ResetRequest {
  ctx: Context;
  deps: RecoveryDeps;
  token: string;
}

type ResetMember = PasswordHolder & { id: string; userId: string };

async function loadMember(deps: RecoveryDeps, token: string): Promise<ResetMember | undefined> {
  const memberId = resetToken.safeParse(token).success ? await passwordResetMember(deps.sql, token) : undefined;
  if (!memberId) return undefined;
  const holder = await loadPasswordHolder(deps.sql, memberId);
  return holder && { ...holder, id: memberId };
}

function showForm(ctx: Context, deps: RecoveryDeps, token: string, member: ResetMember, errors: string[] = [], status = 200): void {
  const t = ctx.state.t;
  const policy = passwordPolicyVars(deps.config);
  render(
    ctx,
    'recovery-reset-password',
    { actionUrl: `/recovery/password/reset/${token}`, policy, userId: member.userId, errors: errors.map((k) => t(k, policy)) },
    status,
  );
}

function showLinkUnusable(ctx: Context, deps: RecoveryDeps): void {
  render(
    ctx,
    'recovery-result',
    {
      title: 'recovery.link_invalid_title',
      message: 'recovery.link_invalid',
      messageVars: { minutes: Math.max(1, Math.round(deps.config.union.mail.passwordResetSeconds / 60)) },
      restartUrl: '/recovery/password',
      restartLabel: 'recovery.start_again',
    },
    410,
  );
}

/** GET: the パスワード更新 screen. The link is only used by the POST (mail scanners prefetch GETs). */
export async function showResetPassword(ctx: Context, deps: RecoveryDeps, token: string): Promise<void> {
  const member = await loadMember(deps, token);
  if (!member) return showLinkUnusable(ctx, deps);
  showForm(ctx, deps, token, member);
}

/** The new password, checked against the policy, through the link (members/changes/password.ts). */
async function resetPassword({ ctx, deps, token }: ResetRequest, { password, password_confirmation: confirmation }: ResetPasswordForm): Promise<void> {
  const member = await loadMember(deps, token);
  if (!member) return showLinkUnusable(ctx, deps);
  const problems = await newPasswordProblems(deps, member, password, confirmation);
  if (problems.length)
    return showForm(
      ctx,
      deps,
      token,
      member,
      problems.map((p) => PASSWORD_ERRORS[p]),
      400,
    );

  const done = await resetPasswordWithLink(deps, { token, memberId: member.id, password, ip: ctx.ip });
  if (!done) return showLinkUnusable(ctx, deps);
  render(ctx, 'recovery-result', {
    title: 'recovery.reset_done_title',
    message: 'recovery.reset_done',
    restartUrl: restartLoginUrl(ctx, deps.config),
    restartLabel: 'recovery.to_login',
  });
}

/** POST /recovery/password/reset/:token — パスワード更新. */
export const resetPasswordForm: FormSpec<ResetRequest, ResetPasswordForm> = {
  schema: resetPasswordFields,
  submit: resetPassword,
  refused: async ({ ctx, deps, token }) => {
    const member = await loadMember(deps, token);
    if (!member) return showLinkUnusable(ctx, deps);
    showForm(ctx, deps, token, member, ['login.error_session'], 400);
  },
};
