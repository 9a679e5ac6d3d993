import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Context, Middleware } from 'koa';
import type { StepName } from '../../members/required-steps.js';
import { errors } from 'oidc-provider';
import { render } from '../render.js';
import { applyUiLocales } from '../middleware/locale.js';
import { abortLoginForm, loginFields, refusedLogin, renderLogin, submitLogin, type LoginForm } from './login.js';
import { offerPasskeyLogin, passkeyLoginForm, submitPasskeyLogin, type PasskeyLoginForm } from './passkey-login.js';
import { noteReauthentication } from './reauth.js';
import { loggedInAtProvider, rememberClient, restartLoginUrl, type Interaction, type LoginRequest } from './request.js';
import { owedStepForm, showOwedStep } from './steps.js';
import {
  addressCodeForm,
  factorSetupForm,
  recoveryCodeForm,
  secondFactorForm,
  showAddressCode,
  showFactorSetup,
  showRecoveryCode,
  showSecondFactor,
} from './factor.js';
import { postForm, type FormSpec } from '../form.js';
import { continueLogin, proceed } from './pipeline.js';
import type { InteractionDeps } from './request.js';
import { loginState } from './state.js';
import { forgotPasswordForm, showForgotPassword } from '../recovery/forgot-password.js';
import { forgotUserIdForm, showForgotUserId } from '../recovery/forgot-user-id.js';
import type { RecoveryPlace, RecoveryRequest } from '../recovery/types.js';
import { isStepName } from '../../members/required-steps.js';
import { handedBack, isInteractionFinished } from '../../oidc/adapter.js';

/** The page a member sees when the login waited too long: a fresh start, never a protocol error. */
export function renderExpired(ctx: Context, restartUrl: string | undefined, status = 400): void {
  render(ctx, 'login-expired', { restartUrl }, status);
}

/** Loads the interaction bound to this browser, or shows the finished or expired page and returns undefined. */
async function loadInteraction(ctx: Context, deps: InteractionDeps): Promise<Interaction | undefined> {
  try {
    const interaction = await deps.provider.interactionDetails(ctx.req, ctx.res);
    if (interaction.uid !== ctx.params.uid) throw new errors.SessionNotFound('interaction mismatch');
    // Already handed back to the provider (the other of two posts of the last form, or a reload
    // after the redirect was lost): on to the resume, which hands the login to the portal once.
    if (handedBack(interaction.result)) {
      ctx.status = 303;
      ctx.redirect(interaction.returnTo);
      return undefined;
    }
    applyUiLocales(ctx, interaction.params.ui_locales);
    await noteReauthentication(ctx, deps, interaction);
    return interaction;
  } catch (err) {
    if (err instanceof errors.SessionNotFound || err instanceof errors.InvalidRequest) {
      // The browser's Back after a finished login lands on a step of it: the login is done, not expired.
      if (isInteractionFinished(err) || (await loggedInAtProvider(ctx, deps.provider))) {
        renderFinished(ctx, deps);
        return undefined;
      }
      renderExpired(ctx, restartLoginUrl(ctx, deps.config));
      return undefined;
    }
    throw err;
  }
}

function renderFinished(ctx: Context, deps: InteractionDeps): void {
  render(ctx, 'login-finished', { restartUrl: restartLoginUrl(ctx, deps.config) });
}

/**
 * A request of this login that was still running when another one finished it (the same form
 * posted twice at once): its save finds the login handed back or resumed, and it goes on to the
 * resume, which hands the login to the portal once and shows the others that it is done.
 */
function finishedElsewhere(deps: InteractionDeps): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (!isInteractionFinished(err)) throw err;
      ctx.status = 303;
      ctx.redirect(deps.provider.urlFor('resume', { uid: ctx.params.uid }));
    }
  };
}

/** A handler of one page and method of a login, given the interaction this browser is in. */
type InteractionHandler = (ctx: Context, deps: InteractionDeps, interaction: Interaction) => Promise<void> | void;

/** GET /interaction/:uid — the login page, or (any other prompt) what a first-party portal asked granted. */
async function showLoginPage(ctx: Context, deps: InteractionDeps, interaction: Interaction): Promise<void> {
  rememberClient(ctx, String(interaction.params.client_id), deps.config.issuer.startsWith('https://'));
  // A reload after the password, in the middle of the steps, goes back to the owed step.
  if (interaction.prompt.name === 'login' && loginState(interaction)) return ctx.redirect(`/interaction/${interaction.uid}/continue`);
  if (interaction.prompt.name === 'login') return renderLogin(ctx, interaction);
  // Any other prompt (consent for a first-party portal whose grant lacks a scope): grant what was
  // asked, as the portals in config are the union's own.
  const grant = interaction.grantId
    ? (await deps.provider.Grant.find(interaction.grantId))!
    : new deps.provider.Grant({ accountId: interaction.session!.accountId, clientId: String(interaction.params.client_id) });
  const details = interaction.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  const grantId = await grant.save();
  const redirectTo = await deps.provider.interactionResult(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  ctx.redirect(redirectTo);
}

/** POST /interaction/:uid/login — the user ID and password identify the member; the login goes on. */
const loginWithPassword: FormSpec<LoginRequest, LoginForm> = {
  schema: loginFields,
  submit: async ({ ctx, deps, interaction }, form) => {
    if (interaction.prompt.name !== 'login') return ctx.redirect(`/interaction/${interaction.uid}`);
    const state = await submitLogin(ctx, deps, interaction, form);
    if (state) await proceed(ctx, deps, interaction, state);
  },
  refused: refusedLogin,
};

/** POST /interaction/:uid/passkey — 生体認証でログイン: a passkey alone identifies the member. */
const loginWithPasskey = passkeyLoginForm(async ({ ctx, deps, interaction }, form: PasskeyLoginForm) => {
  if (interaction.prompt.name !== 'login') return ctx.redirect(`/interaction/${interaction.uid}`);
  await submitPasskeyLogin(ctx, deps, interaction, form);
});

/** パスワード/ユーザIDを忘れた方はこちら inside a login: the recovery page's form, answered on this login's screen. */
const recoveryForm = <F>(spec: FormSpec<RecoveryRequest, F>, page: 'forgot-password' | 'forgot-user-id'): FormSpec<LoginRequest, F> => ({
  schema: spec.schema,
  submit: ({ ctx, deps, interaction }, form) => spec.submit({ ctx, deps, place: fromLogin(interaction, page) }, form),
  refused: ({ ctx, deps, interaction }, form) => spec.refused({ ctx, deps, place: fromLogin(interaction, page) }, form),
});

/** The language links and reloads of a posted page land on its address with GET: the login page again. */
const backToLoginPage: Middleware = (ctx) => ctx.redirect(`/interaction/${ctx.params.uid}`);

/** パスワード/ユーザIDを忘れた方はこちら, from this login screen: the answer comes back to it. */
const fromLogin = (interaction: Interaction, page: 'forgot-password' | 'forgot-user-id'): RecoveryPlace => ({
  actionUrl: `/interaction/${interaction.uid}/${page}`,
  backUrl: `/interaction/${interaction.uid}`,
  answer: (c, notice) => renderLogin(c, interaction, { notice }),
});

export function interactionRouter(deps: InteractionDeps): Router {
  const router = new Router({ prefix: '/interaction/:uid' });
  router.use(finishedElsewhere(deps));
  router.use(offerPasskeyLogin(deps.config));
  const forms = bodyParser({ enableTypes: ['form'], formLimit: '32kb', onError: (_err, ctx) => ctx.throw(413) });
  /** Runs `handler` on the interaction bound to this browser (else the finished or expired page is shown). */
  const page =
    (handler: InteractionHandler): Middleware =>
    async (ctx) => {
      const interaction = await loadInteraction(ctx, deps);
      if (interaction) await handler(ctx, deps, interaction);
    };
  /** A page's form: its CSRF token checked before anything else (src/http/form.ts). */
  const form = <F>(spec: FormSpec<LoginRequest, F>): Middleware =>
    page((ctx, d, interaction) => postForm((r: LoginRequest) => r.ctx, spec)({ ctx, deps: d, interaction }));
  /** An owed step's page: unknown step names are not found. */
  const step =
    (handler: (ctx: Context, d: InteractionDeps, interaction: Interaction, name: StepName) => Promise<void>): Middleware =>
    async (ctx, next) => {
      const name = ctx.params.name;
      if (isStepName(name)) await page((c, d, interaction) => handler(c, d, interaction, name))(ctx, next);
    };

  router.get('/', page(showLoginPage));
  router.get('/login', backToLoginPage);
  router.post('/login', forms, form(loginWithPassword));
  // 生体認証でログイン: a passkey alone, unless the union turned it off (society.json passkeys.passkeyOnlyLogin).
  router.get('/passkey', backToLoginPage);
  router.post('/passkey', forms, async (ctx, next) => {
    if (deps.config.union.passkeys.passkeyOnlyLogin) await form(loginWithPasskey)(ctx, next);
  });
  router.get('/continue', page(continueLogin));

  router.get('/step/:name', step(showOwedStep));
  router.post('/step/:name', forms, form(owedStepForm));

  router.get('/factor', page(showSecondFactor));
  router.post('/factor', forms, form(secondFactorForm));
  router.get('/factor/recovery-code', page(showRecoveryCode));
  router.post('/factor/recovery-code', forms, form(recoveryCodeForm));
  router.get('/factor/address', page(showAddressCode));
  router.post('/factor/address', forms, form(addressCodeForm));
  router.get('/factor/setup', page(showFactorSetup));
  router.post('/factor/setup', forms, form(factorSetupForm));

  router.get(
    '/forgot-password',
    page((ctx, _d, interaction) => showForgotPassword(ctx, fromLogin(interaction, 'forgot-password'))),
  );
  router.post('/forgot-password', forms, form(recoveryForm(forgotPasswordForm, 'forgot-password')));
  router.get(
    '/forgot-user-id',
    page((ctx, _d, interaction) => showForgotUserId(ctx, fromLogin(interaction, 'forgot-user-id'))),
  );
  router.post('/forgot-user-id', forms, form(recoveryForm(forgotUserIdForm, 'forgot-user-id')));

  // ポータルに戻る: the portal gets access_denied.
  router.get('/abort', backToLoginPage);
  router.post('/abort', forms, form(abortLoginForm));

  return router;
}
