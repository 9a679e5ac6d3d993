import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Context, Middleware } from 'koa';
import { errors } from 'oidc-provider';
import { render } from '../render.js';
import { applyUiLocales } from '../middleware/locale.js';
import { abortLogin, renderLogin, submitLogin } from './login.js';
import { offerPasskeyLogin, submitPasskeyLogin } from './passkey-login.js';
import { noteReauthentication } from './reauth.js';
import { loggedInAtProvider, rememberClient, restartLoginUrl, type Interaction } from './context.js';
import { handleStep } from './steps.js';
import { handleFactor, handleRecoveryCode } from './factor.js';
import { continueLogin, proceed } from './pipeline.js';
import type { InteractionDeps } from './context.js';
import { loginState } from './state.js';
import { showForgotPassword, submitForgotPassword } from '../recovery/forgot-password.js';
import { showForgotUserId, submitForgotUserId } from '../recovery/forgot-user-id.js';
import type { RecoveryPlace } from '../recovery/types.js';
import { formBody } from '../recovery/schemas.js';
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
      if (isInteractionFinished(err) || await loggedInAtProvider(ctx, deps.provider)) {
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

export function interactionRouter(deps: InteractionDeps): Router {
  const router = new Router({ prefix: '/interaction/:uid' });
  router.use(finishedElsewhere(deps));
  router.use(offerPasskeyLogin(deps.config));
  const secure = deps.config.issuer.startsWith('https://');
  const forms = bodyParser({ enableTypes: ['form'], formLimit: '32kb', onError: (_err, ctx) => ctx.throw(413) });

  router.get('/', async (ctx) => {
    const interaction = await loadInteraction(ctx, deps);
    if (!interaction) return;
    rememberClient(ctx, String(interaction.params.client_id), secure);
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
  });

  // The language links and reloads of a posted page land here with GET: show the login again.
  router.get(['/login', '/abort'], (ctx) => ctx.redirect(`/interaction/${ctx.params.uid}`));

  // 生体認証でログイン: a passkey alone, unless the union turned it off (union.json passkeys.passkeyOnlyLogin).
  router.post('/passkey', forms, async (ctx) => {
    if (!deps.config.union.passkeys.passkeyOnlyLogin) return;
    const interaction = await loadInteraction(ctx, deps);
    if (!interaction) return;
    if (interaction.prompt.name !== 'login') return ctx.redirect(`/interaction/${interaction.uid}`);
    await submitPasskeyLogin(ctx, deps, interaction);
  });
  router.get('/passkey', (ctx) => ctx.redirect(`/interaction/${ctx.params.uid}`));

  router.post('/login', forms, async (ctx) => {
    const interaction = await loadInteraction(ctx, deps);
    if (!interaction) return;
    if (interaction.prompt.name !== 'login') return ctx.redirect(`/interaction/${interaction.uid}`);
    const state = await submitLogin(ctx, deps, interaction);
    if (state) await proceed(ctx, deps, interaction, state);
  });

  router.get('/continue', async (ctx) => {
    const interaction = await loadInteraction(ctx, deps);
    if (!interaction) return;
    await continueLogin(ctx, deps, interaction);
  });

  router.get('/step/:name', async (ctx) => {
    const name = ctx.params.name;
    if (!isStepName(name)) return;
    const interaction = await loadInteraction(ctx, deps);
    if (!interaction) return;
    await handleStep(ctx, deps, interaction, name);
  });
  router.post('/step/:name', forms, async (ctx) => {
    const name = ctx.params.name;
    if (!isStepName(name)) return;
    const interaction = await loadInteraction(ctx, deps);
    if (!interaction) return;
    await handleStep(ctx, deps, interaction, name, formBody(ctx));
  });

  router.get('/factor/recovery-code', async (ctx) => {
    const interaction = await loadInteraction(ctx, deps);
    if (interaction) await handleRecoveryCode(ctx, deps, interaction);
  });
  router.post('/factor/recovery-code', forms, async (ctx) => {
    const interaction = await loadInteraction(ctx, deps);
    if (interaction) await handleRecoveryCode(ctx, deps, interaction, formBody(ctx));
  });
  for (const place of ['factor', 'factor/setup', 'factor/address'] as const) {
    router.get(`/${place}`, async (ctx) => {
      const interaction = await loadInteraction(ctx, deps);
      if (interaction) await handleFactor(ctx, deps, interaction, place);
    });
    router.post(`/${place}`, forms, async (ctx) => {
      const interaction = await loadInteraction(ctx, deps);
      if (interaction) await handleFactor(ctx, deps, interaction, place, formBody(ctx));
    });
  }

  // パスワード/ユーザIDを忘れた方はこちら, from this login screen: the answer comes back to it.
  const fromLogin = (interaction: Interaction, page: string): RecoveryPlace => ({
    actionUrl: `/interaction/${interaction.uid}/${page}`,
    backUrl: `/interaction/${interaction.uid}`,
    answer: (c, notice) => renderLogin(c, interaction, { notice }),
  });
  const recovery = [
    ['forgot-password', showForgotPassword, submitForgotPassword],
    ['forgot-user-id', showForgotUserId, submitForgotUserId],
  ] as const;
  for (const [page, show, submit] of recovery) {
    router.get(`/${page}`, async (ctx) => {
      const interaction = await loadInteraction(ctx, deps);
      if (interaction) show(ctx, fromLogin(interaction, page));
    });
    router.post(`/${page}`, forms, async (ctx) => {
      const interaction = await loadInteraction(ctx, deps);
      if (interaction) await submit(ctx, deps, fromLogin(interaction, page));
    });
  }

  router.post('/abort', forms, async (ctx) => {
    const interaction = await loadInteraction(ctx, deps);
    if (!interaction) return;
    await abortLogin(ctx, deps, interaction);
  });

  return router;
}
