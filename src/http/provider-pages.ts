import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../config/index.js';
import type { ProviderPages } from '../oidc/provider.js';
import { render } from './render.js';
import { isDatabaseUnavailable } from './middleware/errors.js';
import { restartLoginUrl } from './interaction/request.js';
import { isInteractionFinished } from '../oidc/adapter.js';

const EXPIRED_ERRORS = new Set(['invalid_request', 'session_not_found']);

/**
 * Whether this request resumed a login that was already handed back to its portal. The first resume
 * also clears the browser's resume cookie, so a second one sent after it (the other of two posts of
 * the last form) may arrive without it: then the interaction its URL names tells.
 */
async function resumedAlready(ctx: KoaContextWithOIDC, error: Error): Promise<boolean> {
  if (isInteractionFinished(error)) return true;
  const uid = (ctx.params as Record<string, unknown> | undefined)?.uid;
  if (ctx.oidc?.route !== 'resume' || !(error instanceof errors.SessionNotFound) || typeof uid !== 'string') return false;
  try {
    await ctx.oidc.provider.Interaction.find(uid);
    return false;
  } catch (err) {
    return isInteractionFinished(err);
  }
}

/** The provider's own screens (logout confirmation, logged out, errors) in our layout and words. */
export function providerPages(config: Config): ProviderPages {
  return {
    async logout(ctx, form) {
      render(ctx, 'logout-confirm', { form, clientName: ctx.oidc.client?.clientName });
    },
    async logoutDone(ctx) {
      render(ctx, 'logout-done', { restartUrl: restartLoginUrl(ctx, config) });
    },
    async error(ctx: KoaContextWithOIDC, out, error) {
      // The back-channel endpoints (app.ts) have no pages: a browser that calls one gets JSON too.
      if (!ctx.state.t) {
        ctx.body = out;
        return;
      }
      // PostgreSQL frozen or gone (the provider logs it as a server error): "try again later", as on our pages.
      if (isDatabaseUnavailable(error)) {
        ctx.set('Retry-After', '30');
        render(ctx, 'error', { title: 'error.unavailable_title', message: 'error.unavailable' }, 503);
        return;
      }
      const description = out.error_description ?? '';
      // The provider reads its own form bodies (logout confirmation) and reports an oversized one
      // as a generic invalid_request; the member gets the same 413 page as on our forms.
      if ((error as { cause?: { message?: string } }).cause?.message === 'request entity too large') {
        render(ctx, 'error', { title: 'error.title', message: 'error.too_large' }, 413);
        return;
      }
      // A logout form submitted twice or from an old tab: about logging out, not logging in.
      if (ctx.path.startsWith('/session/end')) {
        render(ctx, 'logout-done', { title: 'error.title', message: 'error.logout_stale', restartUrl: restartLoginUrl(ctx, config) }, ctx.status || 400);
        return;
      }
      // The same finished login resumed again (at the same moment, or replayed): it is done, once.
      if (await resumedAlready(ctx, error)) {
        render(ctx, 'login-finished', { restartUrl: restartLoginUrl(ctx, config) }, ctx.status || 400);
        return;
      }
      // A resumed login whose interaction is gone, or a stale cookie: offer a fresh start.
      const expired = EXPIRED_ERRORS.has(out.error) && /interaction|session|cookie|expired/i.test(description);
      if (expired) {
        render(ctx, 'login-expired', { restartUrl: restartLoginUrl(ctx, config) }, ctx.status || 400);
        return;
      }
      render(ctx, 'error', { title: 'error.title', message: 'error.protocol', code: out.error, restartUrl: restartLoginUrl(ctx, config) }, ctx.status || 400);
    },
  };
}
