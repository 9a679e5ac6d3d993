import type { Context } from 'koa';
import { STEPS } from '../../steps/index.js';
import type { StepName } from '../../members/required-steps.js';
import { csrfValid } from '../middleware/csrf.js';
import { hostFromRequest, renderView } from '../host.js';
import { endLoginLocked, loadLoginRun, nextPlace, proceed } from './pipeline.js';
import { loginScratch, resultForProvider } from './state.js';
import { withFirstLogin } from './first-login-done.js';
import type { Interaction, InteractionDeps } from './context.js';

/** GET and POST /interaction/:uid/step/:name — only the place the login owes next is reachable. */
export async function handleStep(ctx: Context, deps: InteractionDeps, interaction: Interaction, name: StepName, body?: Record<string, unknown>): Promise<void> {
  const run = await loadLoginRun(ctx, deps, interaction);
  if (run === 'locked') return;
  if (!run) return ctx.redirect(`/interaction/${interaction.uid}`);
  if (await nextPlace(run) !== `step/${name}`) return ctx.redirect(`/interaction/${interaction.uid}/continue`);
  const actionUrl = `/interaction/${interaction.uid}/step/${name}`;
  const host = hostFromRequest(ctx, deps, { flow: 'login', member: run.member, actionUrl, scratch: loginScratch(interaction, run.state) });
  const step = STEPS[name];
  if (!body) return renderView(ctx, await step.show(host));
  if (!csrfValid(ctx, body)) {
    ctx.status = 303;
    return ctx.redirect(actionUrl);
  }
  const outcome = await step.submit(host, body);
  switch (outcome.kind) {
    case 'show': return renderView(ctx, outcome.view);
    case 'done':
      // The step may have changed the member (user ID, chosen method): read again.
      return proceed(ctx, deps, interaction, withFirstLogin(run.state, name));
    case 'locked': return endLoginLocked(ctx, deps, interaction, run.member);
    case 'declined': {
      const redirectTo = await resultForProvider(interaction, {
        error: 'access_denied', error_description: 'the member did not accept the terms of use',
      });
      ctx.status = 303;
      return ctx.redirect(redirectTo);
    }
  }
}
