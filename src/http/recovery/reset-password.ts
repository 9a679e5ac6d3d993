import type { Context } from 'koa';
import { render } from '../render.js';
import { csrfValid } from '../middleware/csrf.js';
import { restartLoginUrl } from '../interaction/context.js';
import { checkNewPassword } from '../../members/password-policy.js';
import { recordMemberEvent } from '../../members/events.js';
import { consumePasswordReset, passwordResetMember } from '../../members/password-reset.js';
import { revokeEverythingOfMember } from '../../oidc/revoke.js';
import { PASSWORD_ERRORS } from '../../steps/password.js';
import { formBody, resetPasswordForm, resetToken } from './schemas.js';
import type { RecoveryDeps, T } from './types.js';

interface ResetMember { id: string; user_id: string; password_hash: string | null; insurance_symbol: string; insurance_number: string; birthdate: string }

async function loadMember(deps: RecoveryDeps, token: string): Promise<ResetMember | undefined> {
  const memberId = resetToken.safeParse(token).success ? await passwordResetMember(deps.sql, token) : undefined;
  if (!memberId) return undefined;
  return deps.sql.one<ResetMember>(
    `select id, user_id, password_hash, insurance_symbol, insurance_number, to_char(birthdate, 'YYYY-MM-DD') as birthdate from member where id = $1`, [memberId],
  );
}

/** The same rules, in the same words, as the first-login password step (steps/password.ts). */
function policyVars(deps: RecoveryDeps) {
  const p = deps.config.union.password;
  return { min: p.minLength, max: p.maxLength, symbols: p.allowedSymbols };
}

function showForm(ctx: Context, deps: RecoveryDeps, token: string, member: ResetMember, errors: string[] = [], status = 200): void {
  const t = ctx.state.t as T;
  const policy = policyVars(deps);
  render(ctx, 'recovery-reset-password', { actionUrl: `/recovery/password/reset/${token}`, policy, userId: member.user_id, errors: errors.map((k) => t(k, policy)) }, status);
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
 * POST: the used link, the new password and the end of every session and token of the member
 * land together in one transaction, or not at all. A temporary lock ends; an administrator's
 * permanent lock (locked_permanently) stays.
 */
export async function submitResetPassword(ctx: Context, deps: RecoveryDeps, token: string): Promise<void> {
  const body = formBody(ctx);
  const member = await loadMember(deps, token);
  if (!member) return showLinkUnusable(ctx, deps);
  if (!csrfValid(ctx, body)) return showForm(ctx, deps, token, member, ['login.error_session'], 400);
  const { password, password_confirmation: confirmation } = resetPasswordForm.parse(body);
  const isCurrentPassword = password.length > 0 && await deps.hasher.verify({
    passwordHash: member.password_hash, insuranceSymbol: member.insurance_symbol, insuranceNumber: member.insurance_number, birthdate: member.birthdate,
  }, password);
  const problems = checkNewPassword(deps.config.union.password, { password, confirmation, userId: member.user_id, isCurrentPassword });
  if (problems.length) return showForm(ctx, deps, token, member, problems.map((p) => PASSWORD_ERRORS[p]), 400);

  const hash = await deps.hasher.hash(password);
  const done = await deps.sql.transaction(async (tx) => {
    if (await consumePasswordReset(tx, token) !== member.id) return false;
    await tx.run(
      `update member set password_hash = $2, password_created_at = now(), must_change_password = false,
         pending_steps = array_remove(pending_steps, 'password'), failed_logins = 0, lock_count = 0, locked_until = null, updated_at = now()
       where id = $1`, [member.id, hash],
    );
    const revoked = await revokeEverythingOfMember(tx, member.id);
    await recordMemberEvent(tx, member.id, 'password.changed', { via: 'recovery', revoked }, ctx.ip);
    return true;
  });
  if (!done) return showLinkUnusable(ctx, deps);
  render(ctx, 'recovery-result', { title: 'recovery.reset_done_title', message: 'recovery.reset_done', restartUrl: restartLoginUrl(ctx, deps.config), restartLabel: 'recovery.to_login' });
}
