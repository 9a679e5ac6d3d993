import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Context } from 'koa';
import { render } from '../render.js';
import { formBody } from '../recovery/schemas.js';
import { accountRequest, startStepUp, type AccountDeps, type AccountRequest } from './context.js';
import { consoleSectionOf, finishConsoleLogin } from './session.js';
import { logoutSession } from './sessions.js';
import { showRecoveryCodes, submitRecoveryCodes } from './recovery-codes.js';
import { applyPendingProfileChange, showProfilePage, submitProfile } from './profile.js';
import { showEmailChange, submitEmailChange } from './email.js';
import { showPasswordChange, submitPasswordChange } from './password.js';
import {
  handleFactorSetup,
  showLoginMethods,
  showRemoveCredential,
  showRenameCredential,
  submitRemoveCredential,
  submitRenameCredential,
} from './login-methods.js';

type Page = (request: AccountRequest) => Promise<void> | void;

/** /account/…: the account console. Every page needs the member signed in to the provider. */
export function accountRouter(deps: AccountDeps): Router {
  const router = new Router({ prefix: '/account' });
  const forms = bodyParser({ enableTypes: ['form'], formLimit: '16kb', onError: (_err, ctx) => ctx.throw(413) });
  const page = (handler: Page) => async (ctx: Context) => {
    const request = await accountRequest(ctx, deps);
    if (request) await handler(request);
  };

  router.get('/callback', (ctx) => {
    const returnTo = finishConsoleLogin(ctx);
    // 「戻る」 instead of the re-authentication: the change is not made.
    if (returnTo && ctx.query.error) {
      ctx.status = 303;
      return ctx.redirect(consoleSectionOf(returnTo));
    }
    if (returnTo) {
      ctx.status = 303;
      return ctx.redirect(returnTo);
    }
    render(ctx, 'error', { title: 'account.callback_title', message: 'account.callback_failed', restartUrl: '/account' }, 400);
  });
  router.get(
    '/step-up',
    page((r) => startStepUp(r)),
  );
  router.get('/', page(showProfilePage));
  router.post('/', forms, page(submitProfile));
  router.get('/apply', page(applyPendingProfileChange));
  router.get('/email', page(showEmailChange));
  router.post('/email', forms, page(submitEmailChange));
  router.get('/password', page(showPasswordChange));
  router.post('/password', forms, page(submitPasswordChange));
  router.get(
    '/login-methods',
    page((r) => showLoginMethods(r)),
  );
  router.get('/credentials/:id/delete', page(showRemoveCredential));
  router.post('/credentials/:id/delete', forms, page(submitRemoveCredential));
  router.get(
    '/credentials/:id/rename',
    page((r) => showRenameCredential(r)),
  );
  router.post('/credentials/:id/rename', forms, page(submitRenameCredential));
  router.post('/sessions/:uid/logout', forms, page(logoutSession));
  router.get(
    '/recovery-codes',
    page((r) => showRecoveryCodes(r)),
  );
  router.post('/recovery-codes', forms, page(submitRecoveryCodes));
  router.get(
    '/factors/:kind/setup',
    page((r) => handleFactorSetup(r)),
  );
  router.post(
    '/factors/:kind/setup',
    forms,
    page((r) => handleFactorSetup(r, formBody(r.ctx))),
  );
  return router;
}
