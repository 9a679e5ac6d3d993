import type { Context } from 'koa';
import { render } from '../render.js';
import { csrfValid } from '../middleware/csrf.js';
import { restartLoginUrl } from '../interaction/context.js';
import { recordMemberEvent } from '../../members/events.js';
import { consumePasswordReset, passwordResetMember } from '../../members/password-reset.js';
import { newPasswordProblems, passwordPolicyVars, storeNewPassword } from '../../members/new-password.js';
import { endLocksAfterReset } from '../../members/lockout-store.js';
import type { PasswordHolder } from '../../members/password.js';
import { revokeEverythingOfMember } from '../../oidc/revoke.js';
import { cancelOutstandingLinks } from '../../members/sessions.js';
import { loadPasswordHolder, PASSWORD_ERRORS } from '../../factors/password/setup.js';
import { inTransaction } from '../../db/unit-of-work.js';
import { formBody, resetPasswordForm, resetToken } from './schemas.js';
import type { RecoveryDeps, T } from './types.js';

type ResetMember = PasswordHolder & { id: string; userId: string };

async function loadMember(deps: RecoveryDeps, token: string): Promise<ResetMember | undefined> {
  const memberId = resetToken.safeParse(token).success ? await passwordResetMember(deps.sql, token) : undefined;
  if (!memberId) return undefined;
  const holder = await loadPasswordHolder(deps.sql, memberId);
  return holder && { ...holder, id: memberId };
}

function showForm(ctx: Context, deps: RecoveryDeps, token: string, member: ResetMember, errors: string[] = [], status = 200): void {
  const t = ctx.state.t as T;
  const policy = passwordPolicyVars(deps.config);
  render(ctx, 'recovery-reset-password', { actionUrl: `/recovery/password/reset/${token}`, policy, userId: member.userId, errors: errors.map((k) => t(k, policy)) }, status);
}

function showLinkUnusable(ctx: Context, deps: RecoveryDeps): void {
  render(ctx, 'recovery-result', {
    title: 'recovery.link_invalid_title', message: 'recovery.link_invalid', messageVars: { minutes: Math.max(1, Math.round(deps.config.union.mail.passwordResetSeconds / 60)) },
    restartUrl: '/recovery/password', restartLabel: 'recovery.start_again',
  }, 410);
}

/** GET: the パスワード更新 screen. The link is only used by the POST (mail scanners prefetch GETs). */
export async function showResetPassword(ctx: Context, deps: RecoveryDeps, token: string): Promise<void> {
  const member = await loadMember(deps, token);
  if (!member) return showLinkUnusable(ctx, deps);
  showForm(ctx, deps, token, member);
}

/**
 * POST: the used link, the new password, the end of any lock (a permanent one too: the member proved
 * control of the confirmed address), of every session and token and of any login in progress land
 * together in one transaction, or not at all.
 */
export async function submitResetPassword(ctx: Context, deps: RecoveryDeps, token: string): Promise<void> {
  const body = formBody(ctx);
  const member = await loadMember(deps, token);
  if (!member) return showLinkUnusable(ctx, deps);
  if (!csrfValid(ctx, body)) return showForm(ctx, deps, token, member, ['login.error_session'], 400);
  const { password, password_confirmation: confirmation } = resetPasswordForm.parse(body);
  const problems = await newPasswordProblems(deps, member, password, confirmation);
  if (problems.length) return showForm(ctx, deps, token, member, problems.map((p) => PASSWORD_ERRORS[p]), 400);

  const hash = await deps.hasher.hash(password);
  const done = await inTransaction(deps.orm, async (work) => {
    if (await consumePasswordReset(work.sql, token) !== member.id) return false;
    await storeNewPassword(work, member.id, hash);
    await work.em.flush();
    await endLocksAfterReset(work.sql, member.id);
    const revoked = await revokeEverythingOfMember(work.sql, member.id);
    // This link is spent; every other one (a pending address change, other codes) ends with the sessions.
    const cancelledLinks = await cancelOutstandingLinks(work.sql, member.id);
    await recordMemberEvent(work.sql, member.id, 'password.changed', { via: 'recovery', revoked, cancelledLinks }, ctx.ip);
    return true;
  });
  if (!done) return showLinkUnusable(ctx, deps);
  render(ctx, 'recovery-result', { title: 'recovery.reset_done_title', message: 'recovery.reset_done', restartUrl: restartLoginUrl(ctx, deps.config), restartLabel: 'recovery.to_login' });
}
