import type { Context } from 'koa';
import { Member } from '../../db/entities/index.js';
import { isLocked } from '../../members/lockout.js';
import { owedSteps } from '../../members/required-steps.js';
import { hasCredential } from '../../members/credentials.js';
import { SECOND_FACTORS } from '../../factors/index.js';
import { acrFor } from '../../factors/acr.js';
import { clearMemberFailures } from '../../members/lockout-store.js';
import { applyMemberLocale } from '../middleware/locale.js';
import { renderLogin } from './login.js';
import { lockedError } from './lock-message.js';
import { showFirstLoginDone } from './first-login-done.js';
import { loginState, saveLoginState, type LoginState, resultForProvider } from './state.js';
import type { Interaction, InteractionDeps } from './context.js';

/** One login in progress: the member who passed the password, and what the login knows so far. */
export interface LoginRun {
  deps: InteractionDeps;
  interaction: Interaction;
  state: LoginState;
  member: Member;
  /** Whether the member has a credential of their chosen method, when read with the member. */
  chosenEnrolled?: boolean;
}

/**
 * A stage of the login answers where the member must go next (a page under /interaction/:uid/),
 * or undefined when it has nothing more to ask.
 */
type Stage = (run: LoginRun) => Promise<string | undefined>;

/** Whatever the member still owes: first-login steps, re-consent to new terms (members/required-steps.ts). */
const requiredSteps: Stage = async ({ deps, member }) => {
  const [next] = owedSteps(member, deps.config.terms.version);
  return next ? `step/${next}` : undefined;
};

/** The chosen second factor: set up at once if the member has none of that kind yet, else asked. */
const secondFactor: Stage = async ({ deps, state, member, chosenEnrolled }) => {
  const kind = member.chosenFactor;
  if (!kind || !SECOND_FACTORS[kind] || state.secondFactor) return undefined;
  return (chosenEnrolled ?? await hasCredential(deps.sql, member.id, kind)) ? 'factor' : 'factor/setup';
};

/**
 * The login, in order, after the member is identified (by the password, POST /login): each stage
 * in turn, then `finishLogin` hands the result to the provider.
 */
export const LOGIN_PIPELINE: readonly Stage[] = [requiredSteps, secondFactor];

/**
 * The member identified in this interaction, unless locked meanwhile (then the login page says so
 * and the login starts over). Applies their saved language.
 */
export async function loadLoginRun(ctx: Context, deps: InteractionDeps, interaction: Interaction, state = loginState(interaction)): Promise<LoginRun | 'locked' | undefined> {
  if (!state) return undefined;
  // Every page of a login reads the member, and whether their chosen method is set up yet: one
  // prepared statement, mapped to the entity.
  const row = await deps.sql.one<Record<string, unknown>>(MEMBER_FOR_LOGIN, [state.memberId]);
  if (!row) return undefined;
  const { chosen_enrolled: chosenEnrolled, ...columns } = row;
  const member = deps.orm.em.fork().map(Member, columns);
  applyMemberLocale(ctx, member.locale);
  // The password (or a factor) was reset after this browser passed it: it must log in again.
  if ((state.authEpoch ?? 0) !== member.authEpoch) {
    await saveLoginState(interaction, undefined);
    renderLogin(ctx, interaction, { userId: member.userId, errors: ['login.error_credentials_changed'] }, 401);
    return 'locked';
  }
  if (isLocked({ ...member, lockedUntil: member.lockedUntil ?? null }, new Date())) {
    await endLoginLocked(ctx, deps, interaction, member);
    return 'locked';
  }
  return { deps, interaction, state, member, chosenEnrolled: chosenEnrolled as boolean };
}

const MEMBER_FOR_LOGIN = `select m.*, exists(select 1 from credential c where c.member_id = m.id and c.kind = m.chosen_factor) as chosen_enrolled
  from member m where m.id = $1`;

/** The login starts over at the login page, which says how long the lock lasts and whom to ask. */
export async function endLoginLocked(ctx: Context, deps: InteractionDeps, interaction: Interaction, member: Member): Promise<void> {
  await saveLoginState(interaction, undefined);
  // The lock was just set by this request's failure: read it as it is now.
  const locked = await deps.orm.em.fork().findOne(Member, { id: member.id });
  renderLogin(ctx, interaction, { userId: member.userId, errors: [lockedError(locked ?? member)] }, 401);
}

/** Where the member must go next, or undefined when the login can finish. */
export async function nextPlace(run: LoginRun): Promise<string | undefined> {
  for (const stage of LOGIN_PIPELINE) {
    const place = await stage(run);
    if (place) return place;
  }
  return undefined;
}

/** GET /interaction/:uid/continue — the next place the member owes, or back to the portal. */
export async function continueLogin(ctx: Context, deps: InteractionDeps, interaction: Interaction): Promise<void> {
  const run = await loadLoginRun(ctx, deps, interaction);
  if (run === 'locked') return;
  if (!run) return ctx.redirect(`/interaction/${interaction.uid}`);
  const place = await nextPlace(run);
  if (place) return ctx.redirect(`/interaction/${interaction.uid}/${place}`);
  if (run.state.firstLogin && !ctx.query.done) return showFirstLoginDone(ctx, interaction);
  await finishLogin(ctx, run);
}

/**
 * After a form of the login was accepted in this request (the password, a passkey, a step, the
 * second factor), with what the login now knows: straight to the next place, or to the portal,
 * without a round trip through /continue. The state is kept on the interaction only when the login
 * goes on (finishing hands the result to the provider instead). Pass the member when their row is
 * unchanged since it was read in this request; otherwise it is read again. 初回ログインが完了しました
 * is a page, so it goes through /continue (a reload must not post the form again).
 */
export async function proceed(ctx: Context, deps: InteractionDeps, interaction: Interaction, state: LoginState, member?: Member): Promise<void> {
  const run = member ? { deps, interaction, state, member } : await loadLoginRun(ctx, deps, interaction, state);
  if (run === 'locked') return;
  ctx.status = 303;
  if (!run) return ctx.redirect(`/interaction/${interaction.uid}`);
  const place = await nextPlace(run);
  if (!place && !state.firstLogin) return finishLogin(ctx, run);
  await saveLoginState(interaction, state);
  ctx.redirect(`/interaction/${interaction.uid}/${place ?? 'continue'}`);
}

/**
 * The provider gets the member, `amr` and `acr` from what was actually proved in this login. Only
 * now are the consecutive failures forgotten: a right password followed by wrong codes must not
 * reset the count the codes are adding to.
 */
async function finishLogin(ctx: Context, { deps, interaction, state, member }: LoginRun): Promise<void> {
  const amr = state.secondFactor ? [...new Set([...state.amr, 'mfa'])] : state.amr;
  const acr = acrFor(state.secondFactor?.kind);
  // Guesses racing with this login's proof may have locked the member meanwhile: then it does not finish.
  if (!await clearMemberFailures(deps.sql, member.id, { type: 'login.completed', ip: ctx.ip })) return endLoginLocked(ctx, deps, interaction, member);
  const redirectTo = await resultForProvider(interaction, {
    login: { accountId: member.id, remember: state.remember, amr, acr },
  });
  ctx.status = 303;
  ctx.redirect(redirectTo);
}
