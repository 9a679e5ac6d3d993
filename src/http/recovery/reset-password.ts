import type { Context } from 'koa';
import { render } from '../render.js';
import { csrfValid } from '../middleware/csrf.js';
import { restartLoginUrl } from '../interaction/context.js';
import { checkNewPassword } from '../../members/password-policy.js';
import { consumePasswordReset, passwordResetMember } from '../../members/password-reset.js';
import { revokeEverythingOfMember } from '../../oidc/revoke.js';
import { PASSWORD_ERRORS } from '../../steps/password.js';
import type { RecoveryDeps, T } from './types.js';

const TOKEN = /^[A-Za-z0-9_-]{20,100}$/;

interface ResetMember { id: string; user_id: string; password_hash: string | null; insurance_symbol: string; insurance_number: string; birthdate: string }

async function loadMember(deps: RecoveryDeps, token: string): Promise<ResetMember | undefined> {
  const memberId = TOKEN.test(token) ? await passwordResetMember(deps.sql, token) : undefined;
  if (!memberId) return undefined;
  return deps.sql.one<ResetMember>(
    `select id, user_id, password_hash, insurance_symbol, insurance_number, to_char(birthdate, 'YYYY-MM-DD') as birthdate from member where id = $1`, [memberId],
  );
}

function showForm(ctx: Context, deps: RecoveryDeps, token: string, errors: string[] = [], status = 200, userId = ''): void {
  const t = ctx.state.t as T;
  const p = deps.config.union.password;
  const policy = { min: p.minLength, max: p.maxLength, symbols: p.allowedSymbols };
  render(ctx, 'recovery-reset-password', { actionUrl: `/recovery/password/reset/${token}`, policy, userId, errors: errors.map((k) => t(k, policy)) }, status);
}

function showExpired(ctx: Context, deps: RecoveryDeps): void {
  render(ctx, 'recovery-result', {
    title: 'recovery.link_invalid_title', message: 'recovery.link_invalid', messageVars: { minutes: Math.round(deps.config.union.mail.passwordResetSeconds / 60) },
    restartUrl: '/recovery/password', restartLabel: 'recovery.start_again',
  }, 410);
}

/** GET: the パスワード更新 screen. The link is only used by the POST (mail scanners prefetch GETs). */
export async function showResetPassword(ctx: Context, deps: RecoveryDeps, token: string): Promise<void> {
  const member = await loadMember(deps, token);
  if (!member) return showExpired(ctx, deps);
  showForm(ctx, deps, token, [], 200, member.user_id);
}

/**
 * POST: the new password, the used link and the end of every other session and token of the
 * member land together in one transaction, or not at all.
 */
export async function submitResetPassword(ctx: Context, deps: RecoveryDeps, token: string): Promise<void> {
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  const member = await loadMember(deps, token);
  if (!member) return showExpired(ctx, deps);
  if (!csrfValid(ctx, body)) return showForm(ctx, deps, token, ['login.error_session'], 400, member.user_id);
  const password = typeof body.password === 'string' ? body.password.slice(0, 1024) : '';
  const confirmation = typeof body.password_confirmation === 'string' ? body.password_confirmation.slice(0, 1024) : '';
  const isCurrentPassword = password.length > 0 && await deps.hasher.verify({
    passwordHash: member.password_hash, insuranceSymbol: member.insurance_symbol, insuranceNumber: member.insurance_number, birthdate: member.birthdate,
  }, password);
  const problems = checkNewPassword(deps.config.union.password, { password, confirmation, userId: member.user_id, isCurrentPassword });
  if (problems.length) return showForm(ctx, deps, token, problems.map((p) => PASSWORD_ERRORS[p]), 400, member.user_id);

  const hash = await deps.hasher.hash(password);
  const done = await deps.sql.transaction(async (tx) => {
    const memberId = await consumePasswordReset(tx, token);
    if (memberId !== member.id) return false;
    await tx.run(
      `update member set password_hash = $2, password_created_at = now(), must_change_password = false,
         pending_steps = array_remove(pending_steps, 'password'), failed_logins = 0, lock_count = 0, locked_until = null, updated_at = now()
       where id = $1`, [member.id, hash],
    );
    await revokeEverythingOfMember(tx, member.id);
    await tx.run(`insert into member_event (member_id, type, ip) values ($1, 'password.reset', $2)`, [member.id, ctx.ip]);
    return true;
  });
  if (!done) return showExpired(ctx, deps);
  render(ctx, 'recovery-result', { title: 'recovery.reset_done_title', message: 'recovery.reset_done', restartUrl: restartLoginUrl(ctx, deps.config), restartLabel: 'recovery.to_login' });
}
