import type { Context } from 'koa';
import { finishLogin, isFirstLogin, nextPlace, openLogin, requestedAcrOf, type LoginRun, type LoginState } from '../../flow/login.js';
import { loginStore } from '../../members/login-store.js';
import { applyMemberLocale } from '../middleware/locale.js';
import { renderLogin } from './login.js';
import { lockedError } from './lock-message.js';
import { showFirstLoginDone } from './first-login-done.js';
import { loginState, saveLoginState, resultForProvider } from './state.js';
import type { Interaction, InteractionDeps } from './request.js';

/**
 * The login (src/flow/login.ts) as the interaction routes host it: its state is kept on the
 * interaction, its places are pages under /interaction/:uid/, and its end goes to the provider.
 */

/**
 * The login of this interaction, unless the member was locked meanwhile or changed their password
 * (then the login page says so, the login starts over, and 'ended' is returned). Applies the
 * member's saved language. `member`: their row when it is unchanged since it was read in this request.
 */
export async function loadLoginRun(
  ctx: Context,
  deps: InteractionDeps,
  interaction: Interaction,
  state = loginState(interaction),
  member?: LoginRun['member'],
): Promise<LoginRun | 'ended' | undefined> {
  if (!state) return undefined;
  const store = loginStore(deps);
  const opened = await openLogin(
    store,
    state,
    { termsVersion: deps.config.terms.version, requestedAcr: requestedAcrOf(interaction.params.acr_values) },
    member,
  );
  if (!opened) return undefined;
  if (!member) applyMemberLocale(ctx, opened.kind === 'run' ? opened.run.member.locale : opened.member.locale);
  if (opened.kind === 'credentials_changed') {
    await saveLoginState(interaction, undefined);
    renderLogin(ctx, interaction, { userId: opened.member.userId, errors: ['login.error_credentials_changed'] }, 401);
    return 'ended';
  }
  if (opened.kind === 'locked') {
    await endLoginLocked(ctx, deps, interaction, opened.member);
    return 'ended';
  }
  return opened.run;
}

/** The login starts over at the login page, which says how long the lock lasts and whom to ask. */
export async function endLoginLocked(ctx: Context, deps: InteractionDeps, interaction: Interaction, member: LoginRun['member']): Promise<void> {
  await saveLoginState(interaction, undefined);
  // The lock was just set by this request's failure: read it as it is now.
  const locked = await loginStore(deps).currentMember(member.id);
  renderLogin(ctx, interaction, { userId: member.userId, errors: [lockedError(locked ?? member)] }, 401);
}

/** GET /interaction/:uid/continue — the next place the member owes, or back to the portal. */
export async function continueLogin(ctx: Context, deps: InteractionDeps, interaction: Interaction): Promise<void> {
  const run = await loadLoginRun(ctx, deps, interaction);
  if (run === 'ended') return;
  if (!run) return ctx.redirect(`/interaction/${interaction.uid}`);
  const place = await nextPlace(run);
  if (place) return ctx.redirect(`/interaction/${interaction.uid}/${place}`);
  if (isFirstLogin(run) && !ctx.query.done) return showFirstLoginDone(ctx, interaction);
  await handLoginToProvider(ctx, deps, interaction, run);
}

/**
 * After a form of the login was accepted in this request (the password, a passkey, a step, the
 * second factor), with what the login now knows: straight to the next place, or to the portal,
 * without a round trip through /continue. The state is kept on the interaction only when the login
 * goes on (finishing hands the result to the provider instead). Pass the member when their row is
 * unchanged since it was read in this request; otherwise it is read again. 初回ログインが完了しました
 * is a page, so it goes through /continue (a reload must not post the form again).
 */
export async function proceed(ctx: Context, deps: InteractionDeps, interaction: Interaction, state: LoginState, member?: LoginRun['member']): Promise<void> {
  const run = await loadLoginRun(ctx, deps, interaction, state, member);
  if (run === 'ended') return;
  ctx.status = 303;
  if (!run) return ctx.redirect(`/interaction/${interaction.uid}`);
  const place = await nextPlace(run);
  if (!place && !isFirstLogin(run)) return handLoginToProvider(ctx, deps, interaction, run);
  await saveLoginState(interaction, state);
  ctx.redirect(`/interaction/${interaction.uid}/${place ?? 'continue'}`);
}

/** The provider gets what the flow's finish answers; a member locked meanwhile ends on the login page instead. */
async function handLoginToProvider(ctx: Context, deps: InteractionDeps, interaction: Interaction, run: LoginRun): Promise<void> {
  const finished = await finishLogin(run, ctx.ip);
  if (finished.kind === 'locked') return endLoginLocked(ctx, deps, interaction, run.member);
  const { accountId, remember, amr, acr } = finished;
  const redirectTo = await resultForProvider(interaction, { login: { accountId, remember, amr, acr } });
  ctx.status = 303;
  ctx.redirect(redirectTo);
}
