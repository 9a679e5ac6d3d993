import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Context } from 'koa';
import { render } from './render.js';
import { anyForm, postForm } from './form.js';
import { restartLoginUrl } from './interaction/request.js';
import { verificationAlreadyConfirmed, verificationIsUsable, verificationLocale } from '../members/email-verification.js';
import { applyMemberLocale } from './middleware/locale.js';
import { SINGLE_USE_TOKEN_PATTERN } from '../members/single-use-token.js';
import { confirmEmail } from '../members/changes/email.js';
import type { ChangeDeps } from '../members/changes/deps.js';

type Outcome = 'verified' | 'already' | 'invalid' | 'taken';
const STATUS: Record<Outcome, number> = { verified: 200, already: 200, invalid: 410, taken: 409 };

/**
 * The 「メールアドレスの確認」 link. Opening it shows a button, and only the button uses the link:
 * mail scanners that prefetch links must not spend a single-use token.
 */
export function verifyEmailRouter(deps: ChangeDeps): Router {
  const router = new Router();
  const valid = (token: string | undefined) => typeof token === 'string' && SINGLE_USE_TOKEN_PATTERN.test(token);

  // Every result has a way onward: back to the original screen, or (a link opened in a phone's
  // mail app, another browser) a fresh login from the portal.
  const result = (ctx: Context, outcome: Outcome) =>
    render(ctx, 'email-verify-result', { outcome, restartUrl: restartLoginUrl(ctx, deps.config) }, STATUS[outcome]);
  // A used link whose address is confirmed: done, not "invalid, resend".
  const unusable = async (ctx: Context, token: string | undefined) =>
    result(ctx, valid(token) && (await verificationAlreadyConfirmed(deps.sql, token!)) ? 'already' : 'invalid');

  // The link is opened in the mail app's browser, often without our cookies: the member's saved
  // language (unless this browser chose one), as on every other page once the member is known.
  const speakMembersLanguage = async (ctx: Context, token: string | undefined) => {
    if (valid(token)) applyMemberLocale(ctx, await verificationLocale(deps.sql, token!));
  };

  router.get('/verify-email/:token', async (ctx) => {
    const token = ctx.params.token;
    await speakMembersLanguage(ctx, token);
    if (!valid(token) || !(await verificationIsUsable(deps.sql, token!))) return unusable(ctx, token);
    render(ctx, 'email-verify-confirm', { actionUrl: `/verify-email/${token}` });
  });

  // 「確認する」: a button alone, no fields.
  const confirmAddress = postForm((ctx: Context) => ctx, {
    schema: anyForm,
    // An address change from the console: the address it replaced is told (members/changes/email.ts).
    submit: async (ctx) => {
      const token = ctx.params.token;
      await speakMembersLanguage(ctx, token);
      const confirmed = valid(token) ? await confirmEmail(deps, token!) : { ok: false as const, reason: 'invalid' as const };
      if (!confirmed.ok) return confirmed.reason === 'invalid' ? unusable(ctx, token) : result(ctx, confirmed.reason);
      result(ctx, 'verified');
    },
    refused: async (ctx) => {
      await speakMembersLanguage(ctx, ctx.params.token);
      render(ctx, 'email-verify-confirm', { actionUrl: `/verify-email/${ctx.params.token}`, errors: [ctx.state.t('login.error_session')] }, 400);
    },
  });
  router.post('/verify-email/:token', bodyParser({ enableTypes: ['form'], formLimit: '8kb' }), (ctx) => confirmAddress(ctx));
  return router;
}
