import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Context } from 'koa';
import { render } from '../render.js';
import { restartLoginUrl } from '../interaction/request.js';
import { postForm } from '../form.js';
import { forgotPasswordForm, showForgotPassword } from './forgot-password.js';
import { forgotUserIdForm, showForgotUserId } from './forgot-user-id.js';
import { resetPasswordForm, showResetPassword, type ResetRequest } from './reset-password.js';
import { interactionUid } from './schemas.js';
import type { RecoveryDeps, RecoveryPlace, RecoveryRequest } from './types.js';

/** A recovery page opened on its own (not from a login screen): it answers on its own page. */
function standalone(ctx: Context, deps: RecoveryDeps, actionUrl: string): RecoveryPlace {
  const back = restartLoginUrl(ctx, deps.config);
  return {
    actionUrl,
    backUrl: back,
    answer: (c, notice) => render(c, 'recovery-result', { title: 'recovery.sent_title', notice, restartUrl: back, restartLabel: 'recovery.to_login' }),
  };
}

/**
 * ?uid=<interaction>: the same page inside that login (/interaction/<uid>/forgot-…), which answers
 * on the login screen; an expired uid is explained there.
 */
function fromLogin(ctx: Context, page: string): boolean {
  const uid = interactionUid.safeParse(ctx.query.uid);
  if (!uid.success) return false;
  ctx.status = 303;
  ctx.redirect(`/interaction/${uid.data}/${page}`);
  return true;
}

/** /recovery/…: the reset link from the mail, and the recovery pages when no login is under way. */
export function recoveryRouter(deps: RecoveryDeps): Router {
  const router = new Router({ prefix: '/recovery' });
  const mailResetLink = postForm((r: RecoveryRequest) => r.ctx, forgotPasswordForm);
  const mailUserId = postForm((r: RecoveryRequest) => r.ctx, forgotUserIdForm);
  const resetPassword = postForm((r: ResetRequest) => r.ctx, resetPasswordForm);
  const forms = bodyParser({ enableTypes: ['form'], formLimit: '16kb', onError: (_err, ctx) => ctx.throw(413) });

  router.get('/password', (ctx) => fromLogin(ctx, 'forgot-password') || showForgotPassword(ctx, standalone(ctx, deps, '/recovery/password')));
  router.post('/password', forms, (ctx) => mailResetLink({ ctx, deps, place: standalone(ctx, deps, '/recovery/password') }));
  router.get('/user-id', (ctx) => fromLogin(ctx, 'forgot-user-id') || showForgotUserId(ctx, standalone(ctx, deps, '/recovery/user-id')));
  router.post('/user-id', forms, (ctx) => mailUserId({ ctx, deps, place: standalone(ctx, deps, '/recovery/user-id') }));
  router.get('/password/reset/:token', (ctx) => showResetPassword(ctx, deps, ctx.params.token!));
  router.post('/password/reset/:token', forms, (ctx) => resetPassword({ ctx, deps, token: ctx.params.token! }));
  return router;
}
