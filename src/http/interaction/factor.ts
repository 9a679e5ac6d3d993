import type { Context } from 'koa';
import { SECOND_FACTORS } from '../../factors/index.js';
import { csrfValid } from '../middleware/csrf.js';
import { hostFromRequest, renderView } from '../host.js';
import { endLoginLocked, loadLoginRun, nextPlace } from './pipeline.js';
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
  if (!body) return renderView(ctx, await (setup ? factor.startSetup(host) : factor.challenge(host)));
  if (!csrfValid(ctx, body)) {
    ctx.status = 303;
    return ctx.redirect(actionUrl);
  }
  const outcome = await (setup ? factor.finishSetup(host, body) : factor.verify(host, body));
  switch (outcome.kind) {
    case 'show': return renderView(ctx, outcome.view);
    case 'locked': return endLoginLocked(ctx, interaction, run.member.userId);
    case 'verified':
      await saveLoginState(interaction, {
        ...run.state, amr: [...new Set([...run.state.amr, ...outcome.amr])], secondFactor: { kind: factor.kind, at: Math.floor(Date.now() / 1000) }, scratch: undefined,
      });
      ctx.status = 303;
      return ctx.redirect(`/interaction/${interaction.uid}/continue`);
  }
}
