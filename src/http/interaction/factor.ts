import type { Context } from 'koa';
import { SECOND_FACTORS } from '../../factors/index.js';
import { recoveryCodePage, recoveryCodeUsedPage, verifyRecoveryCode } from '../../factors/recovery-code/login.js';
import type { View } from '../../flow/host.js';
import { csrfValid } from '../middleware/csrf.js';
import { hostFromRequest, renderView } from '../host.js';
import { endLoginLocked, loadLoginRun, nextPlace, proceed } from './pipeline.js';
import { loginScratch, saveLoginState } from './state.js';
import type { Interaction, InteractionDeps } from './context.js';

/**
 * GET and POST /interaction/:uid/factor (the proof) and /factor/setup (a first device, inside the
 * login: the setup itself is the proof). Only reachable when the pipeline asks for it.
 */
export async function handleFactor(ctx: Context, deps: InteractionDeps, interaction: Interaction, place: 'factor' | 'factor/setup', body?: Record<string, unknown>): Promise<void> {
  const run = await loadLoginRun(ctx, deps, interaction);
  if (run === 'locked') return;
  if (!run) return ctx.redirect(`/interaction/${interaction.uid}`);
  if (await nextPlace(run) !== place) return ctx.redirect(`/interaction/${interaction.uid}/continue`);
  const factor = SECOND_FACTORS[run.member.chosenFactor!]!;
  const actionUrl = `/interaction/${interaction.uid}/${place}`;
  const host = hostFromRequest(ctx, deps, { flow: 'login', member: run.member, actionUrl, scratch: loginScratch(interaction, run.state) });
  const setup = place === 'factor/setup';
  if (!body) return renderView(ctx, withLoginLinks(await (setup ? factor.startSetup(host) : factor.challenge(host)), interaction, !setup));
  if (!csrfValid(ctx, body)) {
    ctx.status = 303;
    return ctx.redirect(actionUrl);
  }
  const outcome = await (setup ? factor.finishSetup(host, body) : factor.verify(host, body));
  switch (outcome.kind) {
    case 'show': return renderView(ctx, withLoginLinks(outcome.view, interaction, !setup));
    case 'locked': return endLoginLocked(ctx, deps, interaction, run.member);
    case 'verified': {
      const state = { ...run.state, amr: [...new Set([...run.state.amr, ...outcome.amr])], secondFactor: { kind: factor.kind, at: Math.floor(Date.now() / 1000) }, scratch: undefined };
      // A factor changes its own credentials, never the member's row.
      return proceed(ctx, deps, interaction, state, run.member);
    }
  }
}

/**
 * Every challenge page offers 「リカバリーコードを使用する」 (partials/recovery-code-link.njk); a page
 * that cannot go on (a device that can no longer be used) also 「ポータルに戻る」 (partials/back-to-portal.njk).
 */
function withLoginLinks(view: View, interaction: Interaction, offer: boolean): View {
  if (!offer) return view;
  return { ...view, vars: { ...view.vars, recoveryCodeUrl: `/interaction/${interaction.uid}/factor/recovery-code`, abortUrl: `/interaction/${interaction.uid}/abort` } };
}

/**
 * GET and POST /interaction/:uid/factor/recovery-code — a recovery code in place of the second
 * factor, reachable where the factor's challenge is.
 */
export async function handleRecoveryCode(ctx: Context, deps: InteractionDeps, interaction: Interaction, body?: Record<string, unknown>): Promise<void> {
  const run = await loadLoginRun(ctx, deps, interaction);
  if (run === 'locked') return;
  if (!run) return ctx.redirect(`/interaction/${interaction.uid}`);
  if (await nextPlace(run) !== 'factor') return ctx.redirect(`/interaction/${interaction.uid}/continue`);
  const actionUrl = `/interaction/${interaction.uid}/factor/recovery-code`;
  const host = hostFromRequest(ctx, deps, { flow: 'login', member: run.member, actionUrl, scratch: loginScratch(interaction, run.state) });
  const back = { backUrl: `/interaction/${interaction.uid}/factor` };
  const page = (view: View): View => ({ ...view, vars: { ...view.vars, ...back } });
  if (!body) return renderView(ctx, page(recoveryCodePage(host)));
  if (!csrfValid(ctx, body)) { ctx.status = 303; return ctx.redirect(actionUrl); }
  const outcome = await verifyRecoveryCode(host, body);
  if (outcome.kind === 'show') return renderView(ctx, page(outcome.view));
  if (outcome.kind === 'locked') return endLoginLocked(ctx, deps, interaction, run.member);
  await saveLoginState(interaction, {
    ...run.state, amr: [...new Set([...run.state.amr, ...outcome.amr])], secondFactor: { kind: 'recovery_code', at: Math.floor(Date.now() / 1000) }, scratch: undefined,
  });
  renderView(ctx, await recoveryCodeUsedPage(host, `/interaction/${interaction.uid}/continue`));
}
