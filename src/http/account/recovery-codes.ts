import { trustOfNewDevice } from '../../factors/acr.js';
import { recoveryCodesLeft, RECOVERY_CODE_COUNT } from '../../members/recovery-codes.js';
import { issueNewRecoveryCodes } from '../../members/changes/recovery-codes.js';
import { anyForm, type FormBody, type FormSpec } from '../form.js';
import { renderAccount, requireRecentLogin, requireStrongFactorIfHeld, type AccountRequest } from './request.js';

/** GET /account/recovery-codes — what they are, how many are left, and 「発行」/「再発行」 (after a recent login). */
export async function showRecoveryCodes(request: AccountRequest, errors: string[] = [], status = 200): Promise<void> {
  if (!requireRecentLogin(request, '/account/recovery-codes')) return;
  if (
    errors.length === 0 &&
    !(await requireStrongFactorIfHeld(request, '/account/recovery-codes', () =>
      showRecoveryCodes(request, ['account.recovery_codes.error_strong_factor'], 403),
    ))
  )
    return;
  const state = await recoveryCodesLeft(request.deps.sql, request.session.member.id);
  const t = request.ctx.state.t;
  return renderAccount(
    request,
    'account-recovery-codes',
    { section: 'login_methods', actionUrl: '/account/recovery-codes', ...state, count: RECOVERY_CODE_COUNT, errors: errors.map((k) => t(k)) },
    status,
  );
}

/** A new set replaces the old one; the codes are shown this once and never again. */
async function issueRecoveryCodes(request: AccountRequest): Promise<void> {
  const { ctx, deps, session } = request;
  if (!requireRecentLogin(request, '/account/recovery-codes')) return;
  // A recovery code stands in for the second factor: issuing them needs the same proof as adding one.
  if (
    !(await requireStrongFactorIfHeld(request, '/account/recovery-codes', () =>
      showRecoveryCodes(request, ['account.recovery_codes.error_strong_factor'], 403),
    ))
  )
    return;
  // Codes issued from a weaker session are worth no more than it at login (factors/acr.ts).
  const codes = await issueNewRecoveryCodes(deps, { member: session.member, trustAcr: trustOfNewDevice('recovery_code', session.acr), ip: ctx.ip });
  ctx.set('Cache-Control', 'no-store');
  return renderAccount(request, 'account-recovery-codes-issued', { section: 'login_methods', codes });
}

/** POST /account/recovery-codes — 「発行」/「再発行」 (a button alone, no fields). */
export const recoveryCodesForm: FormSpec<AccountRequest, FormBody> = {
  schema: anyForm,
  submit: issueRecoveryCodes,
  refused: (request) => showRecoveryCodes(request, ['login.error_session'], 400),
};
