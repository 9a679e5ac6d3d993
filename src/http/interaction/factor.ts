import type { Context } from 'koa';
import { recoveryCodeFactor } from '../../factors/index.js';
import { recoveryCodeUsedPage } from '../../factors/recovery-code/login.js';
import { afterAddressProof, afterSecondFactor, factorAt, nextPlace, type LoginRun } from '../../flow/login.js';
import type { Host, View } from '../../flow/host.js';
import type { Factor, FactorOutcome } from '../../factors/types.js';
import { anyForm, type FormBody, type FormSpec } from '../form.js';
import { hostFromRequest, renderView } from '../host.js';
import { endLoginLocked, loadLoginRun, proceed } from './pipeline.js';
import { loginScratch, saveLoginState } from './state.js';
import type { Interaction, InteractionDeps, LoginRequest } from './request.js';

/**
 * The factor pages of a login, each reachable only when the flow asks for it:
 * /factor (the second factor's proof), /factor/setup (a first device, inside the login: the setup
 * itself is the proof), /factor/address (a mailed code to the confirmed address before such a
 * setup) and /factor/recovery-code (a recovery code in place of the second factor, offered where
 * the factor's proof is).
 */
type FactorPlace = 'factor' | 'factor/setup' | 'factor/address';
type Page = { run: LoginRun; factor: Factor; host: Host; actionUrl: string };

/**
 * The login, the factor the flow asks for at `asked` and a Host for the page at `path` (the
 * recovery code's page stands where the second factor's is); undefined when the request was
 * answered (sent elsewhere, or the login ended).
 */
async function openFactorPage(
  ctx: Context,
  deps: InteractionDeps,
  interaction: Interaction,
  asked: FactorPlace,
  path: string = asked,
): Promise<Page | undefined> {
  const run = await loadLoginRun(ctx, deps, interaction);
  if (run === 'ended') return undefined;
  if (!run) {
    ctx.redirect(`/interaction/${interaction.uid}`);
    return undefined;
  }
  if ((await nextPlace(run)) !== asked) {
    ctx.redirect(`/interaction/${interaction.uid}/continue`);
    return undefined;
  }
  const actionUrl = `/interaction/${interaction.uid}/${path}`;
  const host = hostFromRequest(ctx, deps, { flow: 'login', member: run.member, actionUrl, scratch: loginScratch(interaction, run.state) });
  return { run, factor: await factorAt(run, asked), host, actionUrl };
}

/**
 * A factor page's form: the factor declares and parses its own fields. Posted without this
 * browser's CSRF token: the page again, nothing checked.
 */
const factorForm = (
  path: string,
  submit: (ctx: Context, deps: InteractionDeps, interaction: Interaction, body: FormBody) => Promise<void>,
): FormSpec<LoginRequest, FormBody> => ({
  schema: anyForm,
  submit: ({ ctx, deps, interaction }, body) => submit(ctx, deps, interaction, body),
  refused: ({ ctx, interaction }) => {
    ctx.status = 303;
    ctx.redirect(`/interaction/${interaction.uid}/${path}`);
  },
});

/**
 * Every challenge page offers 「リカバリーコードを使用する」 (partials/recovery-code-link.njk) and
 * 「ポータルに戻る」 for a device that can no longer be used (partials/back-to-portal.njk).
 */
function withLoginLinks(view: View, interaction: Interaction): View {
  return {
    ...view,
    vars: { ...view.vars, recoveryCodeUrl: `/interaction/${interaction.uid}/factor/recovery-code`, abortUrl: `/interaction/${interaction.uid}/abort` },
  };
}

/** The address code page says it comes before a device setup. */
const beforeSetup = (view: View): View => ({ ...view, vars: { ...view.vars, beforeSetup: true } });

/** What a check or a setup led to, for a login: the page again, the lock message, or on with what was proved. */
async function answerOutcome(
  ctx: Context,
  deps: InteractionDeps,
  interaction: Interaction,
  page: Page,
  outcome: FactorOutcome,
  shown: (v: View) => View,
  proved: (o: Extract<FactorOutcome, { kind: 'verified' }>) => Promise<void>,
): Promise<void> {
  if (outcome.kind === 'show') return renderView(ctx, shown(outcome.view));
  if (outcome.kind === 'locked') return endLoginLocked(ctx, deps, interaction, page.run.member);
  return proved(outcome);
}

/** GET /interaction/:uid/factor — the second factor's challenge. */
export async function showSecondFactor(ctx: Context, deps: InteractionDeps, interaction: Interaction): Promise<void> {
  const page = await openFactorPage(ctx, deps, interaction, 'factor');
  if (page) renderView(ctx, withLoginLinks(await page.factor.challenge(page.host), interaction));
}

/** POST /interaction/:uid/factor — checks the second factor; on to the next place when it was right. */
async function verifySecondFactor(ctx: Context, deps: InteractionDeps, interaction: Interaction, body: FormBody): Promise<void> {
  const page = await openFactorPage(ctx, deps, interaction, 'factor');
  if (!page) return;
  const outcome = await page.factor.verify(page.host, body);
  await answerOutcome(
    ctx,
    deps,
    interaction,
    page,
    outcome,
    (v) => withLoginLinks(v, interaction),
    (ok) => proceedProved(ctx, deps, interaction, page, ok, false),
  );
}

/** On with the login once its second factor is proved, by a check or by setting it up (a factor changes its own credentials, never the member's row). */
function proceedProved(
  ctx: Context,
  deps: InteractionDeps,
  interaction: Interaction,
  page: Page,
  ok: Extract<FactorOutcome, { kind: 'verified' }>,
  setUp: boolean,
): Promise<void> {
  return proceed(
    ctx,
    deps,
    interaction,
    afterSecondFactor(page.run.state, { kind: page.factor.kind, amr: ok.amr, deviceId: ok.credentialId, setUp }),
    page.run.member,
  );
}

/** GET /interaction/:uid/factor/setup — the first page of setting up the chosen second factor. */
export async function showFactorSetup(ctx: Context, deps: InteractionDeps, interaction: Interaction): Promise<void> {
  const page = await openFactorPage(ctx, deps, interaction, 'factor/setup');
  if (page) renderView(ctx, await page.factor.startSetup(page.host));
}

/** POST /interaction/:uid/factor/setup — finishes the setup, which proves the factor; the new device is told to the confirmed address. */
async function finishFactorSetup(ctx: Context, deps: InteractionDeps, interaction: Interaction, body: FormBody): Promise<void> {
  const page = await openFactorPage(ctx, deps, interaction, 'factor/setup');
  if (!page) return;
  const outcome = await page.factor.finishSetup(page.host, body);
  await answerOutcome(
    ctx,
    deps,
    interaction,
    page,
    outcome,
    (v) => v,
    (ok) => proceedProved(ctx, deps, interaction, page, ok, true),
  );
}

/** GET /interaction/:uid/factor/address — a code mailed to the confirmed address, before a device setup. */
export async function showAddressCode(ctx: Context, deps: InteractionDeps, interaction: Interaction): Promise<void> {
  const page = await openFactorPage(ctx, deps, interaction, 'factor/address');
  if (page) renderView(ctx, beforeSetup(await page.factor.challenge(page.host)));
}

/** POST /interaction/:uid/factor/address — checks the mailed code (or mails another); on to the setup when it was right. */
async function verifyAddressCode(ctx: Context, deps: InteractionDeps, interaction: Interaction, body: FormBody): Promise<void> {
  const page = await openFactorPage(ctx, deps, interaction, 'factor/address');
  if (!page) return;
  const outcome = await page.factor.verify(page.host, body);
  await answerOutcome(ctx, deps, interaction, page, outcome, beforeSetup, (ok) =>
    proceed(ctx, deps, interaction, afterAddressProof(page.run.state, ok.amr), page.run.member),
  );
}

const withBackToFactor =
  (interaction: Interaction) =>
  (view: View): View => ({ ...view, vars: { ...view.vars, backUrl: `/interaction/${interaction.uid}/factor` } });

/** GET /interaction/:uid/factor/recovery-code — a recovery code in place of the second factor. */
export async function showRecoveryCode(ctx: Context, deps: InteractionDeps, interaction: Interaction): Promise<void> {
  const page = await openFactorPage(ctx, deps, interaction, 'factor', 'factor/recovery-code');
  if (page) renderView(ctx, withBackToFactor(interaction)(await recoveryCodeFactor.challenge(page.host)));
}

/**
 * POST /interaction/:uid/factor/recovery-code — checks the code; when right, says how many are left
 * (and that a new device should be set up) before the login goes on.
 */
async function verifyRecoveryCode(ctx: Context, deps: InteractionDeps, interaction: Interaction, body: FormBody): Promise<void> {
  const page = await openFactorPage(ctx, deps, interaction, 'factor', 'factor/recovery-code');
  if (!page) return;
  const outcome = await recoveryCodeFactor.verify(page.host, body);
  await answerOutcome(ctx, deps, interaction, page, outcome, withBackToFactor(interaction), async (ok) => {
    await saveLoginState(interaction, afterSecondFactor(page.run.state, { kind: 'recovery_code', amr: ok.amr, deviceId: ok.credentialId }));
    renderView(ctx, await recoveryCodeUsedPage(page.host, `/interaction/${interaction.uid}/continue`));
  });
}

export const secondFactorForm = factorForm('factor', verifySecondFactor);

export const factorSetupForm = factorForm('factor/setup', finishFactorSetup);

export const addressCodeForm = factorForm('factor/address', verifyAddressCode);

export const recoveryCodeForm = factorForm('factor/recovery-code', verifyRecoveryCode);
