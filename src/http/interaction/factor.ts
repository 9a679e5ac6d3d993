import type { Context } from 'koa';
import { SECOND_FACTORS } from '../../factors/index.js';
import { emailFactor } from '../../factors/email-otp/index.js';
import { recoveryCodePage, recoveryCodeUsedPage, verifyRecoveryCode } from '../../factors/recovery-code/login.js';
import type { View } from '../../flow/host.js';
import { sendSecurityNotice } from '../../mail/security-notice.js';
import { csrfValid } from '../middleware/csrf.js';
import { hostFromRequest, renderView } from '../host.js';
import { endLoginLocked, loadLoginRun, nextPlace, proceed, secondFactorOf } from './pipeline.js';
import { loginScratch, saveLoginState } from './state.js';
import type { Interaction, InteractionDeps } from './context.js';

export type FactorPlace = 'factor' | 'factor/setup' | 'factor/address';

/**
 * GET and POST /interaction/:uid/factor (the proof), /factor/setup (a first device, inside the
 * login: the setup itself is the proof) and /factor/address (a mailed code to the confirmed address
 * before such a setup). Only reachable when the pipeline asks for it.
 */
export async function handleFactor(ctx: Context, deps: InteractionDeps, interaction: Interaction, place: FactorPlace, body?: Record<string, unknown>): Promise<void> {
  const run = await loadLoginRun(ctx, deps, interaction);
  if (run === 'locked') return;
  if (!run) return ctx.redirect(`/interaction/${interaction.uid}`);
  if (await nextPlace(run) !== place) return ctx.redirect(`/interaction/${interaction.uid}/continue`);
  const address = place === 'factor/address';
  const factor = address ? emailFactor : SECOND_FACTORS[(await secondFactorOf(run))!]!;
  const actionUrl = `/interaction/${interaction.uid}/${place}`;
  const host = hostFromRequest(ctx, deps, { flow: 'login', member: run.member, actionUrl, scratch: loginScratch(interaction, run.state) });
  const setup = place === 'factor/setup';
  const offerLinks = place === 'factor';
  const page = (view: View): View => withLoginLinks(address ? { ...view, vars: { ...view.vars, beforeSetup: true } } : view, interaction, offerLinks);
  if (!body) return renderView(ctx, page(await (setup ? factor.startSetup(host) : factor.challenge(host))));
  if (!csrfValid(ctx, body)) {
    ctx.status = 303;
    return ctx.redirect(actionUrl);
  }
  const outcome = await (setup ? factor.finishSetup(host, body) : factor.verify(host, body));
  switch (outcome.kind) {
    case 'show': return renderView(ctx, page(outcome.view));
    case 'locked': return endLoginLocked(ctx, deps, interaction, run.member);
    case 'verified': {
      // Every device added is told to the confirmed address (a stranger's device would be noticed).
      if (setup && factor.kind !== 'email') await sendSecurityNotice(deps, run.member, 'factor_added');
      const amr = [...new Set([...run.state.amr, ...outcome.amr])];
      const state = address
        ? { ...run.state, amr, addressProved: true, scratch: undefined }
        : { ...run.state, amr, secondFactor: { kind: factor.kind, at: Math.floor(Date.now() / 1000), deviceId: outcome.credentialId, setUp: setup }, scratch: undefined };
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
    ...run.state, amr: [...new Set([...run.state.amr, ...outcome.amr])], secondFactor: { kind: 'recovery_code', at: Math.floor(Date.now() / 1000), deviceId: outcome.credentialId }, scratch: undefined,
  });
  renderView(ctx, await recoveryCodeUsedPage(host, `/interaction/${interaction.uid}/continue`));
}
