import { z } from 'zod';
import { checkChosenUserId, normalizeUserId, USER_ID_MAX, USER_ID_MIN } from '../../members/user-id.js';
import { changeLanguage, changeUserIdAndMethod } from '../../members/changes/profile.js';
import type { SecondFactorKind } from '../../members/credentials.js';
import { countMemberCredentials } from '../../members/reads.js';
import { SECOND_FACTORS } from '../../factors/index.js';
import { LOCALES, type Locale } from '../../i18n/index.js';
import { useLocale } from '../middleware/locale.js';
import { field, type FormSpec } from '../form.js';
import { chosenUserIdAvailability, USER_ID_AVAILABILITY_ERRORS, USER_ID_ERRORS } from '../../steps/user-id-and-method.js';
import { constantTimeEqual } from '../../crypto.js';
import { renderAccount, requireStrongFactorIfHeld, type AccountRequest } from './request.js';
import { APPLY_PATH, recentlyAuthenticated, startConsoleLogin } from './console-login.js';

const profileFields = z.object({ locale: field(8), user_id: field(200), method: field(16) });
type ProfileForm = z.infer<typeof profileFields>;

/** A change of user ID or method; one waiting for the member to log in again names that login (its state). */
interface PendingProfileChange {
  userId?: string;
  method?: SecondFactorKind;
  login?: string;
}
const PENDING = 'profile';

function showProfile(
  request: AccountRequest,
  vars: { userId?: string; method?: string; errors?: string[]; notice?: string } = {},
  status = 200,
): Promise<void> {
  const { member } = request.session;
  const t = request.ctx.state.t;
  return renderAccount(
    request,
    'account-profile',
    {
      section: 'profile',
      actionUrl: '/account',
      userId: vars.userId ?? member.userId,
      method: vars.method ?? member.chosenFactor ?? '',
      methods: request.deps.config.union.authMethods,
      locales: LOCALES,
      min: USER_ID_MIN,
      max: USER_ID_MAX,
      errors: [...new Set(vars.errors ?? [])].map((k) => t(k, { min: USER_ID_MIN, max: USER_ID_MAX })),
      notice: vars.notice ? t(vars.notice) : undefined,
    },
    status,
  );
}

export function showProfilePage(request: AccountRequest): Promise<void> {
  const notices: Record<string, string> = { saved: 'account.profile.saved', email_sent: 'account.email.sent_notice', factor_added: 'account.methods.added' };
  const notice = typeof request.ctx.query.done === 'string' ? notices[request.ctx.query.done] : undefined;
  return showProfile(request, { notice });
}

/** 言語 at once; ユーザID and 認証方法 after a recent login. */
async function changeProfile(request: AccountRequest, form: ProfileForm): Promise<void> {
  const { ctx, deps, session } = request;
  const member = session.member;
  const errors: string[] = [];
  const userId = normalizeUserId(form.user_id);
  let lookups: 'free' | 'taken' | 'too_many' = 'free';
  if (userId !== member.userId) {
    errors.push(...checkChosenUserId(userId).map((p) => USER_ID_ERRORS[p]));
    if (errors.length === 0) lookups = await chosenUserIdAvailability(request.host('/account'), userId);
    if (lookups !== 'free') errors.push(USER_ID_AVAILABILITY_ERRORS[lookups]);
  }
  const allowed = deps.config.union.authMethods as string[];
  if (!allowed.includes(form.method)) errors.push('step_user_id.error_method');
  const locale = (LOCALES as readonly string[]).includes(form.locale) ? (form.locale as Locale) : undefined;
  if (!locale) errors.push('account.profile.error_language');
  if (errors.length || !locale) return showProfile(request, { userId: form.user_id, method: form.method, errors }, lookups === 'too_many' ? 429 : 400);

  if (locale !== member.locale) {
    await changeLanguage(deps, { memberId: member.id, locale, ip: ctx.ip });
    member.locale = locale;
    useLocale(ctx, ctx.state.messages, locale);
  }
  const change: PendingProfileChange = {
    ...(userId !== member.userId ? { userId } : {}),
    ...(form.method !== member.chosenFactor ? { method: form.method as SecondFactorKind } : {}),
  };
  if (!change.userId && !change.method) return redirect(request, '/account?done=saved');
  // Choosing the login method needs the same proof as changing the address (request.ts).
  if (
    change.method &&
    !(await requireStrongFactorIfHeld(request, '/account', () =>
      showProfile(request, { userId: form.user_id, method: form.method, errors: ['account.profile.error_strong_factor'] }, 403),
    ))
  )
    return;
  if (recentlyAuthenticated(session, deps)) return applyProfileChange(request, change);
  // Kept sealed for the login this starts, and applied only when that very login comes back.
  const login = startConsoleLogin(ctx, deps, APPLY_PATH, { reauthenticate: true, userId: member.userId });
  await request.host('/account').scratch.set(PENDING, { ...change, login });
}

/** POST /account — 登録情報 (言語, ユーザID, 認証方法). */
export const profileChangeForm: FormSpec<AccountRequest, ProfileForm> = {
  schema: profileFields,
  submit: changeProfile,
  refused: (request, form) => showProfile(request, { userId: form.user_id, method: form.method, errors: ['login.error_session'] }, 400),
};

/**
 * GET /account/apply?login=<state>: back from the login a change started (the callback checked the
 * state against its signed cookie), the change the member asked for. Without that login, or after
 * another one, nothing is applied and the waiting change is dropped: an abandoned change never
 * applies itself when the member next visits.
 */
export async function applyPendingProfileChange(request: AccountRequest): Promise<void> {
  const host = request.host('/account');
  const change = host.scratch.get<PendingProfileChange>(PENDING);
  await host.scratch.set(PENDING, undefined);
  const login = request.ctx.query.login;
  const itsLogin = typeof change?.login === 'string' && typeof login === 'string' && constantTimeEqual(login, change.login);
  if (!change || !itsLogin || !recentlyAuthenticated(request.session, request.deps)) return redirect(request, '/account');
  await applyProfileChange(request, { userId: change.userId, method: change.method });
}

async function applyProfileChange(request: AccountRequest, change: PendingProfileChange): Promise<void> {
  const { ctx, deps, session } = request;
  const member = session.member;
  // A method the member has no credential for is set up first; it becomes the chosen one when done.
  const setupFirst = change.method && SECOND_FACTORS[change.method] && (await countMemberCredentials(deps.orm, member.id, change.method)) === 0;
  const changed = await changeUserIdAndMethod(deps, { member, userId: change.userId, method: setupFirst ? undefined : change.method, ip: ctx.ip });
  if (changed === 'user_id_taken') return showProfile(request, { userId: change.userId, errors: ['step_user_id.error_taken'] }, 409);
  if (setupFirst) return redirect(request, `/account/factors/${change.method}/setup?choose=1`);
  redirect(request, '/account?done=saved');
}

function redirect(request: AccountRequest, to: string): void {
  request.ctx.status = 303;
  request.ctx.redirect(to);
}
