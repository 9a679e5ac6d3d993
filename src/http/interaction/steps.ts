import type { Context } from 'koa';
import { STEPS } from '../../steps/index.js';
import type { StepName } from '../../members/required-steps.js';
import { nextPlace, type LoginRun } from '../../flow/login.js';
import type { Host } from '../../flow/host.js';
import { anyForm, type FormBody, type FormSpec } from '../form.js';
import { isStepName } from '../../members/required-steps.js';
import { hostFromRequest, renderView } from '../host.js';
import { endLoginLocked, loadLoginRun, proceed } from './pipeline.js';
import { loginScratch, resultForProvider } from './state.js';
import { withFirstLogin } from './first-login-done.js';
import type { Interaction, InteractionDeps, LoginRequest } from './request.js';

/** The login and a Host for the step `name`, when it is the place the login owes next; otherwise the request is answered. */
async function openStepPage(ctx: Context, deps: InteractionDeps, interaction: Interaction, name: StepName): Promise<{ run: LoginRun; host: Host } | undefined> {
  const run = await loadLoginRun(ctx, deps, interaction);
  if (run === 'ended') return undefined;
  if (!run) {
    ctx.redirect(`/interaction/${interaction.uid}`);
    return undefined;
  }
  if ((await nextPlace(run)) !== `step/${name}`) {
    ctx.redirect(`/interaction/${interaction.uid}/continue`);
    return undefined;
  }
  const actionUrl = `/interaction/${interaction.uid}/step/${name}`;
  return { run, host: hostFromRequest(ctx, deps, { flow: 'login', member: run.member, actionUrl, scratch: loginScratch(interaction, run.state) }) };
}

/** GET /interaction/:uid/step/:name — the owed step's page (only the place the login owes next is reachable). */
export async function showOwedStep(ctx: Context, deps: InteractionDeps, interaction: Interaction, name: StepName): Promise<void> {
  const page = await openStepPage(ctx, deps, interaction, name);
  if (page) renderView(ctx, await STEPS[name].show(page.host));
}

/** The owed step's form: its page again, on to the next place, the lock message, or back to the portal. */
async function submitOwedStep(ctx: Context, deps: InteractionDeps, interaction: Interaction, name: StepName, body: FormBody): Promise<void> {
  const page = await openStepPage(ctx, deps, interaction, name);
  if (!page) return;
  const outcome = await STEPS[name].submit(page.host, body);
  switch (outcome.kind) {
    case 'show':
      return renderView(ctx, outcome.view);
    case 'done':
      // The step may have changed the member (user ID, chosen method): read again.
      return proceed(ctx, deps, interaction, withFirstLogin(page.run.state, name));
    case 'locked':
      return endLoginLocked(ctx, deps, interaction, page.run.member);
    case 'declined': {
      const redirectTo = await resultForProvider(interaction, {
        error: 'access_denied',
        error_description: 'the member did not accept the terms of use',
      });
      ctx.status = 303;
      return ctx.redirect(redirectTo);
    }
  }
}

/**
 * POST /interaction/:uid/step/:name — the step declares and parses its own fields; unknown step
 * names are not found. Posted without this browser's CSRF token: the step's page again.
 */
export const owedStepForm: FormSpec<LoginRequest, FormBody> = {
  schema: anyForm,
  submit: async ({ ctx, deps, interaction }, body) => {
    const name = ctx.params.name;
    if (isStepName(name)) await submitOwedStep(ctx, deps, interaction, name, body);
  },
  refused: ({ ctx, interaction }) => {
    ctx.status = 303;
    ctx.redirect(`/interaction/${interaction.uid}/step/${encodeURIComponent(String(ctx.params.name))}`);
  },
};
