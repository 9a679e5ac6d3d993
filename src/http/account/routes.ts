import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Context } from 'koa';
import { render } from '../render.js';
import { postForm, type FormSpec } from '../form.js';
import { accountRequest, startStepUp, type AccountDeps, type AccountRequest } from './request.js';
import { consoleSectionOf, finishConsoleLogin } from './console-login.js';
import { recoveryCodesForm, showRecoveryCodes } from './recovery-codes.js';
import { applyPendingProfileChange, profileChangeForm, showProfilePage } from './profile.js';
import { emailChangeForm, showEmailChange } from './email.js';
import { passwordChangeForm, showPasswordChange } from './password.js';
import {
  factorSetupForm,
  removeCredentialForm,
  renameCredentialForm,
  sessionLogoutForm,
  showFactorSetup,
  showLoginMethods,
  showRemoveCredential,
  showRenameCredential,
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
  /** A page's form: its CSRF token checked before anything else (src/http/form.ts). */
  const form = <F>(spec: FormSpec<AccountRequest, F>) => page(postForm((r: AccountRequest) => r.ctx, spec));

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
  router.post('/', forms, form(profileChangeForm));
  router.get('/apply', page(applyPendingProfileChange));
  router.get('/email', page(showEmailChange));
  router.post('/email', forms, form(emailChangeForm));
  router.get('/password', page(showPasswordChange));
  router.post('/password', forms, form(passwordChangeForm));
  router.get(
    '/login-methods',
    page((r) => showLoginMethods(r)),
  );
  router.get('/credentials/:id/delete', page(showRemoveCredential));
  router.post('/credentials/:id/delete', forms, form(removeCredentialForm));
  router.get(
    '/credentials/:id/rename',
    page((r) => showRenameCredential(r)),
  );
  router.post('/credentials/:id/rename', forms, form(renameCredentialForm));
  router.post('/sessions/:uid/logout', forms, form(sessionLogoutForm));
  router.get(
    '/recovery-codes',
    page((r) => showRecoveryCodes(r)),
  );
  router.post('/recovery-codes', forms, form(recoveryCodesForm));
  router.get('/factors/:kind/setup', page(showFactorSetup));
  router.post('/factors/:kind/setup', forms, form(factorSetupForm));
  return router;
}
