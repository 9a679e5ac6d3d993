import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import { render } from './render.js';
import { csrfValid } from './middleware/csrf.js';
import { confirmEmailVerification, verificationIsUsable } from '../members/email-verification.js';
import type { Sql } from '../db/sql.js';
import { SINGLE_USE_TOKEN_PATTERN } from '../members/single-use-token.js';
import { sendSecurityNotice } from '../mail/security-notice.js';

/**
 * The 「メールアドレスの確認」 link. Opening it shows a button, and only the button uses the link:
 * mail scanners that prefetch links must not spend a single-use token.
 */
export function verifyEmailRouter(deps: { sql: Sql } & Parameters<typeof sendSecurityNotice>[0]): Router {
  const router = new Router();
  const valid = (token: string | undefined) => typeof token === 'string' && SINGLE_USE_TOKEN_PATTERN.test(token);

  router.get('/verify-email/:token', async (ctx) => {
    const token = ctx.params.token;
    if (!valid(token) || !(await verificationIsUsable(deps.sql, token!))) return render(ctx, 'email-verify-result', { outcome: 'invalid' }, 410);
    render(ctx, 'email-verify-confirm', { actionUrl: `/verify-email/${token}` });
  });

  router.post('/verify-email/:token', bodyParser({ enableTypes: ['form'], formLimit: '8kb' }), async (ctx) => {
    const token = ctx.params.token;
    if (!csrfValid(ctx, (ctx.request.body ?? {}) as Record<string, unknown>)) return render(ctx, 'email-verify-confirm', { actionUrl: `/verify-email/${token}`, errors: [ctx.state.t('login.error_session')] }, 400);
    const result = valid(token) ? await confirmEmailVerification(deps.sql, token!) : { ok: false as const, reason: 'invalid' as const };
    if (!result.ok) return render(ctx, 'email-verify-result', { outcome: result.reason }, result.reason === 'taken' ? 409 : 410);
    render(ctx, 'email-verify-result', { outcome: 'verified' });
    // An address change from the console: the address it replaced is told (a hijacked account shows).
    if (result.previousEmail) {
      const member = await deps.sql.one<{ display_name: string; locale: string }>('select display_name, locale from member where id = $1', [result.memberId]);
      if (member) {
        await sendSecurityNotice(deps, { email: result.previousEmail, emailVerified: true, displayName: member.display_name, locale: member.locale }, 'email_changed');
      }
    }
  });
  return router;
}
