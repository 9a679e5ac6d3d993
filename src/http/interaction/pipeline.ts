import type { Context } from 'koa';
import { Member } from '../../db/entities/index.js';
import { isLocked } from '../../members/lockout.js';
import { owedSteps } from '../../members/required-steps.js';
import { credentialKindsOf, type SecondFactorKind } from '../../members/credentials.js';
import { SECOND_FACTORS } from '../../factors/index.js';
import { acrFor, acrSatisfies, weakerAcr } from '../../factors/acr.js';
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
  /** The kinds of credential the member holds, when read with the member. */
  heldKinds?: string[];
}

/**
 * A stage of the login answers where the member must go next (a page under /interaction/:uid/),
 * or undefined when it has nothing more to ask.
 */
type Stage = (run: LoginRun) => Promise<string | undefined>;

async function heldKinds(run: LoginRun): Promise<string[]> {
  run.heldKinds ??= await credentialKindsOf(run.deps.sql, run.member.id);
  return run.heldKinds;
}

/**
 * The second factor this login asks for: the member's chosen method, unless whoever started the login
 * (a portal, or the console before a change that needs an app or a passkey) asked `acr_values` above
 * it and the member holds a device that reaches it; then the strongest such device.
 */
export async function secondFactorOf(run: LoginRun): Promise<SecondFactorKind | undefined> {
  const chosen = run.member.chosenFactor ?? undefined;
  const asked = run.interaction.params.acr_values;
  const requested = typeof asked === 'string' ? asked.split(' ').filter(Boolean) : [];
  if (requested.length === 0 || acrSatisfies(acrFor(chosen), requested)) return chosen;
  const held = await heldKinds(run);
  const stronger = (['passkey', 'totp'] as const).find((kind) => SECOND_FACTORS[kind] && held.includes(kind) && acrSatisfies(acrFor(kind), requested));
  return stronger ?? chosen;
}

/** The second factor, asked first when the member has one set up: nothing beyond the password is shown before it. */
const secondFactor: Stage = async (run) => {
  const kind = await secondFactorOf(run);
  if (!kind || !SECOND_FACTORS[kind] || run.state.secondFactor) return undefined;
  return (await heldKinds(run)).includes(kind) ? 'factor' : undefined;
};

/** Whatever the member still owes: first-login steps, re-consent to new terms (members/required-steps.ts). */
const requiredSteps: Stage = async ({ deps, member }) => {
  const [next] = owedSteps(member, deps.config.terms.version);
  return next ? `step/${next}` : undefined;
};

/**
 * Before a device is set up outside the first login's own steps (after `member reset-mfa`, a first
 * login interrupted before the setup, a method chosen without a device), the member proves the
 * confirmed address with a mailed code: the password alone never enrols a device.
 */
const addressProof: Stage = async (run) => {
  const { member, state } = run;
  const kind = await secondFactorOf(run);
  if (!kind || kind === 'email' || !SECOND_FACTORS[kind] || state.secondFactor || state.addressProved) return undefined;
  if (!member.email || !member.emailVerified || (await heldKinds(run)).includes(kind)) return undefined;
  // The address was confirmed in this very login (the first login's メール認証 step).
  if (state.owedAtStart?.includes('email')) return undefined;
  return 'factor/address';
};

/** The chosen second factor, set up now when the member has no device of that kind yet. */
const secondFactorSetup: Stage = async (run) => {
  const kind = await secondFactorOf(run);
  if (!kind || !SECOND_FACTORS[kind] || run.state.secondFactor) return undefined;
  return (await heldKinds(run)).includes(kind) ? undefined : 'factor/setup';
};

/**
 * The login, in order, after the member is identified (by the password, POST /login): each stage
 * in turn, then `finishLogin` hands the result to the provider.
 */
export const LOGIN_PIPELINE: readonly Stage[] = [secondFactor, requiredSteps, addressProof, secondFactorSetup];

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
  const { held_kinds: held, ...columns } = row;
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
  // What the member owed when this login began: a step passed in it (メール認証) counts for the rest.
  if (!state.owedAtStart) state.owedAtStart = owedSteps(member, deps.config.terms.version);
  return { deps, interaction, state, member, heldKinds: held as string[] };
}

const MEMBER_FOR_LOGIN = `select m.*, array(select distinct c.kind from credential c where c.member_id = m.id) as held_kinds
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
  if (isFirstLogin(run) && !ctx.query.done) return showFirstLoginDone(ctx, interaction);
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
  if (!place && !isFirstLogin(run)) return finishLogin(ctx, run);
  await saveLoginState(interaction, state);
  ctx.redirect(`/interaction/${interaction.uid}/${place ?? 'continue'}`);
}

/**
 * 「初回ログインが完了しました」 ends a login that passed a first-login step, and one that resumed a
 * first login interrupted after its steps (the member has never completed a login).
 */
function isFirstLogin({ state, member }: LoginRun): boolean {
  return Boolean(state.firstLogin) || (member.lastLoginAt == null && Boolean(state.secondFactor?.setUp));
}

/**
 * The provider gets the member, `amr` and `acr` from what was actually proved in this login. Only
 * now are the consecutive failures forgotten: a right password followed by wrong codes must not
 * reset the count the codes are adding to.
 */
async function finishLogin(ctx: Context, { deps, interaction, state, member }: LoginRun): Promise<void> {
  const amr = state.secondFactor ? [...new Set([...state.amr, 'mfa'])] : state.amr;
  // Guesses racing with this login's proof may have locked the member meanwhile: then it does not finish.
  const completed = await clearMemberFailures(deps.sql, member.id, { type: 'login.completed', ip: ctx.ip }, state.secondFactor?.deviceId);
  if (!completed.cleared) return endLoginLocked(ctx, deps, interaction, member);
  // A device added from a weaker session is worth no more than that session (factors/acr.ts).
  const acr = weakerAcr(acrFor(state.secondFactor?.kind), completed.trust);
  const redirectTo = await resultForProvider(interaction, {
    login: { accountId: member.id, remember: state.remember, amr, acr },
  });
  ctx.status = 303;
  ctx.redirect(redirectTo);
}
