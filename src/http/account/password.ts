import { z } from 'zod';
import { newPasswordProblems, passwordPolicyVars, storeNewPassword } from '../../members/new-password.js';
import { recordMemberEvent } from '../../members/events.js';
import { loadPasswordHolder, PASSWORD_ERRORS } from '../../factors/password/setup.js';
import { revokeOtherSessionsOfMember } from '../../oidc/revoke.js';
import { inTransaction } from '../../db/unit-of-work.js';
import { cancelOutstandingLinks, endPendingLogins } from '../../members/sessions.js';
import { sendSecurityNotice } from '../../mail/security-notice.js';
import { csrfValid } from '../middleware/csrf.js';
import { formBody } from '../recovery/schemas.js';
import { renderAccount, requireRecentLogin, type AccountRequest } from './context.js';

const field = (max: number) => z.preprocess((v) => (typeof v === 'string' ? v.slice(0, max) : ''), z.string());
const passwordForm = z.object({ password: field(1024), password_confirmation: field(1024), sign_out_others: field(8) });

function showForm(request: AccountRequest, errors: string[] = [], signOutOthers = true, status = 200): Promise<void> {
  const t = request.ctx.state.t as (k: string, v?: Record<string, string | number>) => string;
  const policy = passwordPolicyVars(request.deps.config);
  return renderAccount(request, 'account-password', {
    section: 'login_methods', actionUrl: '/account/password', policy, userId: request.session.member.userId, signOutOthers,
    errors: errors.map((k) => t(k, policy)),
  }, status);
}

/** GET /account/password — パスワードの更新, after a recent login. */
export async function showPasswordChange(request: AccountRequest): Promise<void> {
  if (!requireRecentLogin(request, '/account/password')) return;
  return showForm(request);
}

/**
 * POST: the onboarding policy; 「全てのデバイスからサインアウトする」 ends every other session and
 * their tokens, and cancels every mailed link still outstanding, in the same transaction as the new
 * password and its event.
 */
export async function submitPasswordChange(request: AccountRequest): Promise<void> {
  const { ctx, deps, session } = request;
  const body = formBody(ctx);
  const form = passwordForm.parse(body);
  const signOutOthers = form.sign_out_others === 'on';
  if (!csrfValid(ctx, body)) return showForm(request, ['login.error_session'], signOutOthers, 400);
  if (!requireRecentLogin(request, '/account/password')) return;
  const holder = (await loadPasswordHolder(deps.sql, session.member.id))!;
  const problems = await newPasswordProblems(deps, holder, form.password, form.password_confirmation);
  if (problems.length) return showForm(request, problems.map((p) => PASSWORD_ERRORS[p]), signOutOthers, 400);
  const hash = await deps.hasher.hash(form.password);
  await inTransaction(deps.orm, async (work) => {
    await storeNewPassword(work, session.member.id, hash);
    await work.em.flush();
    await endPendingLogins(work.sql, session.member.id);
    const ended = signOutOthers ? await revokeOtherSessionsOfMember(work.sql, session.member.id, session.sessionUid) : 0;
    // The sessions just ended take what they asked for with them (an address change, a reset link).
    const cancelledLinks = signOutOthers ? await cancelOutstandingLinks(work.sql, session.member.id) : 0;
    await recordMemberEvent(work.sql, session.member.id, 'password.changed', { via: 'console', signedOutOthers: signOutOthers, ended, cancelledLinks }, ctx.ip);
  });
  await sendSecurityNotice(deps, session.member, 'password_changed');
  ctx.status = 303;
  ctx.redirect('/account/login-methods?done=password');
}
