import type { Context } from 'koa';
import { Member } from '../../db/entities/index.js';
import { isLocked } from '../../members/lockout.js';
import { applyMemberLocale } from '../middleware/locale.js';
import { STEPS, owedSteps, type StepName } from '../../steps/index.js';
import type { StepDeps } from '../../steps/types.js';
import { csrfValid } from '../middleware/csrf.js';
import { renderLogin } from './login.js';
import { loginState, saveLoginState } from './state.js';
import type { Interaction, InteractionDeps } from './context.js';

export type StepRouteDeps = InteractionDeps & StepDeps;

/** The member who passed the password in this interaction, unless they were locked meanwhile. */
async function currentMember(ctx: Context, deps: StepRouteDeps, interaction: Interaction): Promise<Member | 'locked' | undefined> {
  const state = loginState(interaction);
  if (!state) return undefined;
  const member = await deps.orm.em.fork().findOne(Member, { id: state.memberId });
  if (!member) return undefined;
  applyMemberLocale(ctx, member.locale);
  if (isLocked({ ...member, lockedUntil: member.lockedUntil ?? null }, new Date())) {
    await saveLoginState(interaction, undefined);
    renderLogin(ctx, interaction, { userId: member.userId, errors: ['login.error_locked'] }, 401);
    return 'locked';
  }
  return member;
}

/** GET /interaction/:uid/continue — the next step the member owes, or back to the portal. */
export async function continueLogin(ctx: Context, deps: StepRouteDeps, interaction: Interaction): Promise<void> {
  const state = loginState(interaction);
  const member = await currentMember(ctx, deps, interaction);
  if (member === 'locked') return;
  if (!state || !member) return ctx.redirect(`/interaction/${interaction.uid}`);
  const [next] = owedSteps(member, deps.config.terms.version);
  if (next) return ctx.redirect(`/interaction/${interaction.uid}/step/${next}`);
  const redirectTo = await deps.provider.interactionResult(ctx.req, ctx.res, {
    login: { accountId: member.id, remember: state.remember, amr: state.amr },
  }, { mergeWithLastSubmission: false });
  ctx.status = 303;
  ctx.redirect(redirectTo);
}

/** GET and POST /interaction/:uid/step/:name — only the first owed step is reachable. */
export async function handleStep(ctx: Context, deps: StepRouteDeps, interaction: Interaction, name: string, body?: Record<string, unknown>): Promise<void> {
  const member = await currentMember(ctx, deps, interaction);
  if (member === 'locked') return;
  if (!member) return ctx.redirect(`/interaction/${interaction.uid}`);
  const [next] = owedSteps(member, deps.config.terms.version);
  if (next !== name) return ctx.redirect(`/interaction/${interaction.uid}/continue`);
  const step = STEPS[name as StepName];
  const run = { ctx, deps, member, actionUrl: `/interaction/${interaction.uid}/step/${name}` };
  if (!body) return step.show(run);
  if (!csrfValid(ctx, body)) {
    ctx.status = 303;
    return ctx.redirect(run.actionUrl);
  }
  const outcome = await step.submit(run, body);
  if (outcome.kind === 'done') {
    ctx.status = 303;
    return ctx.redirect(`/interaction/${interaction.uid}/continue`);
  }
  if (outcome.kind === 'locked') {
    await saveLoginState(interaction, undefined);
    return renderLogin(ctx, interaction, { userId: member.userId, errors: ['login.error_locked'] }, 401);
  }
  if (outcome.kind === 'declined') {
    const redirectTo = await deps.provider.interactionResult(ctx.req, ctx.res, {
      error: 'access_denied', error_description: 'the member did not accept the terms of use',
    }, { mergeWithLastSubmission: false });
    ctx.status = 303;
    return ctx.redirect(redirectTo);
  }
}
